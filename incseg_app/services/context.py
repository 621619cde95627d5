"""The application context: one store = one database + one blob folder + limits.

The database is the SQLite file ``incseg.db`` in the store folder (the embedded default) or, with
``database_url`` / ``$INCSEG_DATABASE_URL``, a PostgreSQL database shared by a team; the blobs always
live in the store folder. ``open_store(path)`` creates the folder if needed, runs the migrations and
returns an ``AppContext``
that every service function takes as its first argument. ``unit_of_work`` gives the service one
session per call; ``blob_guard`` removes the blobs a failed call wrote so the store is exactly as
it was (the DB never points at a missing blob: blobs are written first, rows after).
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from ..domain.errors import ConflictError, ValidationError
from ..storage import BlobStore, Database, migrate
from ..storage.repositories import ImageRepo, MaskRepo, TrashRepo, VersionRepo
from .access import is_shared, private_dir
from .archives import ZipLimits
from .ml_settings import MLSettings

log = logging.getLogger(__name__)

DB_NAME = "incseg.db"


@dataclass(frozen=True)
class StoreSettings:
    """Limits for untrusted input and store-wide policies.

    Env overrides: INCSEG_MAX_FILE_MB, INCSEG_MAX_PIXELS, INCSEG_MAX_ZIP_GB, INCSEG_PARALLEL_TRAINING
    (1/true/yes lets several training jobs run on one store at once; by default a second one is refused).
    """

    max_file_bytes: int = 64 * 1024 * 1024  # per uploaded/imported file
    max_pixels: int = 40_000_000  # width * height of an image or mask (decompression-bomb guard)
    max_zip_entries: int = 20_000
    max_zip_bytes: int = 16 * 1024**3  # everything one uploaded/imported zip unpacks to
    max_zip_ratio: float = 100.0  # uncompressed/compressed size of a zip (and of each entry over 1 MiB)
    busy_timeout_ms: int = 30_000
    parallel_training: bool = False
    import_batch: int = 1000  # rows per write transaction of an import: the write lock is held that long only

    @classmethod
    def from_env(cls) -> "StoreSettings":
        base = cls()
        mb = _positive_env("INCSEG_MAX_FILE_MB")
        px = _positive_env("INCSEG_MAX_PIXELS")
        zip_gb = _positive_env("INCSEG_MAX_ZIP_GB")
        parallel = os.environ.get("INCSEG_PARALLEL_TRAINING", "").strip().lower() in ("1", "true", "yes")
        return cls(max_file_bytes=int(mb * 1024 * 1024) if mb else base.max_file_bytes,
                   max_pixels=int(px) if px else base.max_pixels,
                   max_zip_bytes=int(zip_gb * 1024**3) if zip_gb else base.max_zip_bytes, parallel_training=parallel)

    @property
    def zip_limits(self) -> ZipLimits:
        return ZipLimits(self.max_zip_entries, self.max_file_bytes, self.max_zip_bytes, self.max_zip_ratio)


def _positive_env(name: str) -> float | None:
    """A positive number from the environment variable ``name``; None when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValidationError(f"{name} must be a positive number, got {raw!r}")
    return value


class BlobGuard:
    """Blobs written during one service call.

    ``put`` stores a blob at once; ``put_later`` hashes at once and queues the bytes, written in
    batches with one file-system flush each (``BlobStore.put_many``: imports of thousands of small
    files are several times faster) when the queue is full or on ``flush``. ``verify`` (call it
    inside the write transaction that inserts the rows) flushes and checks they all exist;
    ``rollback`` deletes the ones this call created that no row references. ``rollback`` runs
    exclusively of every write transaction (``unit_of_work(exclusive=True)``), so a concurrent call's
    rollback can never delete a blob that rows are about to use.
    """

    PENDING_ITEMS = 256  # blobs queued by put_later before they are written
    PENDING_BYTES = 32 * 1024 * 1024

    def __init__(self, ctx: "AppContext") -> None:
        self.ctx = ctx
        self.created: list[str] = []
        self.used: set[str] = set()
        self._pending: dict[str, bytes] = {}
        self._pending_bytes = 0

    def put(self, data: bytes) -> str:
        """Store ``data`` (sha256 hex returned), remembering it when it was not there before."""
        sha = hashlib.sha256(data).hexdigest()
        if sha not in self._pending and not self.ctx.blobs.exists(sha):
            self.ctx.blobs.put_bytes(data)
            self.created.append(sha)
        self.used.add(sha)
        return sha

    def put_later(self, data: bytes) -> str:
        """Queue ``data`` for the next batch write (sha256 hex returned); ``flush`` before using it."""
        sha = hashlib.sha256(data).hexdigest()
        if sha not in self.used and sha not in self._pending and not self.ctx.blobs.exists(sha):
            self._pending[sha] = data
            self._pending_bytes += len(data)
            if len(self._pending) >= self.PENDING_ITEMS or self._pending_bytes >= self.PENDING_BYTES:
                self.flush()
        self.used.add(sha)
        return sha

    def flush(self) -> None:
        """Write the queued blobs (one batch)."""
        if not self._pending:
            return
        pending, self._pending, self._pending_bytes = self._pending, {}, 0
        self.created += list(pending)  # before writing: a failure part-way still rolls back what landed
        self.ctx.blobs.put_many(list(pending.values()))

    def verify(self, shas: Iterable[str] | None = None) -> None:
        """Every blob of this call (or only ``shas``) exists; ConflictError otherwise."""
        self.flush()
        missing = sorted(sha for sha in (self.used if shas is None else shas) if not self.ctx.blobs.exists(sha))
        if missing:
            raise ConflictError(f"{len(missing)} file(s) were removed by a concurrent failed import; try again")

    def rollback(self) -> None:
        self._pending, self._pending_bytes = {}, 0
        if not self.created:
            return
        with self.ctx.unit_of_work(write=True, exclusive=True) as s:
            referenced = referenced_shas(s)
            for sha in self.created:
                if sha not in referenced:
                    self.ctx.blobs.delete(sha)
        self.created.clear()


