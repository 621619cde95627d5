"""Job rows: create, start, progress, cancel flag, finish/fail, and start-up recovery.

Long work (training, pseudo-labelling, big imports) runs outside the request thread (see
``runner.JobRunner`` or a CLI process); it reports through these functions so the UI can poll the
row, and checks ``cancel_requested`` between steps. A running job refreshes ``heartbeat_at``; at
start-up ``interrupt_stale_jobs`` marks RUNNING/QUEUED jobs whose process died as INTERRUPTED.
"""
from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from ..domain.enums import JobKind, JobStatus, VersionStatus
from ..domain.errors import ConflictError, NotFoundError
from ..domain.records import Job
from ..storage.orm import utcnow
from ..storage.repositories import JobRepo, VersionRepo
from .context import AppContext

log = logging.getLogger(__name__)

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
STALE_AFTER_S = 60.0  # a job of another host without a heartbeat for this long is presumed dead


def _require(repo: JobRepo, job_id: int) -> Job:
    found = repo.get(job_id)
    if found is None:
        raise NotFoundError(f"no job with id {job_id}")
    return found


def _require_active(repo: JobRepo, job_id: int) -> Job:
    job = _require(repo, job_id)
    if job.status.finished:
        raise ConflictError(f"job {job_id} has already ended ({job.status.value})")
    return job


def create_job(ctx: AppContext, kind: JobKind, params: dict[str, Any] | None = None,
               exclusive: bool = False) -> Job:
    """A QUEUED job; with ``exclusive`` a ConflictError if a job of the same kind is queued or running.

    Before that check, jobs whose process died (a crash, a killed CLI run) are marked INTERRUPTED, so
    re-running a killed training resumes instead of being refused until the next start-up recovery.
    """
    kind = JobKind(kind)
    with ctx.unit_of_work(write=True) as s:
        repo = JobRepo(s)
        if exclusive:
            _interrupt(s, STALE_AFTER_S)
            busy = repo.list(kind, ACTIVE, limit=1)
            if busy:
                raise ConflictError(f"a {kind.value} job (id {busy[0].id}) is already {busy[0].status.value}; "
                                    "wait for it or cancel it first")
        return repo.add(kind, params or {})


def get_job(ctx: AppContext, job_id: int) -> Job:
    with ctx.unit_of_work() as s:
        return _require(JobRepo(s), job_id)


def list_jobs(ctx: AppContext, kind: JobKind | None = None, active_only: bool = False,
              limit: int | None = None) -> list[Job]:
    """Newest first."""
    with ctx.unit_of_work() as s:
        return JobRepo(s).list(JobKind(kind) if kind else None, ACTIVE if active_only else None, limit)


