"""Short write transactions (issue 15 #1): a long import in another process no longer starves other
writers. The import's transactions are made long on purpose (0.25 s per image inside each batch's
transaction, in the child) and the busy timeout short (5 s), so the old single-transaction import
holds the lock far past it."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from child_helpers import query, spawn
from incseg_app.domain import JobStatus
from incseg_app.domain.errors import StoreBusyError
from incseg_app.services import StoreSettings, jobs, open_store
from incseg_app.services.ml_settings import tiny_settings
from incseg_app.services.runner import JobRunner
from incseg_app.services.training import TrainRequest, start_training
from store_helpers import add_shapes_project, png_bytes

BUSY_MS = 5000


def _folder(path: Path, n: int) -> Path:
    path.mkdir()
    rng = np.random.default_rng(7)
    for k in range(n):
        (path / f"in{k:03d}.png").write_bytes(png_bytes(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)))
    return path


def _start_import(tmp_path: Path, store: Path, batch: int, monkeypatch) -> object:
    """The child import of 60 images, returned once it is inside its commit phase."""
    monkeypatch.setenv("INCSEG_TEST_BATCH", str(batch))
    monkeypatch.setenv("INCSEG_TEST_BUSY_MS", str(BUSY_MS))
    proc = spawn("import_long_tx", store, _folder(tmp_path / "src", 60))
    deadline = time.monotonic() + 120
    while query(store / "incseg.db", "SELECT done FROM leases") == [] or _lock_free(store):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()[-2000:]
        time.sleep(0.02)
    return proc


def _lock_free(store: Path) -> bool:
    """Whether the write lock can be taken right now (the child has not begun a batch yet)."""
    import sqlite3
    con = sqlite3.connect(store / "incseg.db", timeout=0, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        con.close()


@pytest.mark.slow
def test_a_training_job_completes_while_another_process_imports(tmp_path, monkeypatch):
    store = tmp_path / "store"
    ctx = open_store(store, StoreSettings(busy_timeout_ms=BUSY_MS), tiny_settings())
    try:
        add_shapes_project(ctx, (0,), n_train=4, n_val=2)
        proc = _start_import(tmp_path, store, batch=5, monkeypatch=monkeypatch)  # 12 batches of ~1.3 s
        runner = JobRunner(ctx, heartbeat_s=0.5, min_interval_s=0.0)  # a progress write at every step
        job = start_training(ctx, runner, TrainRequest(method="finetune", epochs=3))
        done = runner.wait(job.id, timeout=300)
        still_importing = proc.poll() is None
        assert proc.wait(timeout=300) == 0, proc.stderr.read()[-2000:]
        assert done.status == JobStatus.DONE, (done.error, done.message)
        assert still_importing  # the job ran and finished inside the import
        assert "locked" not in f"{done.message} {done.error}"
        assert query(store / "incseg.db", "SELECT count(*) FROM images") == [(66,)]
        assert query(store / "incseg.db", "SELECT count(*) FROM leases") == [(0,)]
    finally:
        ctx.close()


@pytest.mark.slow
def test_a_lock_held_past_the_timeout_answers_with_a_message(tmp_path, monkeypatch):
    """The defect as it was: one transaction for the whole import (here 60 images in one 15 s batch).
    Starting a job then is refused with a sentence, not ``sqlite3.OperationalError: database is locked``."""
    store = tmp_path / "store"
    ctx = open_store(store, StoreSettings(busy_timeout_ms=BUSY_MS), tiny_settings())
    try:
        add_shapes_project(ctx, (0,), n_train=2, n_val=0)
        proc = _start_import(tmp_path, store, batch=60, monkeypatch=monkeypatch)
        runner = JobRunner(ctx)
        with pytest.raises(StoreBusyError, match=r"the store is busy: another process has held its write lock for "
                                                 r"more than 5 s .*nothing was changed, try again in a moment"):
            start_training(ctx, runner, TrainRequest(method="finetune", epochs=1))
        assert proc.wait(timeout=300) == 0
        assert jobs.list_jobs(ctx) == []  # the refused call wrote nothing
    finally:
        ctx.close()
