"""Job rows: create, start, progress, cancel flag, finish/fail, and recovery of jobs whose process died.

Long work (training, pseudo-labelling) runs outside the request thread — in a child process started by
``job_process.ProcessJobRunner`` (the web UI), or in a thread of a CLI run — and reports through these
functions so the UI can poll the row, checking ``cancel_requested`` between steps.

Every job row names the process that owns it (``owner`` = "host:pid") from the moment it is created,
so a job whose process is gone — queued or running — is recognised at once by ``interrupt_stale_jobs``
(on another host: when its heartbeat is ``STALE_AFTER_S`` old).

Writes that must not be lost (start, finish, fail, cancel, interrupt) retry with backoff while the
store is busy (``STATUS_RETRY_S``); ending a job also ends the TRAINING version it was producing in the
same transaction, so a failed job never leaves a version in ``training``. Progress writes wait only
briefly (``update_progress(wait_ms=…)``) and are skipped by ``runner.JobControl``, never fatal, when
the store is busy.
"""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from ..domain.enums import JobKind, JobStatus, VersionStatus
from ..domain.errors import ConflictError, NotFoundError
from ..domain.records import Job
from ..storage.db import lock_table, retry_busy
from ..storage.orm import utcnow
from ..storage.repositories import JobRepo, VersionRepo
from .context import AppContext

log = logging.getLogger(__name__)

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
STALE_AFTER_S = 60.0  # a job of another host without a heartbeat for this long is presumed dead
STATUS_RETRY_S = 900.0  # how long a status write keeps retrying while another process holds the store
T = TypeVar("T")


def _require(repo: JobRepo, job_id: int, for_update: bool = False) -> Job:
    found = repo.get(job_id, for_update=for_update)
    if found is None:
        raise NotFoundError(f"no job with id {job_id}")
    return found


def _require_active(repo: JobRepo, job_id: int) -> Job:
    job = _require(repo, job_id, for_update=True)
    if job.status.finished:
        raise ConflictError(f"job {job_id} has already ended ({job.status.value})")
    return job


def _status_write(ctx: AppContext, what: str, fn: Callable[[Session], T]) -> T:
    """``fn`` in one write transaction, retried with backoff while the store is busy."""
    def once() -> T:
        with ctx.unit_of_work(write=True) as s:
            return fn(s)
    return retry_busy(once, STATUS_RETRY_S, what)


def create_job(ctx: AppContext, kind: JobKind, params: dict[str, Any] | None = None,
               exclusive: bool = False, owner: str | None = None) -> Job:
    """A QUEUED job owned by ``owner`` (default: this process); with ``exclusive`` a ConflictError if
    a job of the same kind is queued or running.

    Before that check, jobs whose process died (a crash, a killed CLI run) are marked INTERRUPTED, so
    re-running a killed training resumes instead of being refused. A store busy with a long write
    gives ``StoreBusyError`` (a message, not a traceback) after the busy timeout.
    """
    kind = JobKind(kind)
    with ctx.unit_of_work(write=True) as s:
        repo = JobRepo(s)
        if exclusive:
            lock_table(s, "jobs")  # PostgreSQL: no second exclusive job between the check and the insert
            _interrupt(s, STALE_AFTER_S)
            busy = repo.list(kind, ACTIVE, limit=1)
            if busy:
                raise ConflictError(f"a {kind.value} job (id {busy[0].id}) is already {busy[0].status.value}; "
                                    "wait for it or cancel it first")
        job = repo.add(kind, params or {})
        return repo.update(job.id, owner=owner or process_owner())


def get_job(ctx: AppContext, job_id: int) -> Job:
    with ctx.unit_of_work() as s:
        return _require(JobRepo(s), job_id)


def list_jobs(ctx: AppContext, kind: JobKind | None = None, active_only: bool = False,
              limit: int | None = None) -> list[Job]:
    """Newest first."""
    with ctx.unit_of_work() as s:
        return JobRepo(s).list(JobKind(kind) if kind else None, ACTIVE if active_only else None, limit)


