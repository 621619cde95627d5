"""Run a job's callable in this process (a thread, or the main thread of a job's child process).

The callable gets a ``JobControl``: ``progress(fraction, message)`` (fraction 0..1, written at most
every ``min_interval_s`` seconds), ``should_cancel()`` and ``check_cancel()`` (raises CancelledError).
It returns a JSON-able result dict. A heartbeat thread refreshes the row while it runs; an exception
fails the job with its message, CancelledError cancels it.

``JobRunner`` runs jobs in threads of this process (the CLI and tests); the web UI uses
``job_process.ProcessJobRunner``, which runs the very same ``run_job`` in a child process. Both offer
``launch(kind, params)``, which runs the function registered for ``kind`` in ``job_kinds``.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..domain.enums import JobKind
from ..domain.errors import CancelledError, ConflictError, IncsegError, StoreBusyError
from ..domain.records import Job
from . import jobs
from .context import AppContext
from .job_kinds import job_context, job_function, runtime_of

log = logging.getLogger(__name__)

PROGRESS_WAIT_MS = 250  # a progress write waits this long for a busy store, then is skipped
MAX_PROGRESS_BACKOFF_S = 30.0


class JobControl:
    """What a running job may do: report progress and look at its cancel flag.

    Progress is best effort: while another process holds the store (a long import), an update is
    skipped after ``PROGRESS_WAIT_MS`` and the next ones are tried after a growing pause (1, 2, 4 …
    up to 30 s), so the job keeps working instead of waiting on the lock or failing.
    """

    def __init__(self, ctx: AppContext, job_id: int, min_interval_s: float = 0.5) -> None:
        self.ctx = ctx
        self.job_id = job_id
        self.min_interval_s = min_interval_s
        self._last_write = 0.0
        self._backoff_s = 0.0
        self._skip_until = 0.0

    def progress(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now < self._skip_until or (fraction < 1.0 and now - self._last_write < self.min_interval_s):
            return
        self._last_write = now
        try:
            jobs.update_progress(self.ctx, self.job_id, fraction, message, wait_ms=PROGRESS_WAIT_MS)
            self._backoff_s = 0.0
        except StoreBusyError:
            self._backoff_s = min(max(2 * self._backoff_s, 1.0), MAX_PROGRESS_BACKOFF_S)
            self._skip_until = now + self._backoff_s
            log.info("job %d: store busy, progress update skipped (next try in %.0f s)", self.job_id, self._backoff_s)

    def should_cancel(self) -> bool:
        return jobs.is_cancel_requested(self.ctx, self.job_id)

    def check_cancel(self) -> None:
        if self.should_cancel():
            raise CancelledError(f"job {self.job_id} was cancelled")


JobFn = Callable[[JobControl], "dict[str, Any] | None"]


def run_job(ctx: AppContext, job_id: int, fn: JobFn, heartbeat_s: float = 10.0,
            min_interval_s: float = 0.5) -> Job:
    """Run ``fn`` for the QUEUED job ``job_id`` here and now, recording how it ended; returns the row.

    ``fn`` should do its work through ``control.ctx`` (``job_kinds.job_context``: the job's settings and
    a long lock wait). Never raises for the job's own errors: they end up in the row (FAILED with the
    message, CANCELLED).
    """
    job_ctx = job_context(ctx, jobs.get_job(ctx, job_id).params)
    try:
        return _run(job_ctx, job_id, fn, heartbeat_s, min_interval_s)
    finally:
        job_ctx.close()


def _run(ctx: AppContext, job_id: int, fn: JobFn, heartbeat_s: float, min_interval_s: float) -> Job:
    stop = threading.Event()
    try:
        try:
            jobs.start_job(ctx, job_id)
        except ConflictError:
            return jobs.get_job(ctx, job_id)  # cancelled while still queued: the row already says so
        threading.Thread(target=_beat, args=(ctx, job_id, heartbeat_s, stop), daemon=True).start()
        result = fn(JobControl(ctx, job_id, min_interval_s))
        return _record(jobs.finish_job, ctx, job_id, result or {})
    except CancelledError as exc:
        return _record(jobs.cancel_job, ctx, job_id, str(exc))
    except KeyboardInterrupt:
        return _record(jobs.cancel_job, ctx, job_id, "cancelled: interrupted")
    except IncsegError as exc:
        return _record(jobs.fail_job, ctx, job_id, str(exc))
    except Exception as exc:  # a job must never die silently: the row says what happened
        log.exception("job %d failed", job_id)
        return _record(jobs.fail_job, ctx, job_id, f"{type(exc).__name__}: {exc}")
    finally:
        stop.set()


def _record(end: Callable[..., Job], ctx: AppContext, job_id: int, *args: Any) -> Job:
    """Write how a job ended; a job that someone else already ended keeps that ending."""
    try:
        return end(ctx, job_id, *args)
    except ConflictError as exc:
        log.warning("job %d: %s", job_id, exc)
        return jobs.get_job(ctx, job_id)


def _beat(ctx: AppContext, job_id: int, every_s: float, stop: threading.Event) -> None:
    while not stop.wait(every_s):
        try:
            jobs.heartbeat(ctx, job_id, wait_ms=PROGRESS_WAIT_MS)
        except Exception:  # a missed heartbeat is not worth killing the job over
            log.info("heartbeat of job %d skipped", job_id, exc_info=True)


class Launcher(Protocol):
    """What starts a job: ``JobRunner`` (threads) or ``job_process.ProcessJobRunner`` (child processes)."""

    def launch(self, kind: JobKind, params: dict[str, Any], exclusive: bool = False) -> Job: ...

    def wait(self, job_id: int, timeout: float | None = None) -> Job: ...


class JobRunner:
    """Starts jobs in daemon threads of this process; ``wait`` joins one (tests, CLI)."""

    def __init__(self, ctx: AppContext, heartbeat_s: float = 10.0, min_interval_s: float = 0.5) -> None:
        self.ctx = ctx
        self.heartbeat_s = heartbeat_s
        self.min_interval_s = min_interval_s
        self._threads: dict[int, threading.Thread] = {}

    def submit(self, kind: JobKind, fn: JobFn, params: dict[str, Any] | None = None,
               exclusive: bool = False) -> Job:
        """Create the job row and start ``fn`` in a thread; returns the QUEUED job."""
        job = jobs.create_job(self.ctx, kind, params, exclusive=exclusive)
        thread = threading.Thread(target=run_job, args=(self.ctx, job.id, fn, self.heartbeat_s, self.min_interval_s),
                                  name=f"incseg-job-{job.id}", daemon=True)
        self._threads[job.id] = thread
        thread.start()
        return job

    def launch(self, kind: JobKind, params: dict[str, Any], exclusive: bool = False) -> Job:
        """Run the job function registered for ``kind`` (``job_kinds``) on ``params`` in a thread."""
        fn = job_function(kind)
        return self.submit(kind, lambda control: fn(control.ctx, params, control),
                           {**params, "runtime": runtime_of(self.ctx)}, exclusive)

    def wait(self, job_id: int, timeout: float | None = None) -> Job:
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return jobs.get_job(self.ctx, job_id)