def referenced_shas(session: Session) -> set[str]:
    """Every blob a DB row points at (images, mask revisions, checkpoints and their shards, and what
    deleted images in the trash keep until a purge)."""
    return (ImageRepo(session).all_shas() | MaskRepo(session).all_shas() | VersionRepo(session).all_shas()
            | TrashRepo(session).all_shas())


class AppContext:
    """Store root, database, blob store and limits; services take it as their first argument."""

    def __init__(self, root: Path, settings: StoreSettings, ml: MLSettings | None = None,
                 database_url: str | None = None) -> None:
        self.root = root
        self.settings = settings
        self.ml = ml or MLSettings.from_env()
        self.database_url = database_url  # None: the SQLite file in ``root``
        self.db = Database(database_url or root / DB_NAME, settings.busy_timeout_ms)
        self.blobs = BlobStore(root / "blobs")

    @contextmanager
    def unit_of_work(self, write: bool = False, exclusive: bool = False,
                     wait_ms: int | None = None) -> Iterator[Session]:
        """One session and transaction; ``write=True`` takes the write lock at the start, ``exclusive``
        also waits out every other writer (for deleting blobs), ``wait_ms`` caps the lock wait (see
        ``storage.db``)."""
        with self.db.unit_of_work(write=write, exclusive=exclusive, wait_ms=wait_ms) as session:
            yield session

    @contextmanager
    def blob_guard(self) -> Iterator[BlobGuard]:
        """Blobs put through the guard are deleted again if the block raises (unless referenced)."""
        guard = BlobGuard(self)
        try:
            yield guard
        except BaseException:
            guard.rollback()
            raise

    def close(self) -> None:
        self.db.dispose()


def default_storage_dir() -> Path:
    """``$INCSEG_STORAGE`` or ``./storage``."""
    return Path(os.environ.get("INCSEG_STORAGE") or "storage")


def default_database_url() -> str | None:
    """``$INCSEG_DATABASE_URL`` (e.g. ``postgresql://incseg@db.example/incseg``), or None for SQLite."""
    return os.environ.get("INCSEG_DATABASE_URL", "").strip() or None


def open_store(path: Path | str | None = None, settings: StoreSettings | None = None,
               ml: MLSettings | None = None, database_url: str | None = None) -> AppContext:
    """Open (creating and migrating as needed) the store at ``path``; ``ml`` defaults to the
    environment's ``MLSettings``, ``database_url`` to ``$INCSEG_DATABASE_URL`` (unset: the SQLite
    file ``incseg.db`` in the store folder). A new store is made readable by its owner only (folder
    0700, SQLite database 0600); an existing one that other users can read is reported in the log."""
    root = Path(path) if path is not None else default_storage_dir()
    settings = settings or StoreSettings.from_env()
    url = database_url or default_database_url()
    db = root / DB_NAME
    new = not (root.exists() and any(root.iterdir())) if url else not db.exists()
    if new:
        private_dir(root)
    else:
        root.mkdir(parents=True, exist_ok=True)
        if is_shared(root):
            log.warning("store %s can be read by other users of this machine (mode %o): the web UI's login does "
                        "not protect it from them; chmod 700 it", root, root.stat().st_mode & 0o777)
    migrate(url or db, settings.busy_timeout_ms)
    if new and url is None and os.name == "posix":
        os.chmod(db, 0o600)
    log.debug("opened store %s (database %s)", root, url or DB_NAME)
    ctx = AppContext(root.resolve(), settings, ml, url)
    from .weights_settings import apply_stored_weights  # (a module that itself imports this one)
    apply_stored_weights(ctx)  # weight paths saved with the store fill what ``ml`` leaves empty
    return ctx