def process_owner(pid: int | None = None) -> str:
    """"host:pid" of this process (or of ``pid`` on this host), stored on the jobs it runs."""
    return f"{socket.gethostname()}:{pid if pid is not None else os.getpid()}"


def owner_alive(owner: str | None) -> bool | None:
    """Whether the process ``owner`` ("host:pid": a job's or a lease's) still runs; None when it cannot be told (other host)."""
    if not owner or ":" not in owner:
        return None
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_a_zombie(int(pid))


def _not_a_zombie(pid: int) -> bool:
    """False for a process that has exited but not been reaped yet (it will never write again)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def set_owner(ctx: AppContext, job_id: int, owner: str) -> Job:
    """Hand a job to another process (the child that will run it)."""
    return _status_write(ctx, f"job {job_id} owner", lambda s: JobRepo(s).update(job_id, owner=owner))


def start_job(ctx: AppContext, job_id: int) -> Job:
    """RUNNING, owned by this process (so a restart can tell that the job's process died)."""
    def write(s: Session) -> Job:
        repo = JobRepo(s)
        _require_active(repo, job_id)
        now = utcnow()
        return repo.update(job_id, status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, owner=process_owner())
    return _status_write(ctx, f"start job {job_id}", write)


def update_progress(ctx: AppContext, job_id: int, fraction: float, message: str = "",
                    wait_ms: int | None = None) -> Job:
    """Record progress (clamped to 0..1) and a human message; refreshes the heartbeat. ``wait_ms`` caps
    the wait for a busy store (then ``StoreBusyError``; ``runner.JobControl`` skips that update)."""
    with ctx.unit_of_work(write=True, wait_ms=wait_ms) as s:
        repo = JobRepo(s)
        _require_active(repo, job_id)
        return repo.update(job_id, progress=min(max(float(fraction), 0.0), 1.0), message=message,
                           heartbeat_at=utcnow())


def heartbeat(ctx: AppContext, job_id: int, wait_ms: int | None = None) -> None:
    with ctx.unit_of_work(write=True, wait_ms=wait_ms) as s:
        JobRepo(s).update(job_id, heartbeat_at=utcnow())


def request_cancel(ctx: AppContext, job_id: int) -> Job:
    """Set the cancel flag. A job that has not started yet, or whose process is gone, ends CANCELLED
    at once (with the TRAINING version it was producing); a live running one stops at its next check."""
    def write(s: Session) -> Job:
        repo = JobRepo(s)
        job = _require(repo, job_id, for_update=True)
        if job.status.finished:
            return job
        if job.status == JobStatus.QUEUED:
            return _close(s, job_id, JobStatus.CANCELLED, cancel_requested=True,
                          message="cancelled before it started")
        if _dead(repo, job, utcnow() - timedelta(seconds=STALE_AFTER_S)):
            return _close(s, job_id, JobStatus.CANCELLED, cancel_requested=True,
                          message="cancelled: its process had already stopped")
        return repo.update(job_id, cancel_requested=True)
    return _status_write(ctx, f"cancel job {job_id}", write)


def is_cancel_requested(ctx: AppContext, job_id: int) -> bool:
    with ctx.unit_of_work() as s:
        return _require(JobRepo(s), job_id).cancel_requested


def set_job_version(ctx: AppContext, job_id: int, version_id: int) -> Job:
    """Link a training job to the version it produces."""
    return _status_write(ctx, f"job {job_id} version",
                         lambda s: JobRepo(s).update(_require(JobRepo(s), job_id).id, version_id=version_id))


_VERSION_END = {JobStatus.CANCELLED: VersionStatus.CANCELLED, JobStatus.FAILED: VersionStatus.FAILED,
                JobStatus.INTERRUPTED: VersionStatus.FAILED}


def _close(s: Session, job_id: int, status: JobStatus, **fields: Any) -> Job:
    """End a job (already locked by the caller) and, unless DONE, its TRAINING versions, in one transaction."""
    versions = VersionRepo(s)
    if status in _VERSION_END:
        for vid in versions.ids_of_job(job_id, VersionStatus.TRAINING):
            versions.update(vid, status=_VERSION_END[status], finished_at=utcnow())
    return JobRepo(s).update(job_id, status=status, finished_at=utcnow(), **fields)


def _end(ctx: AppContext, job_id: int, status: JobStatus, **fields: Any) -> Job:
    def write(s: Session) -> Job:
        _require_active(JobRepo(s), job_id)
        return _close(s, job_id, status, **fields)
    return _status_write(ctx, f"end job {job_id} as {status.value}", write)


def finish_job(ctx: AppContext, job_id: int, result: dict[str, Any] | None = None, message: str = "done") -> Job:
    return _end(ctx, job_id, JobStatus.DONE, progress=1.0, result=dict(result or {}), message=message)


def fail_job(ctx: AppContext, job_id: int, error: str) -> Job:
    """FAILED with ``error`` (its TRAINING version becomes FAILED in the same transaction)."""
    return _end(ctx, job_id, JobStatus.FAILED, error=error, message=f"failed: {error}")


def cancel_job(ctx: AppContext, job_id: int, message: str = "cancelled") -> Job:
    """End a job that stopped because its cancel flag was set (its TRAINING version: CANCELLED)."""
    return _end(ctx, job_id, JobStatus.CANCELLED, message=message)


def _dead(repo: JobRepo, job: Job, cutoff: Any) -> bool:
    """Whether an active job's process is gone: the owner process (this host) no longer exists, or
    (another host, or no owner recorded) no sign of life since ``cutoff``. This process's jobs are alive."""
    beat, owner = repo.liveness(job.id)
    if owner == process_owner():
        return False
    alive = owner_alive(owner)
    return alive is False or (alive is None and (beat or job.created_at or cutoff) <= cutoff)


def _stale(repo: JobRepo, stale_after_s: float) -> list[Job]:
    """QUEUED/RUNNING jobs whose process is gone (see ``interrupt_stale_jobs``)."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    return [job for job in repo.list(statuses=ACTIVE) if _dead(repo, job, cutoff)]


def find_stale_jobs(ctx: AppContext, stale_after_s: float = STALE_AFTER_S) -> list[Job]:
    """The jobs ``interrupt_stale_jobs`` would mark interrupted (nothing is written)."""
    with ctx.unit_of_work() as s:
        return _stale(JobRepo(s), stale_after_s)


def interrupt_stale_jobs(ctx: AppContext, stale_after_s: float = STALE_AFTER_S) -> list[Job]:
    """End QUEUED/RUNNING jobs whose process is gone; call at start-up (``create_job`` does it too).

    A job is gone when its owning process (same host) no longer exists, or, when that cannot be
    told, when it has not sent a heartbeat for ``stale_after_s`` seconds. Jobs of this process and
    of other live processes (e.g. a CLI run) are left alone. A gone job becomes INTERRUPTED and the
    TRAINING version it was producing FAILED (its per-epoch state stays on disk: re-running the same
    training request resumes from it) — unless its version is already READY, i.e. the process died
    after the work was committed: then the job is DONE with that version as its result.
    """
    return _status_write(ctx, "interrupt stale jobs", lambda s: _interrupt(s, stale_after_s))


def _interrupt(session: Session, stale_after_s: float) -> list[Job]:
    repo, versions = JobRepo(session), VersionRepo(session)
    stale = _stale(repo, stale_after_s)
    if stale:
        log.warning("job(s) %s were interrupted: the process running them stopped", sorted(j.id for j in stale))
    ended = []
    for job in stale:
        current = repo.get(job.id, for_update=True)
        if current is None or current.status.finished:  # ended by its process in the meantime
            continue
        ready = versions.ids_of_job(job.id, VersionStatus.READY)
        if ready:
            ended.append(_close(session, job.id, JobStatus.DONE, progress=1.0, result={"version_id": ready[-1]},
                                message="done (its process stopped after the version was ready)"))
        else:
            ended.append(_close(session, job.id, JobStatus.INTERRUPTED,
                                message="interrupted: the process running it stopped"))
    return ended
