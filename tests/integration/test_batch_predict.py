"""Batch predict: folders and globs, batches equal to one-by-one prediction, COCO and overlays, a real
SIGKILL of the CLI mid-run followed by a resume that skips finished masks and completes the rest."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from incseg_app.domain.errors import ConflictError, ValidationError
from incseg_app.services import versions
from incseg_app.services.batch_predict import collect_inputs, predict_many
from incseg_app.services.predict import predict
from incseg_app.services.training import TrainRequest, train_step
from store_helpers import add_shapes_project, png_bytes, shapes_image, tiny_store  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def trained(tiny_store):
    add_shapes_project(tiny_store, (0, 1), seed=1)
    return tiny_store, train_step(tiny_store, TrainRequest(method="finetune", epochs=1))


def _photos(folder: Path, n: int, size: int = 64) -> None:
    for i in range(n):
        image, _ = shapes_image(100 + i, (0, 1), size=size)
        sub = folder / ("sub" if i % 3 == 0 else "")
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"p{i:03d}.png").write_bytes(png_bytes(image[:, : size - (i % 2)]))  # two sizes


def test_batches_equal_single_predictions_with_coco_and_overlays(trained, tmp_path):
    ctx, version = trained
    _photos(tmp_path / "in", 7)
    seen = []
    report = predict_many(ctx, [tmp_path / "in"], tmp_path / "out", batch_size=3, coco=True, overlays=True,
                          progress=lambda f, m: seen.append(f))
    assert (report.total, report.predicted, report.skipped, report.failed) == (7, 7, 0, [])
    assert seen[-1] == 1.0 and seen == sorted(seen)
    for item in collect_inputs([tmp_path / "in"]):
        got = np.asarray(Image.open(tmp_path / "out" / "masks" / f"{item.name}.png"))
        rgb = np.asarray(Image.open(item.path).convert("RGB"))
        assert np.array_equal(got, predict(ctx, rgb).mask), item.name
        assert (tmp_path / "out" / "overlays" / f"{item.name}.jpg").is_file()
    doc = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert len(doc["images"]) == 7 and {a["category_id"] for a in doc["annotations"]} <= set(version.class_ids)
    assert "sub/p000.png" in {im["file_name"] for im in doc["images"]}


def test_glob_inputs_and_refusals(trained, tmp_path):
    ctx, version = trained
    _photos(tmp_path / "in", 4)
    names = [it.name for it in collect_inputs([str(tmp_path / "in" / "**" / "p00[0-2].png")])]
    assert names == ["p001", "p002", "sub/p000"]
    with pytest.raises(ValidationError, match="no image files"):
        collect_inputs([str(tmp_path / "in" / "*.gif")])
    predict_many(ctx, [tmp_path / "in"], tmp_path / "out")
    other = versions.create_version(ctx, "other", list(version.class_ids), "finetune")
    versions.mark_ready(ctx, other.id, ctx.blobs.put_bytes(b"another checkpoint"))
    with pytest.raises(ConflictError, match="holds masks of version"):
        predict_many(ctx, [tmp_path / "in"], tmp_path / "out", version_id=other.id)


@pytest.mark.slow
def test_sigkill_mid_run_then_resume(trained, tmp_path):
    ctx, _ = trained
    n = 60
    _photos(tmp_path / "in", n, size=96)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", "from incseg_app.cli import main; main()", "predict", str(tmp_path / "in"),
           "--out", str(tmp_path / "out"), "--storage", str(ctx.root), "--batch-size", "1", "--device", "cpu"]
    ctx.close()  # the child process opens the store itself
    masks = tmp_path / "out" / "masks"
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and child.poll() is None and len(list(masks.rglob("*.png"))) < 3:
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read().decode()[-2000:]
    before = {p: p.read_bytes() for p in masks.rglob("*.png")}
    assert 0 < len(before) < n
    for path in before:  # every mask present is whole (written under a temporary name, then renamed)
        assert Image.open(path).size[1] == 96
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"{n - len(before)} image(s) predicted, {len(before)} already done" in resumed.stdout
    after = sorted(masks.rglob("*.png"))
    assert len(after) == n and all(before[p] == p.read_bytes() for p in before)
    assert not [p for p in masks.rglob("*") if p.name.endswith(".partial")]
