"""Jobs as child processes of the web server (issue 16): the served app starts training in a child
process running ``incseg jobs run``; SIGKILL of that child, a crash in it, an error in the job and a
cancel that the child ignores all end the job with its reason while the server keeps answering."""
from __future__ import annotations

import os
import signal
import socket
import sys
import time

import httpx
import pytest

from incseg_app.domain import JobKind, JobStatus, VersionStatus
from incseg_app.services import jobs, versions
from incseg_app.services import job_process
from incseg_app.services.job_process import ProcessJobRunner
from store_helpers import add_shapes_project, tiny_store  # noqa: F401

TRAIN_VALUES = ("finetune", [], [], 400, 2, 64, 0.005, False, False, "", False)  # Train tab widgets: 400 epochs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _until(check, timeout_s: float = 240.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


@pytest.fixture
def served(tiny_store):
    """The real app on a free loopback port, jobs in child processes; yields (runner, base URL)."""
    from incseg_app.ui.app import LAUNCH, build_app

    add_shapes_project(tiny_store, (0, 1), n_train=4, n_val=1)
    runner = ProcessJobRunner(tiny_store, grace_s=30.0, poll_s=0.1)
    demo = build_app(tiny_store, runner)
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **LAUNCH)
    yield runner, f"http://127.0.0.1:{port}/"
    demo.close()


def _start_training(ctx, runner) -> int:
    from incseg_app.ui import train_tab

    status, job_id, *_ = train_tab.start(ctx, runner, *TRAIN_VALUES)
    assert status.startswith("✓"), status
    return job_id


def test_sigkill_of_the_training_child_fails_the_job_and_the_server_answers(tiny_store, served):
    from incseg_app.ui import train_tab

    runner, url = served
    job_id = _start_training(tiny_store, runner)
    pid = runner.pid(job_id)
    assert pid is not None and pid != os.getpid()
    running = _until(lambda: (j := jobs.get_job(tiny_store, job_id)).progress > 0 and "loss" in j.message and j,
                     what="the child to report a loss")
    assert running.status == JobStatus.RUNNING
    assert [v.status for v in versions.list_versions(tiny_store)] == [VersionStatus.TRAINING]

    os.kill(pid, signal.SIGKILL)
    job = runner.wait(job_id, timeout=60)
    assert job.status == JobStatus.FAILED
    assert job.error == "the job's process was killed by SIGKILL — out of memory, or killed by someone"
    assert [v.status for v in versions.list_versions(tiny_store)] == [VersionStatus.FAILED]
    with httpx.Client(timeout=30) as client:  # the server process is untouched
        assert client.get(url).status_code == 200
    *_, outcome, line = train_tab.poll(tiny_store, job_id, train_tab.started(job_id))
    assert "failed" in outcome and "failed" in line and "SIGKILL" in line  # the status line says why
    again = _start_training(tiny_store, runner)  # nothing blocks the next step
    jobs.request_cancel(tiny_store, again)
    assert runner.wait(again, timeout=120).status == JobStatus.CANCELLED


def test_cancel_stops_the_child_and_sigterm_after_the_grace_period(tiny_store):
    add_shapes_project(tiny_store, (0,), n_train=3, n_val=0)
    runner = ProcessJobRunner(tiny_store, grace_s=0.0, kill_after_s=60.0, poll_s=0.1)
    job = runner.launch(JobKind.TRAIN, {"method": "finetune", "epochs": 400})
    _until(lambda: jobs.get_job(tiny_store, job.id).progress > 0, what="training to start")
    jobs.request_cancel(tiny_store, job.id)  # grace 0: the watcher sends SIGTERM at once
    done = runner.wait(job.id, timeout=120)
    assert done.status == JobStatus.CANCELLED, done
    assert [v.status for v in versions.list_versions(tiny_store)] == [VersionStatus.CANCELLED]


def test_an_error_in_the_child_fails_the_job_with_its_message(tiny_store):
    runner = ProcessJobRunner(tiny_store, poll_s=0.1)
    job = runner.launch(JobKind.TRAIN, {"method": "no-such-method"})
    done = runner.wait(job.id, timeout=120)
    assert done.status == JobStatus.FAILED and "no-such-method" in done.error
    assert job_process.job_log_path(tiny_store, job.id).is_file()


def test_a_child_that_dies_without_a_word_fails_the_job_with_its_last_line(tiny_store, monkeypatch):
    crash = [sys.executable, "-c", "import sys; print('Fatal Python error: Segmentation fault'); sys.exit(139)"]
    monkeypatch.setattr(job_process, "child_command", lambda ctx, job_id: crash)
    runner = ProcessJobRunner(tiny_store, poll_s=0.1)
    job = runner.launch(JobKind.PSEUDO_LABEL, {})
    done = runner.wait(job.id, timeout=60)
    assert (done.status, done.error) == (
        JobStatus.FAILED, "the job's process exited with status 139: Fatal Python error: Segmentation fault")