def process_owner() -> str:
    """"host:pid" of this process, stored on the jobs it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str | None) -> bool | None:
    """Whether the process that owns a job still runs; None when it cannot be told (other host)."""
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
    return True


def start_job(ctx: AppContext, job_id: int) -> Job:
    """RUNNING, owned by this process (so a restart can tell that the job's process died)."""
    with ctx.unit_of_work(write=True) as s:
        repo = JobRepo(s)
        _require_active(repo, job_id)
        now = utcnow()
        return repo.update(job_id, status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, owner=process_owner())


def update_progress(ctx: AppContext, job_id: int, fraction: float, message: str = "") -> Job:
    """Record progress (clamped to 0..1) and a human message; refreshes the heartbeat."""
    with ctx.unit_of_work(write=True) as s:
        repo = JobRepo(s)
        _require_active(repo, job_id)
        return repo.update(job_id, progress=min(max(float(fraction), 0.0), 1.0), message=message,
                           heartbeat_at=utcnow())


def heartbeat(ctx: AppContext, job_id: int) -> None:
    with ctx.unit_of_work(write=True) as s:
        JobRepo(s).update(job_id, heartbeat_at=utcnow())


def request_cancel(ctx: AppContext, job_id: int) -> Job:
    """Set the cancel flag; a job that has not started yet is cancelled at once."""
    with ctx.unit_of_work(write=True) as s:
        repo = JobRepo(s)
        job = _require(repo, job_id)
        if job.status.finished:
            return job
        if job.status == JobStatus.QUEUED:
            return repo.update(job_id, cancel_requested=True, status=JobStatus.CANCELLED, finished_at=utcnow(),
                               message="cancelled before it started")
        return repo.update(job_id, cancel_requested=True)


def is_cancel_requested(ctx: AppContext, job_id: int) -> bool:
    with ctx.unit_of_work() as s:
        return _require(JobRepo(s), job_id).cancel_requested


def set_job_version(ctx: AppContext, job_id: int, version_id: int) -> Job:
    """Link a training job to the version it produces."""
    with ctx.unit_of_work(write=True) as s:
        return JobRepo(s).update(_require(JobRepo(s), job_id).id, version_id=version_id)


def _end(ctx: AppContext, job_id: int, status: JobStatus, **fields: Any) -> Job:
    with ctx.unit_of_work(write=True) as s:
        repo = JobRepo(s)
        _require_active(repo, job_id)
        return repo.update(job_id, status=status, finished_at=utcnow(), **fields)


def finish_job(ctx: AppContext, job_id: int, result: dict[str, Any] | None = None, message: str = "done") -> Job:
    return _end(ctx, job_id, JobStatus.DONE, progress=1.0, result=dict(result or {}), message=message)


def fail_job(ctx: AppContext, job_id: int, error: str) -> Job:
    return _end(ctx, job_id, JobStatus.FAILED, error=error, message=f"failed: {error}")


def cancel_job(ctx: AppContext, job_id: int, message: str = "cancelled") -> Job:
    """End a job that stopped because its cancel flag was set."""
    return _end(ctx, job_id, JobStatus.CANCELLED, message=message)


def _stale(repo: JobRepo, stale_after_s: float) -> list[Job]:
    """QUEUED/RUNNING jobs whose process is gone (see ``interrupt_stale_jobs``)."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    me = process_owner()
    stale = []
    for job in repo.list(statuses=ACTIVE):
        beat, owner = repo.liveness(job.id)
        alive = _owner_alive(owner)
        if owner != me and (alive is False or (alive is None and (beat or job.created_at or cutoff) <= cutoff)):
            stale.append(job)
    return stale


def find_stale_jobs(ctx: AppContext, stale_after_s: float = STALE_AFTER_S) -> list[Job]:
    """The jobs ``interrupt_stale_jobs`` would mark interrupted (nothing is written)."""
    with ctx.unit_of_work() as s:
        return _stale(JobRepo(s), stale_after_s)


def interrupt_stale_jobs(ctx: AppContext, stale_after_s: float = STALE_AFTER_S) -> list[Job]:
    """Mark QUEUED/RUNNING jobs whose process is gone as INTERRUPTED; call at start-up.

    A job is gone when its owning process (same host) no longer exists, or, when that cannot be
    told, when it has not sent a heartbeat for ``stale_after_s`` seconds. Jobs of this process and
    of other live processes (e.g. a CLI run) are left alone. A TRAINING version produced by an
    interrupted job is marked FAILED (its per-epoch state stays on disk: re-running the same
    training request resumes from it).
    """
    with ctx.unit_of_work(write=True) as s:
        return _interrupt(s, stale_after_s)


def _interrupt(session: Session, stale_after_s: float) -> list[Job]:
    repo, versions = JobRepo(session), VersionRepo(session)
    stale = _stale(repo, stale_after_s)
    dead = {j.id for j in stale}
    for version in versions.list(VersionStatus.TRAINING):
        if versions.job_id(version.id) in dead:
            versions.update(version.id, status=VersionStatus.FAILED, finished_at=utcnow())
    if stale:
        log.warning("job(s) %s were interrupted: the process running them stopped", sorted(dead))
    return [repo.update(j.id, status=JobStatus.INTERRUPTED, finished_at=utcnow(),
                        message="interrupted: the process running it stopped") for j in stale]
