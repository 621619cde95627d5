"""Predict tab: the active version segments an uploaded image; overlay, legend and palette PNG."""
from __future__ import annotations

import numpy as np
from PIL import Image

from incseg_app.services import training, versions
from incseg_app.ui import predict_tab
from ui_helpers import SIZE, add_pseudo, ctx, filled, plain, scene_png  # noqa: F401


def test_without_a_version_it_says_to_train(ctx):
    status, *rest = predict_tab.segment(ctx, np.zeros((8, 8, 3), np.uint8), None)
    assert status.startswith("⚠") and "train a first step" in plain(status)
    assert predict_tab.segment(ctx, None, None)[0].startswith("⚠ Upload")


def test_segment_with_the_active_version(filled):
    add_pseudo(filled, [0.5, 0.5, 0.5, 0.5])
    version = training.train_step(filled, training.TrainRequest(method="finetune"))
    pick = predict_tab.refresh(filled)
    assert pick["value"] == version.id == versions.active_version(filled).id
    image = np.asarray(Image.open(__import__("io").BytesIO(scene_png(7))).convert("RGB"))
    status, overlay, legend, path = predict_tab.segment(filled, image, pick["value"])
    assert f"with v{version.id}" in plain(status) and overlay.shape == (SIZE, SIZE, 3)
    png = Image.open(path)
    assert png.mode == "P" and png.size == (SIZE, SIZE)
    assert set(np.unique(np.asarray(png))) <= {0, 1, 2, 255}
    assert legend == "Only background was found." or "incseg-swatch" in legend
