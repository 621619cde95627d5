"""Job service and JobRunner: lifecycle, progress, cancel, failure, exclusivity, start-up recovery."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from incseg_app.domain.enums import JobKind, JobStatus
from incseg_app.domain.errors import ConflictError, NotFoundError, ValidationError
from incseg_app.services import jobs
from incseg_app.services.runner import JobRunner
from incseg_app.storage.orm import JobRow, utcnow
from store_helpers import store  # noqa: F401


def test_job_verbs(store):
    job = jobs.create_job(store, JobKind.TRAIN, {"method": "gsc"})
    assert (job.status, job.progress, job.params) == (JobStatus.QUEUED, 0.0, {"method": "gsc"})
    assert jobs.start_job(store, job.id).status == JobStatus.RUNNING
    p = jobs.update_progress(store, job.id, 1.7, "epoch 3/3")
    assert (p.progress, p.message) == (1.0, "epoch 3/3")
    assert jobs.update_progress(store, job.id, -1).progress == 0.0
    assert jobs.set_job_version(store, job.id, 5).version_id == 5
    done = jobs.finish_job(store, job.id, {"miou": 0.5})
    assert (done.status, done.result, done.progress) == (JobStatus.DONE, {"miou": 0.5}, 1.0)
    assert done.finished_at >= done.started_at >= done.created_at
    with pytest.raises(ConflictError, match="already ended"):
        jobs.update_progress(store, job.id, 0.5)
    failed = jobs.create_job(store, JobKind.IMPORT)
    jobs.start_job(store, failed.id)
    assert jobs.fail_job(store, failed.id, "disk full").error == "disk full"
    assert [j.id for j in jobs.list_jobs(store)] == [failed.id, job.id]
    assert [j.id for j in jobs.list_jobs(store, kind=JobKind.TRAIN)] == [job.id]
    with pytest.raises(NotFoundError):
        jobs.get_job(store, 42)


def test_cancel_queued_and_running(store):
    queued = jobs.create_job(store, JobKind.PSEUDO_LABEL)
    assert jobs.request_cancel(store, queued.id).status == JobStatus.CANCELLED
    running = jobs.create_job(store, JobKind.PSEUDO_LABEL)
    jobs.start_job(store, running.id)
    flagged = jobs.request_cancel(store, running.id)
    assert flagged.status == JobStatus.RUNNING and jobs.is_cancel_requested(store, running.id)
    assert jobs.cancel_job(store, running.id).status == JobStatus.CANCELLED


def test_exclusive_jobs(store):
    first = jobs.create_job(store, JobKind.TRAIN, exclusive=True)
    with pytest.raises(ConflictError, match=f"job \\(id {first.id}\\) is already queued"):
        jobs.create_job(store, JobKind.TRAIN, exclusive=True)
    jobs.create_job(store, JobKind.IMPORT, exclusive=True)  # other kinds are independent
    jobs.request_cancel(store, first.id)
    jobs.create_job(store, JobKind.TRAIN, exclusive=True)


def _running(store, owner, beat_age_s):
    job = jobs.create_job(store, JobKind.TRAIN)
    jobs.start_job(store, job.id)
    with store.unit_of_work(write=True) as s:
        row = s.get(JobRow, job.id)
        row.owner, row.heartbeat_at = owner, utcnow() - timedelta(seconds=beat_age_s)
    return job.id


def test_jobs_of_dead_processes_are_interrupted_live_ones_kept(store):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host = socket.gethostname()
    dead_pid = _running(store, f"{host}:{child.pid}", beat_age_s=1)  # fresh beat, but its process is gone
    mine_old_beat = _running(store, jobs.process_owner(), beat_age_s=600)  # this process: alive
    remote_stale = _running(store, "other-host:123", beat_age_s=600)  # cannot check: heartbeat decides
    remote_fresh = _running(store, "other-host:124", beat_age_s=1)
    interrupted = jobs.interrupt_stale_jobs(store, stale_after_s=60)
    assert sorted(j.id for j in interrupted) == [dead_pid, remote_stale]
    assert jobs.get_job(store, dead_pid).status == JobStatus.INTERRUPTED
    assert {j.id for j in jobs.list_jobs(store, active_only=True)} == {mine_old_beat, remote_fresh}


def test_runner_success_progress_and_result(store):
    runner = JobRunner(store, heartbeat_s=0.01, min_interval_s=0)
    seen = []

    def work(ctl):
        ctl.progress(0.25, "a quarter")
        seen.append(jobs.get_job(store, ctl.job_id).message)
        return {"n": 3}

    job = runner.submit(JobKind.IMPORT, work, {"path": "x"})
    done = runner.wait(job.id, timeout=30)
    assert (done.status, done.result, done.params, seen) == (JobStatus.DONE, {"n": 3}, {"path": "x"}, ["a quarter"])


def test_runner_cancel_and_failures(store):
    runner = JobRunner(store, heartbeat_s=0.01, min_interval_s=0)
    started, release = threading.Event(), threading.Event()

    def cancellable(ctl):
        started.set()
        release.wait(10)
        ctl.check_cancel()
        return {"finished": True}

    job = runner.submit(JobKind.TRAIN, cancellable)
    started.wait(10)
    jobs.request_cancel(store, job.id)
    release.set()
    assert runner.wait(job.id, timeout=30).status == JobStatus.CANCELLED

    def domain_error(ctl):
        raise ValidationError("bad config value")

    def crash(ctl):
        raise ZeroDivisionError("division by zero")

    j1 = runner.wait(runner.submit(JobKind.TRAIN, domain_error).id, timeout=30)
    j2 = runner.wait(runner.submit(JobKind.TRAIN, crash).id, timeout=30)
    assert (j1.status, j1.error) == (JobStatus.FAILED, "bad config value")
    assert (j2.status, j2.error) == (JobStatus.FAILED, "ZeroDivisionError: division by zero")
