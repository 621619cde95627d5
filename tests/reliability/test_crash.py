"""SIGKILL a real child process in the middle of an import, a pseudo-labelling job and a training job,
then reopen the store and check what issue 8 promises: the database passes an integrity check, every
row's blob exists, no half-written blob is visible, the job is marked interrupted and can be resumed,
no partial model version is ready or active, and ``doctor --repair`` leaves a clean store."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from incseg_app.domain import JobKind, JobStatus, VersionStatus
from incseg_app.services import StoreSettings, open_store
from incseg_app.services import doctor, jobs, versions
from incseg_app.services.ml_settings import tiny_settings
from store_helpers import add_shapes_project, png_bytes

from child_helpers import kill_when as _kill_when, query as _query, spawn as _spawn


def _assert_consistent(ctx) -> None:
    """Integrity ok, no row without its blob, and every visible blob is complete (content = name)."""
    assert _query(ctx.db.path, "PRAGMA integrity_check") == [("ok",)]
    report = doctor.check_store(ctx)
    assert report.integrity == [] and report.missing_blobs == []
    for sha in ctx.blobs.iter_shas():
        assert hashlib.sha256(ctx.blobs.path(sha).read_bytes()).hexdigest() == sha


def _repair_and_recheck(ctx) -> doctor.DoctorReport:
    repaired = doctor.repair_store(ctx, grace_s=0)  # the test knows nothing else writes to the store
    after = doctor.check_store(ctx, grace_s=0)
    assert after.ok, after.lines()
    assert not list(ctx.blobs.root.rglob(".tmp-*"))
    return repaired


def test_kill_during_image_import(tmp_path: Path) -> None:
    src = tmp_path / "many"
    src.mkdir()
    rng = np.random.default_rng(0)
    for n in range(60):  # noisy 192×192 PNGs: big enough that writing + fsync takes a while
        (src / f"img{n:03d}.png").write_bytes(png_bytes(rng.integers(0, 255, (192, 192, 3), dtype=np.uint8)))
    store = tmp_path / "store"
    ctx = open_store(store, StoreSettings(), tiny_settings())
    add_shapes_project(ctx, (0,), n_train=0, n_val=0)
    ctx.close()

    proc = _spawn("import", store, src)
    _kill_when(proc, lambda: _query(store / "incseg.db", "SELECT count(*) FROM images") >= [(20,)])

    ctx = open_store(store, StoreSettings(), tiny_settings())
    try:
        _assert_consistent(ctx)
        n = _query(ctx.db.path, "SELECT count(*) FROM images")[0][0]
        assert n % 10 == 0  # imports are all-or-nothing: only whole batches of 10 are visible
        _repair_and_recheck(ctx)
        assert set(ctx.blobs.iter_shas()) == {r[0] for r in _query(ctx.db.path, "SELECT sha256 FROM images")}
        from incseg_app.services.images import import_images
        report = import_images(ctx, [src], tags=["red square"])  # re-running the import completes it
        assert len(report.imported) + len(report.duplicates) == 60 and len(report.imported) == 60 - n
    finally:
        ctx.close()


def test_kill_during_pseudo_labelling_then_resume(tmp_path: Path) -> None:
    store = tmp_path / "store"
    ctx = open_store(store, StoreSettings(), tiny_settings())
    add_shapes_project(ctx, (0, 1), n_train=24, n_val=0, masks=False)
    ctx.close()

    proc = _spawn("pseudo_label", store)
    _kill_when(proc, lambda: _query(store / "incseg.db", "SELECT count(*) FROM masks") >= [(3,)])

    ctx = open_store(store, StoreSettings(), tiny_settings())
    try:
        _assert_consistent(ctx)
        [job] = jobs.list_jobs(ctx, JobKind.PSEUDO_LABEL)
        assert job.status == JobStatus.RUNNING and job.progress > 0  # the row still says running ...
        assert [j.id for j in jobs.interrupt_stale_jobs(ctx)] == [job.id]  # ... until start-up recovery
        assert jobs.get_job(ctx, job.id).status == JobStatus.INTERRUPTED
        done = _query(ctx.db.path, "SELECT count(DISTINCT image_id) FROM masks")[0][0]
        assert 3 <= done < 24
        _repair_and_recheck(ctx)
        from incseg_app.services.labeling import pseudo_label
        assert pseudo_label(ctx)["labelled"] == 24 - done  # resumes: labelled images are not redone
        assert _query(ctx.db.path, "SELECT count(*) FROM masks") == [(24,)]
    finally:
        ctx.close()


def test_kill_during_training_then_resume_from_epoch_state(tmp_path: Path, caplog) -> None:
    store = tmp_path / "store"
    ctx = open_store(store, StoreSettings(), tiny_settings())
    add_shapes_project(ctx, (0, 1), n_train=4, n_val=1)
    ctx.close()

    proc = _spawn("train", store)
    state = lambda: list((store / "work").glob("train-*/step_state.safetensors"))  # noqa: E731
    _kill_when(proc, lambda: bool(state()) and _query(store / "incseg.db",
                                                      "SELECT progress FROM jobs")[:1] > [(0.0,)])

    ctx = open_store(store, StoreSettings(), tiny_settings())
    try:
        _assert_consistent(ctx)
        [job] = jobs.list_jobs(ctx, JobKind.TRAIN)
        assert job.status == JobStatus.RUNNING and job.progress > 0
        [partial] = versions.list_versions(ctx)
        assert partial.status == VersionStatus.TRAINING and versions.active_version(ctx) is None
        assert doctor.check_store(ctx).resumable == [state()[0].parent]

        from incseg_app.services.runner import JobRunner
        from incseg_app.services.training import TrainRequest, start_training
        runner = JobRunner(ctx, heartbeat_s=0.2, min_interval_s=0.0)
        with caplog.at_level(logging.INFO, logger="incseg_app.training.loop"):
            # the user simply re-runs the same request: the dead job no longer blocks it
            again = start_training(ctx, runner, TrainRequest(method="finetune", epochs=40))
            assert jobs.get_job(ctx, job.id).status == JobStatus.INTERRUPTED
            assert versions.get_version(ctx, partial.id).status == VersionStatus.FAILED
            done = runner.wait(again.id, timeout=300)
        assert done.status == JobStatus.DONE, done.error
        resumed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("resuming step 0")]
        assert resumed and int(resumed[0].split("epoch ")[1].split()[0]) >= 1
        ready = versions.get_version(ctx, done.result["version_id"])
        assert ready.status == VersionStatus.READY and versions.active_version(ctx).id == ready.id
        assert [v.status for v in versions.list_versions(ctx)] == [VersionStatus.FAILED, VersionStatus.READY]
        assert not state()  # the resume state is removed once the version is ready
        _repair_and_recheck(ctx)
    finally:
        ctx.close()
