"""Jobs as child processes: the web UI starts, watches and cancels them (LLaMA-Factory's habit).

``ProcessJobRunner.launch`` creates the QUEUED job row, then starts ``python -m incseg_app.cli
--storage ROOT jobs run ID`` — the command a user can type — which runs the job's registered function
(``job_kinds``) with ``runner.run_job`` exactly as the CLI does. The child owns the row from then on
("host:pid"), writes progress and losses to the store, and the UI polls the row.

A watcher thread per child makes the server robust to whatever happens in there: when the child exits
without having ended its job (SIGKILL, the kernel's OOM killer, a native crash, an import error), the
job is FAILED with the reason (the signal, or the last line the child wrote) and its TRAINING version
FAILED, while the server keeps serving. Cancel is the job's flag, which the child checks between
iterations; if the child has not stopped ``grace_s`` seconds after the flag was set, the watcher sends
SIGTERM (the child turns it into a clean cancellation), and SIGKILL ``kill_after_s`` later.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..domain.enums import JobKind
from ..domain.errors import CancelledError, ConflictError
from ..domain.records import Job
from . import jobs
from .context import AppContext
from .job_kinds import job_function, runtime_of
from .runner import run_job

log = logging.getLogger(__name__)

LOG_DIR = "logs"  # under the store root: one file per job with the child's output


def job_log_path(ctx: AppContext, job_id: int) -> Path:
    return ctx.root / LOG_DIR / f"job-{job_id}.log"


def child_command(ctx: AppContext, job_id: int) -> list[str]:
    """The command that runs job ``job_id`` (the database URL travels in the environment, not argv)."""
    return [sys.executable, "-m", "incseg_app.cli", "--storage", str(ctx.root), "jobs", "run", str(job_id)]


def _child_env(ctx: AppContext) -> dict[str, str]:
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])  # the child runs this very code
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    for key in ("INCSEG_DATABASE_URL", "INCSEG_AUTH", "INCSEG_AUTH_FILE"):  # a job serves nobody
        env.pop(key, None)
    if ctx.database_url:
        env["INCSEG_DATABASE_URL"] = ctx.database_url
    return env


def exit_reason(returncode: int, log_path: Path | None = None) -> str:
    """A sentence for a child that exited without ending its job (negative code = killed by a signal)."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        hint = " — out of memory, or killed by someone" if -returncode == signal.SIGKILL else ""
        return f"the job's process was killed by {name}{hint}"
    last = ""
    if log_path is not None and log_path.is_file():
        lines = [ln.strip() for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
        last = f": {lines[-1][:300]}" if lines else ""
    return f"the job's process exited with status {returncode}{last}"


class ProcessJobRunner:
    """Runs each launched job in a child process and watches it (see the module docstring)."""

    def __init__(self, ctx: AppContext, grace_s: float = 30.0, kill_after_s: float = 10.0,
                 poll_s: float = 0.5) -> None:
        self.ctx = ctx
        self.grace_s = grace_s
        self.kill_after_s = kill_after_s
        self.poll_s = poll_s
        self._watchers: dict[int, threading.Thread] = {}
        self._procs: dict[int, subprocess.Popen] = {}

    def launch(self, kind: JobKind, params: dict[str, Any], exclusive: bool = False) -> Job:
        """Create the job row and start its child process; returns the QUEUED job."""
        job_function(kind)  # refuse an unlaunchable kind before writing anything
        job = jobs.create_job(self.ctx, kind, {**params, "runtime": runtime_of(self.ctx)}, exclusive=exclusive)
        log_path = job_log_path(self.ctx, job.id)
        try:
            log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with log_path.open("ab") as out:
                proc = subprocess.Popen(child_command(self.ctx, job.id), env=_child_env(self.ctx),
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        except OSError as exc:
            return jobs.fail_job(self.ctx, job.id, f"the job's process could not be started: {exc}")
        self._procs[job.id] = proc
        jobs.set_owner(self.ctx, job.id, jobs.process_owner(proc.pid))
        watcher = threading.Thread(target=self._watch, args=(job.id, proc, log_path), daemon=True,
                                   name=f"incseg-watch-{job.id}")
        self._watchers[job.id] = watcher
        watcher.start()
        log.info("job %d (%s) started in process %d", job.id, job.kind.value, proc.pid)
        return jobs.get_job(self.ctx, job.id)

    def pid(self, job_id: int) -> int | None:
        proc = self._procs.get(job_id)
        return proc.pid if proc is not None else None

    def wait(self, job_id: int, timeout: float | None = None) -> Job:
        watcher = self._watchers.get(job_id)
        if watcher is not None:
            watcher.join(timeout)
        return jobs.get_job(self.ctx, job_id)

    def _watch(self, job_id: int, proc: subprocess.Popen, log_path: Path) -> None:
        try:
            code = self._wait_or_stop(job_id, proc)
            self._after_exit(job_id, code, log_path)
        except Exception:  # the watcher must never take the server down
            log.exception("watching job %d failed", job_id)

    def _wait_or_stop(self, job_id: int, proc: subprocess.Popen) -> int:
        """Wait for the child; once its cancel flag is set, give it ``grace_s``, then SIGTERM, then SIGKILL."""
        cancelled_at, terminated = None, False
        while True:
            try:
                return proc.wait(timeout=self.poll_s)
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if cancelled_at is None:
                try:
                    cancelled_at = now if jobs.is_cancel_requested(self.ctx, job_id) else None
                except Exception:  # a busy or unreachable database: look again at the next poll
                    log.debug("job %d: could not read the cancel flag", job_id, exc_info=True)
            elif now - cancelled_at > self.grace_s + self.kill_after_s:
                log.warning("job %d did not stop after SIGTERM: killing it", job_id)
                proc.kill()
            elif now - cancelled_at > self.grace_s and not terminated:
                # Once only: a second SIGTERM would interrupt the child's own clean-up.
                log.info("job %d did not stop within %.0f s of its cancel: SIGTERM", job_id, self.grace_s)
                proc.terminate()
                terminated = True

    def _after_exit(self, job_id: int, code: int, log_path: Path) -> None:
        job = jobs.get_job(self.ctx, job_id)
        if job.status.finished:
            return
        reason = exit_reason(code, log_path)
        log.warning("job %d: %s", job_id, reason)
        try:
            if job.cancel_requested:
                jobs.cancel_job(self.ctx, job_id, f"cancelled: {reason}")
            else:
                jobs.fail_job(self.ctx, job_id, reason)
        except ConflictError:
            pass  # it ended in the meantime


def _cancel_on_sigterm(signum: int, _frame: Any) -> None:
    raise CancelledError(f"stopped by the server ({signal.Signals(signum).name}) after its cancel grace period")


def run_in_this_process(ctx: AppContext, job_id: int, heartbeat_s: float = 10.0) -> Job:
    """The child's side: run job ``job_id`` (QUEUED) here with the settings stored in its params."""
    job = jobs.get_job(ctx, job_id)
    fn = job_function(job.kind)
    signal.signal(signal.SIGTERM, _cancel_on_sigterm)
    return run_job(ctx, job_id, lambda control: fn(control.ctx, job.params, control), heartbeat_s)
