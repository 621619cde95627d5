"""Run a job's callable in a background thread, reporting to its Job row.

The callable gets a ``JobControl``: ``progress(fraction, message)`` (fraction 0..1, written at most
every ``min_interval_s`` seconds), ``should_cancel()`` and ``check_cancel()`` (raises
CancelledError). It returns a JSON-able result dict. A heartbeat thread refreshes the row while it
runs; an exception fails the job with its message, CancelledError cancels it.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ..domain.enums import JobKind
from ..domain.errors import CancelledError, ConflictError, IncsegError
from ..domain.records import Job
from . import jobs
from .context import AppContext

log = logging.getLogger(__name__)


class JobControl:
    """What a running job may do: report progress and look at its cancel flag."""

    def __init__(self, ctx: AppContext, job_id: int, min_interval_s: float = 0.5) -> None:
        self.ctx = ctx
        self.job_id = job_id
        self.min_interval_s = min_interval_s
        self._last_write = 0.0

    def progress(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - self._last_write >= self.min_interval_s:
            jobs.update_progress(self.ctx, self.job_id, fraction, message)
            self._last_write = now

    def should_cancel(self) -> bool:
        return jobs.is_cancel_requested(self.ctx, self.job_id)

    def check_cancel(self) -> None:
        if self.should_cancel():
            raise CancelledError(f"job {self.job_id} was cancelled")


JobFn = Callable[[JobControl], "dict[str, Any] | None"]


class JobRunner:
    """Starts jobs in daemon threads; ``wait`` joins one (tests, CLI)."""

    def __init__(self, ctx: AppContext, heartbeat_s: float = 10.0, min_interval_s: float = 0.5) -> None:
        self.ctx = ctx
        self.heartbeat_s = heartbeat_s
        self.min_interval_s = min_interval_s
        self._threads: dict[int, threading.Thread] = {}

    def submit(self, kind: JobKind, fn: JobFn, params: dict[str, Any] | None = None,
               exclusive: bool = False) -> Job:
        """Create the job row and start ``fn`` in a thread; returns the QUEUED job."""
        job = jobs.create_job(self.ctx, kind, params, exclusive=exclusive)
        thread = threading.Thread(target=self._run, args=(job.id, fn), name=f"incseg-job-{job.id}", daemon=True)
        self._threads[job.id] = thread
        thread.start()
        return job

    def wait(self, job_id: int, timeout: float | None = None) -> Job:
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return jobs.get_job(self.ctx, job_id)

    def _run(self, job_id: int, fn: JobFn) -> None:
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job_id, stop), daemon=True)
        try:
            try:
                jobs.start_job(self.ctx, job_id)
            except ConflictError:
                return  # cancelled while still queued: the row already says so
            beat.start()
            result = fn(JobControl(self.ctx, job_id, self.min_interval_s))
            jobs.finish_job(self.ctx, job_id, result or {})
        except CancelledError as exc:
            jobs.cancel_job(self.ctx, job_id, str(exc))
        except IncsegError as exc:
            jobs.fail_job(self.ctx, job_id, str(exc))
        except Exception as exc:  # a job must never die silently: the row says what happened
            log.exception("job %d failed", job_id)
            jobs.fail_job(self.ctx, job_id, f"{type(exc).__name__}: {exc}")
        finally:
            stop.set()

    def _beat(self, job_id: int, stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat_s):
            try:
                jobs.heartbeat(self.ctx, job_id)
            except Exception:  # a missed heartbeat is not worth killing the job over
                log.warning("heartbeat of job %d failed", job_id, exc_info=True)
