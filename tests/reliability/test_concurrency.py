"""Concurrency: two editors of one mask, one training job per store, readers alongside a writer."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from incseg_app.domain import JobStatus, MaskKind, ReviewStatus
from incseg_app.domain.errors import ConflictError
from incseg_app.services import StoreSettings, classes, images, jobs, masks, open_store
from incseg_app.services.ml_settings import tiny_settings
from incseg_app.services.runner import JobRunner
from incseg_app.services.training import TrainRequest, start_training
from store_helpers import add_shapes_project, image_bytes, store, tiny_store  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def test_two_browser_sessions_editing_one_mask(store):
    """Both sessions opened revision r; the first save wins, the second is refused with a message that
    says what happened and what to do, and the first one's pixels are intact."""
    from incseg_app.ui.mask_editor.component import EditorState
    from incseg_app.ui.review_tab import save
    from store_helpers import label_png

    car = classes.create_class(store, "car", "#ff0000")
    road = classes.create_class(store, "road", "#0000ff")
    rec = images.import_uploads(store, [("street.png", image_bytes(8, 6, 0))], ["car"]).imported[0]
    base = masks.save_mask(store, rec.id, np.zeros((6, 8), np.uint8), MaskKind.PSEUDO, ReviewStatus.TO_REVIEW)
    session = {"image_id": rec.id, "mask_id": base.id, "position": 0}  # what both browser tabs hold

    def painted(class_id: int) -> EditorState:  # the whole image painted with one class
        return EditorState(rec.id, base.id, label_png(np.full((6, 8), class_id, np.uint8)))

    first = save(store, dict(session), painted(car.id), [], "to_review", "", "likely_wrong")
    assert first[0].startswith("✓")
    second = save(store, dict(session), painted(road.id), [], "to_review", "", "likely_wrong")
    assert second[0].startswith("⚠") and "changed by someone else" in second[0]
    assert "reload it and redo your edit" in second[0]
    history = masks.mask_history(store, rec.id)
    assert [h.id for h in history][0] == base.id and len(history) == 2
    assert (masks.read_mask(store, history[-1].id) == car.id).all()  # the first editor's work is kept


def _wait_ended(runner: JobRunner, job_id: int) -> None:
    jobs.request_cancel(runner.ctx, job_id)
    assert runner.wait(job_id, timeout=120).status in (JobStatus.CANCELLED, JobStatus.DONE)


def test_one_training_job_per_store_unless_configured(tiny_store, tmp_path, new_database):
    add_shapes_project(tiny_store, (0,), n_train=2, n_val=0)
    runner = JobRunner(tiny_store, heartbeat_s=0.2, min_interval_s=0.0)
    first = start_training(tiny_store, runner, TrainRequest(method="finetune", epochs=500))
    try:
        with pytest.raises(ConflictError, match=f"a train job \\(id {first.id}\\) is already"):
            start_training(tiny_store, runner, TrainRequest(method="finetune", epochs=3))
    finally:
        _wait_ended(runner, first.id)

    parallel = open_store(tmp_path / "p", StoreSettings(parallel_training=True), tiny_settings(),
                          database_url=new_database())
    try:
        add_shapes_project(parallel, (0,), n_train=2, n_val=0)
        runner = JobRunner(parallel, heartbeat_s=0.2, min_interval_s=0.0)
        a = start_training(parallel, runner, TrainRequest(method="finetune", epochs=500))
        b = start_training(parallel, runner, TrainRequest(method="finetune", epochs=400))
        assert a.id != b.id
        for job in (a, b):
            _wait_ended(runner, job.id)
    finally:
        parallel.close()


def test_parallel_training_setting_from_environment(monkeypatch):
    assert StoreSettings.from_env().parallel_training is False
    monkeypatch.setenv("INCSEG_PARALLEL_TRAINING", "yes")
    assert StoreSettings.from_env().parallel_training is True


WRITER = textwrap.dedent("""
    import io
    import sys
    import numpy as np
    from PIL import Image
    from incseg_app.services import StoreSettings, open_store, masks, images
    ctx = open_store(sys.argv[1], StoreSettings())
    print("WRITING", flush=True)
    for n in range(int(sys.argv[2])):
        masks.save_mask(ctx, 1, np.full((12, 16), n % 2, np.uint8), force=True)
        if n % 10 == 0:  # new images too: a write that adds blobs and rows
            buf = io.BytesIO()
            Image.fromarray(np.full((4, 4, 3), n, np.uint8)).save(buf, format="PNG")
            images.import_uploads(ctx, [(f"w{n}.png", buf.getvalue())])
    print("DONE", flush=True)
""")


def test_readers_never_fail_while_another_process_writes(store):
    classes.create_class(store, "car")
    images.import_uploads(store, [("seed.png", image_bytes(16, 12, 0))], ["car"])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(store.root), "150"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "WRITING"
    reads = 0
    while writer.poll() is None or reads < 50:
        head = masks.head_mask(store, 1)
        if head is not None:
            assert masks.read_mask(store, head.id).shape == (12, 16)
        assert images.list_images(store)[0].original_name == "seed.png"
        reads += 1
    assert writer.wait() == 0, writer.stderr.read()[-2000:]
    assert len(masks.mask_history(store, 1)) == 150


def test_concurrent_writers_wait_for_the_lock_instead_of_failing(store):
    classes.create_class(store, "car")
    ids = [r.id for r in images.import_uploads(store, [(f"{n}.png", image_bytes(16, 12, n)) for n in range(2)],
                                               ["car"]).imported]
    errors: list[BaseException] = []

    def write(image_id: int) -> None:
        try:
            for n in range(40):
                masks.save_mask(store, image_id, np.full((12, 16), n % 2, np.uint8), force=True)
        except BaseException as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [len(masks.mask_history(store, i)) for i in ids] == [40, 40]


def test_a_dead_exclusive_job_does_not_block_the_next_one(store):
    """A training job whose process was killed (owner pid gone) is marked interrupted, with its version
    failed, when the next exclusive job is created, instead of refusing it."""
    import socket

    from incseg_app.domain import JobKind, VersionStatus
    from incseg_app.services import versions
    from incseg_app.storage.orm import JobRow

    classes.create_class(store, "car")
    dead = jobs.create_job(store, JobKind.TRAIN, exclusive=True)
    jobs.start_job(store, dead.id)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with store.unit_of_work(write=True) as s:
        s.get(JobRow, dead.id).owner = f"{socket.gethostname()}:{child.pid}"
    partial = versions.create_version(store, "half", [0, 1], "finetune", job_id=dead.id)
    live = jobs.create_job(store, JobKind.TRAIN, exclusive=True)
    assert jobs.get_job(store, dead.id).status == JobStatus.INTERRUPTED
    assert versions.get_version(store, partial.id).status == VersionStatus.FAILED
    with pytest.raises(ConflictError, match=f"id {live.id}"):  # a live queued one still blocks
        jobs.create_job(store, JobKind.TRAIN, exclusive=True)
