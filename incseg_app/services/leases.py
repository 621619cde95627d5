"""Write leases: imports and uploads announce themselves the way jobs do, so repair cannot hurt them.

``hold_lease`` inserts a ``leases`` row owned by this process ("host:pid"), refreshes its heartbeat
from a daemon thread every ``BEAT_S`` seconds, and deletes the row when the block ends (success or
error). An import records in the same transaction as each batch how many items are committed, so a
crash leaves a row saying how far it got. A lease is *live* while its process exists (same host)
or, when that cannot be told, while its heartbeat is younger than ``STALE_S``; ``doctor`` refuses
``--repair`` while any lease is live and reports dead ones.

``commit_in_batches`` is how a leased import registers its rows: write transactions of at most
``StoreSettings.import_batch`` items, each recording the running count on the lease, with a pause
between them so another process waiting for SQLite's write lock gets it.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from ..domain.records import WriteLease
from ..storage.orm import utcnow
from ..storage.repositories import LeaseRepo
from .context import AppContext, BlobGuard
from .jobs import owner_alive, process_owner

log = logging.getLogger(__name__)

T = TypeVar("T")

BEAT_S = 10.0  # heartbeat period of a held lease
STALE_S = 60.0  # a lease of another host without a heartbeat for this long is presumed dead
# Between two batches the writer sleeps a little longer than SQLite's busy handler's 100 ms polling
# period, so another process waiting for the lock (a training job's progress write) gets it.
BATCH_PAUSE_S = 0.12


def is_live(lease: WriteLease, stale_s: float = STALE_S) -> bool:
    alive = owner_alive(lease.owner)
    if alive is not None:
        return alive
    return lease.heartbeat_at is not None and lease.heartbeat_at > utcnow() - timedelta(seconds=stale_s)


class LeaseHolder:
    """The lease of one running write; ``record`` marks progress inside the caller's transaction."""

    def __init__(self, ctx: AppContext, lease: WriteLease) -> None:
        self.ctx = ctx
        self.lease = lease

    def record(self, session: Session, done: int) -> None:
        """``done`` items are committed by the transaction of ``session`` (same commit, same fate)."""
        LeaseRepo(session).set_done(self.lease.id, done)


@contextmanager
def hold_lease(ctx: AppContext, kind: str, description: str, total: int = 0,
               beat_s: float = BEAT_S) -> Iterator[LeaseHolder]:
    """A lease row for the duration of the block (see the module docstring)."""
    with ctx.unit_of_work(write=True) as s:
        lease = LeaseRepo(s).add(kind, description[:2000], process_owner(), total)
    stop = threading.Event()
    beat = threading.Thread(target=_beat, args=(ctx, lease.id, stop, beat_s), daemon=True,
                            name=f"incseg-lease-{lease.id}")
    beat.start()
    try:
        yield LeaseHolder(ctx, lease)
    finally:
        stop.set()
        beat.join()
        try:
            with ctx.unit_of_work(write=True) as s:
                LeaseRepo(s).delete(lease.id)
        except Exception:  # the write itself may have failed for the same reason; doctor cleans up
            log.warning("could not release lease %d (%s)", lease.id, kind, exc_info=True)


def _beat(ctx: AppContext, lease_id: int, stop: threading.Event, beat_s: float) -> None:
    while not stop.wait(beat_s):
        try:
            with ctx.unit_of_work(write=True) as s:
                LeaseRepo(s).beat(lease_id)
        except Exception:  # a missed heartbeat is not worth failing the import over
            log.warning("heartbeat of lease %d failed", lease_id, exc_info=True)


def list_leases(ctx: AppContext) -> list[WriteLease]:
    with ctx.unit_of_work() as s:
        return LeaseRepo(s).list()


def live_leases(ctx: AppContext) -> list[WriteLease]:
    """Imports and uploads running now (in this or another process)."""
    return [lease for lease in list_leases(ctx) if is_live(lease)]


def dead_leases(ctx: AppContext) -> list[WriteLease]:
    """Leases whose process is gone: imports that crashed (their committed batches stay)."""
    return [lease for lease in list_leases(ctx) if not is_live(lease)]


def release_dead_leases(ctx: AppContext) -> list[WriteLease]:
    """Delete the rows of dead leases (re-checked under the write lock); returns them."""
    released = []
    with ctx.unit_of_work(write=True) as s:
        repo = LeaseRepo(s)
        for lease in repo.list():
            if not is_live(lease):
                repo.delete(lease.id)
                released.append(lease)
    return released


def describe(lease: WriteLease) -> str:
    """"image import (lease 3, process host:123): 1,500 of 5,000 item(s) committed"."""
    return (f"{lease.description or lease.kind} (lease {lease.id}, process {lease.owner}): "
            f"{lease.done:,} of {lease.total:,} item(s) committed")


def batches(items: Sequence[T], size: int, key: Callable[[T], Hashable]) -> Iterator[list[T]]:
    """``items`` in order, in lists of at most ``size``; a list never holds two items with the same
    ``key`` (the same content twice in one import goes to the next batch, so each batch can be
    registered set-wise)."""
    batch: list[T] = []
    keys: set[Hashable] = set()
    for item in items:
        k = key(item)
        if len(batch) >= size or k in keys:
            yield batch
            batch, keys = [], set()
        batch.append(item)
        keys.add(k)
    if batch:
        yield batch


def commit_in_batches(ctx: AppContext, guard: BlobGuard, lease: LeaseHolder, items: Sequence[T],
                      key: Callable[[T], str], shas: Callable[[T], Iterable[str]],
                      register: Callable[[Session, list[T]], None],
                      progress: Callable[[int, int], None] | None = None) -> None:
    """Register ``items`` (their blobs ``shas(item)`` already written through ``guard``) in write
    transactions of at most ``ctx.settings.import_batch`` items, never two of the same ``key``. Each
    batch is all-or-nothing and records the running count on the lease in the same transaction; the
    write lock is released between batches."""
    guard.flush()  # queued blobs are written before the first transaction, not while holding the lock
    done = 0
    for n, batch in enumerate(batches(items, ctx.settings.import_batch, key)):
        if n:
            time.sleep(BATCH_PAUSE_S)
        with ctx.unit_of_work(write=True) as s:
            guard.verify(sha for item in batch for sha in shas(item))
            register(s, batch)
            lease.record(s, done + len(batch))
        done += len(batch)
        if progress:
            progress(done, len(items))
