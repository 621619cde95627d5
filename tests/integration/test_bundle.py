"""Model bundle export: ONNX with dynamic H×W checked against PyTorch at export time, safetensors,
classes, metrics and lineage in bundle.json, and the stand-alone predict.py (run in a subprocess)
giving the label maps ``services.predict`` gives."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from incseg_app.domain.errors import ConflictError, ExportError, ValidationError
from incseg_app.models import build_model
from incseg_app.models.onnx_compat import compare_onnx, export_friendly, export_onnx
from incseg_app.services import bundle, versions
from incseg_app.services.bundle_predict import resize_bilinear
from incseg_app.services.predict import predict
from incseg_app.services.training import TrainRequest, train_step
from store_helpers import add_shapes_project, png_bytes, shapes_image, tiny_store  # noqa: F401


@pytest.fixture
def trained(tiny_store):
    """A tiny store with a base version and an incremental step (two token groups)."""
    add_shapes_project(tiny_store, (0, 1), seed=1)
    base = train_step(tiny_store, TrainRequest(method="finetune", epochs=1))
    add_shapes_project(tiny_store, (2,), seed=2)
    step = train_step(tiny_store, TrainRequest(method="mib", epochs=1))
    return tiny_store, base, step


def test_bundle_predict_py_matches_incseg_predict(trained, tmp_path):
    ctx, base, step = trained
    report = bundle.export_bundle(ctx, step.id, tmp_path / "bundle")
    out = tmp_path / "bundle"
    assert {p.name for p in out.iterdir()} == {"model.onnx", "model.safetensors", "bundle.json", "predict.py",
                                                "README.md"}
    meta = json.loads((out / "bundle.json").read_text())
    assert [c["id"] for c in meta["classes"]] == list(step.class_ids)
    assert [m["class_id"] for m in meta["metrics"]] and meta["lineage"][1]["id"] == base.id
    assert meta["config"]["method"]["name"] == "mib" and meta["onnx"]["dynamic_axes"] == ["batch", "height", "width"]
    assert all(c["max_abs_diff"] <= meta["onnx"]["tolerance"] for c in report.check) and len(report.check) == 3
    weights = load_file(out / "model.safetensors")
    model = build_model(_cfg(meta), meta["group_sizes"])
    model.load_state_dict(weights, strict=True)  # the safetensors rebuild the PyTorch model

    images_dir = tmp_path / "photos"
    images_dir.mkdir()
    sizes = [(64, 64), (47, 83), (120, 90)]  # ≠ the export example size; odd sides; resized to max_side 96
    for i, (h, w) in enumerate(sizes):
        image, _ = shapes_image(10 + i, (0, 1, 2), size=max(h, w))
        (images_dir / f"p{i}.png").write_bytes(png_bytes(image[:h, :w]))
    done = subprocess.run([sys.executable, str(out / "predict.py"), str(images_dir), "--out", str(tmp_path / "pred")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for i in range(len(sizes)):
        rgb = np.asarray(Image.open(images_dir / f"p{i}.png").convert("RGB"))
        expected = predict(ctx, rgb, step.id).mask
        got = np.asarray(Image.open(tmp_path / "pred" / f"p{i}.png"))
        assert got.shape == expected.shape
        assert (got == expected).mean() >= 0.999, i


def _cfg(meta):
    from incseg_app.domain.config import ModelConfig, from_dict

    return replace(from_dict(ModelConfig, meta["model"]), pretrained=False)


def test_export_refuses_non_ready_version_and_busy_folder(trained, tmp_path):
    ctx, base, _ = trained
    training = versions.create_version(ctx, "half", list(base.class_ids), "finetune", parent_id=base.id)
    with pytest.raises(ConflictError, match="only a ready version"):
        bundle.export_bundle(ctx, training.id, tmp_path / "b")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(ValidationError, match="not an empty folder"):
        bundle.export_bundle(ctx, base.id, tmp_path / "busy")
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"


def test_failed_check_writes_nothing(trained, tmp_path, monkeypatch):
    ctx, base, _ = trained
    bad = [{"size": [8, 8], "max_abs_diff": 0.5, "argmax_agreement": 0.9}]
    monkeypatch.setattr("incseg_app.models.onnx_compat.compare_onnx", lambda *a, **k: bad)
    with pytest.raises(ExportError, match="differs from PyTorch"):
        bundle.export_bundle(ctx, base.id, tmp_path / "exports" / "b")
    assert list((tmp_path / "exports").iterdir()) == []


@pytest.mark.parametrize("encoder", ["tiny", "efficientnet_lite0"])
def test_onnx_graph_follows_pytorch_at_many_sizes(encoder, tmp_path):
    """Dynamic "same" padding, FPN pooling and the step-causal decoder stay exact at sizes unlike the
    traced one (odd, non-square, batch 2)."""
    from incseg_app.domain.config import ModelConfig

    torch.manual_seed(0)
    cfg = ModelConfig(encoder=encoder, pretrained=False, embed_dim=32, decoder_heads=4, decoder_layers=1,
                      output_stride=16)
    model = build_model(cfg, (3, 2)).eval()
    path = str(tmp_path / "m.onnx")
    export_onnx(model, path, example_hw=(64, 96))
    for result in compare_onnx(model, path, [(33, 50), (97, 131), (128, 64)]):
        assert result["max_abs_diff"] < 1e-3, result
    x = torch.rand(2, 3, 45, 70)
    with torch.no_grad():
        assert torch.allclose(export_friendly(model)(x).logits, model(x).logits, atol=1e-4)


def test_numpy_resize_matches_torch_interpolate():
    x = torch.rand(3, 37, 53)
    for h, w in [(512, 384), (20, 11), (37, 53), (1, 7)]:
        expected = torch.nn.functional.interpolate(x[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        assert np.allclose(resize_bilinear(x.numpy(), h, w), expected.numpy(), atol=1e-5)
