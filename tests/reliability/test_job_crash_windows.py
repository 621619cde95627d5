"""Issue 15's job defects, each reproduced with a real second process (a SIGKILLed job process, or a
process holding SQLite's write lock past the busy timeout as a long import does):

- a training job keeps going and completes while another process holds the store; a job that fails
  meanwhile still records its failure, and its version does not stay ``training``;
- starting a job during a long write answers with a message, not a traceback;
- a crash right after "version ready" leaves it active too (one transaction), the job counts as done,
  and re-running the request does not train a duplicate;
- a queued job whose process was killed does not block the next training;
- ``jobs cancel`` ends a job whose process is gone.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from incseg_app.cli import cli
from incseg_app.domain import JobKind, JobStatus, VersionStatus
from incseg_app.domain.errors import ValidationError
from incseg_app.services import StoreSettings, jobs, open_store, versions
from incseg_app.services.ml_settings import tiny_settings
from incseg_app.services.runner import JobRunner
from incseg_app.services.training import TrainRequest, start_training
from store_helpers import add_shapes_project

CHILD = Path(__file__).with_name("job_child.py")
ROOT = Path(__file__).resolve().parents[2]
BUSY_MS = 400  # a short busy timeout: holding the lock for seconds is then "a long import"

# Holds SQLite's write lock (BEGIN IMMEDIATE + a write) for argv[2] seconds, like one long import batch.
HOLDER = textwrap.dedent("""
    import sqlite3, sys, time
    con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO settings (key, value) VALUES ('long-write', 'x')")
    print("LOCKED", flush=True)
    time.sleep(float(sys.argv[2]))
    con.execute("ROLLBACK")
""")


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *map(str, args)], cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _hold_lock(ctx, seconds: float) -> subprocess.Popen:
    holder = _spawn("-c", HOLDER, ctx.db.path, seconds)
    assert holder.stdout.readline().strip() == "LOCKED", holder.stderr.read()
    return holder


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture
def busy_store(tmp_path):
    ctx = open_store(tmp_path / "store", StoreSettings(busy_timeout_ms=BUSY_MS), tiny_settings())
    add_shapes_project(ctx, (0,), n_train=3, n_val=1)
    yield ctx
    ctx.close()


def test_training_completes_while_another_process_holds_the_store(busy_store):
    runner = JobRunner(busy_store, heartbeat_s=0.1, min_interval_s=0.0)
    job = start_training(busy_store, runner, TrainRequest(method="finetune", epochs=12))
    while jobs.get_job(busy_store, job.id).progress <= 0:
        time.sleep(0.02)
    holder = _hold_lock(busy_store, 3.0)  # 7.5× the busy timeout, in the middle of training
    done = runner.wait(job.id, timeout=300)
    assert holder.wait() == 0
    assert (done.status, done.error) == (JobStatus.DONE, None)
    [version] = versions.list_versions(busy_store)
    assert version.status == VersionStatus.READY and versions.active_version(busy_store).id == version.id


def test_a_job_failing_while_the_store_is_held_still_records_its_failure(busy_store):
    """Before: the failure write met "database is locked" too, and the version stayed ``training``."""
    locked, holder = threading.Event(), []

    def fails_during_a_long_write(control):
        versions.create_version(busy_store, "doomed", [0], "finetune", job_id=control.job_id)
        holder.append(_hold_lock(busy_store, 2.0))
        locked.set()
        raise RuntimeError("CUDA out of memory")

    runner = JobRunner(busy_store, heartbeat_s=0.1, min_interval_s=0.0)
    job = runner.submit(JobKind.TRAIN, fails_during_a_long_write)
    assert locked.wait(60)
    done = runner.wait(job.id, timeout=120)
    assert holder[0].wait() == 0
    assert (done.status, done.error) == (JobStatus.FAILED, "RuntimeError: CUDA out of memory")
    assert [v.status for v in versions.list_versions(busy_store)] == [VersionStatus.FAILED]


def test_starting_a_job_during_a_long_write_gives_a_message_not_a_traceback(busy_store):
    from incseg_app.ui import train_tab

    runner = JobRunner(busy_store)
    holder = _hold_lock(busy_store, 5.0)
    try:
        out = train_tab.start(busy_store, runner, "finetune", [], [], 2, 2, 64, 0.005, False, False, "", False)
    finally:
        _kill(holder)
    assert out[0].startswith("⚠") and "the store is busy: another process has held its write lock" in out[0]
    assert jobs.list_jobs(busy_store) == []


def test_crash_between_ready_and_activate_leaves_it_active_and_no_duplicate(busy_store):
    child = _spawn(CHILD, "train_kill_after_ready", busy_store.root)
    child.wait(timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr.read()[-2000:]
    [version] = versions.list_versions(busy_store)
    assert version.status == VersionStatus.READY and versions.active_version(busy_store).id == version.id
    [job] = jobs.list_jobs(busy_store)
    assert job.status == JobStatus.RUNNING  # its process died before it could say "done"
    [recovered] = jobs.interrupt_stale_jobs(busy_store)
    assert (recovered.status, recovered.result) == (JobStatus.DONE, {"version_id": version.id})
    with pytest.raises(ValidationError, match="nothing new to learn"):  # the redo trains no duplicate
        start_training(busy_store, JobRunner(busy_store), TrainRequest(method="finetune", epochs=2))


def test_a_queued_job_whose_process_was_killed_does_not_block_the_next_one(busy_store):
    child = _spawn(CHILD, "queue", busy_store.root)
    queued = int(child.stdout.readline())
    _kill(child)
    started = time.monotonic()
    job = jobs.create_job(busy_store, JobKind.TRAIN, exclusive=True)  # before: ConflictError for 60 s
    assert time.monotonic() - started < 5
    assert jobs.get_job(busy_store, queued).status == JobStatus.INTERRUPTED
    assert job.status == JobStatus.QUEUED


def test_jobs_cancel_ends_a_job_whose_process_is_gone(busy_store):
    child = _spawn(CHILD, "train", busy_store.root)
    line = child.stdout.readline().split()
    assert line[:1] == ["RUNNING"], child.stderr.read()[-2000:]
    _kill(child)
    job_id = int(line[1])
    cli_args = ["--storage", str(busy_store.root)]
    listed = CliRunner().invoke(cli, [*cli_args, "jobs", "list"])
    assert "running (process gone)" in listed.output
    out = CliRunner().invoke(cli, [*cli_args, "jobs", "cancel", str(job_id)])
    assert out.exit_code == 0, out.output
    assert f"job {job_id}: cancelled — cancelled: its process had already stopped" in out.output
    assert jobs.get_job(busy_store, job_id).status == JobStatus.CANCELLED
    assert [v.status for v in versions.list_versions(busy_store)] == [VersionStatus.CANCELLED]
