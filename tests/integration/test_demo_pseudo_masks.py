"""The one-click demo's pseudo-masks cover the tagged object, not its surroundings.

Each demo photo (scikit-image's chelsea cat, coffee cup, rocket, astronaut; with its cropped and
mirrored views) is pseudo-labelled through the services exactly as a new user would (no CLIP, no SAM:
the weight-free co-segmentation on EfficientNet-Lite0's ImageNet features), then compared with a
reference mask drawn by hand for it (``tests/data/demo_reference.json``, polygons on the full photo,
cropped and mirrored like the views). Unsure pixels count as "not the object".
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from incseg_app.services import masks as mask_service
from incseg_app.services.classes import list_classes
from incseg_app.services.context import open_store
from incseg_app.services.demo import DEMO, create_demo_project
from incseg_app.services.images import list_images
from incseg_app.services.labeling import pseudo_label
from incseg_app.services.ml_settings import MLSettings

REFERENCE = json.loads((Path(__file__).resolve().parents[1] / "data" / "demo_reference.json").read_text())
MIN_IOU = 0.5


def reference_mask(loader: str, shape: tuple[int, int]) -> np.ndarray:
    """H×W bool mask of the full photo from its polygons."""
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(canvas)
    for polygon in REFERENCE[loader]:
        draw.polygon([tuple(p) for p in polygon], fill=1)
    return np.asarray(canvas, dtype=bool)


def view_of(mask: np.ndarray, suffix: str) -> np.ndarray:
    """The reference mask cut like ``services.demo``'s views ('' | '-crop' | '-mirror')."""
    h, w = mask.shape
    if suffix == "-crop":
        return mask[h // 10: h - h // 10, w // 10: w - w // 10]
    return mask[:, ::-1] if suffix == "-mirror" else mask


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 11 not met yet: cat 0.64-0.72 and coffee 0.57-0.73 pass; the "
                   "astronaut and the rocket are left unsure (0.0): with 3 tagged photos of 12 the lower bound of "
                   "their reliability stays at or under 0.5")
def test_demo_pseudo_masks_cover_the_tagged_object(tmp_path) -> None:
    from skimage import data as samples

    ctx = open_store(tmp_path / "store", ml=MLSettings())
    create_demo_project(ctx)
    assert pseudo_label(ctx)["labelled"] == 12
    ids = {c.name: c.id for c in list_classes(ctx)}
    scores = {}
    for image in list_images(ctx):
        loader, _, rest = image.original_name.partition(".")[0].partition("-")
        name = next(n for n, _, _, key in DEMO if key == loader)
        photo = np.asarray(getattr(samples, loader)())[..., :3]
        truth = view_of(reference_mask(loader, photo.shape[:2]), f"-{rest}" if rest else "")
        labels = mask_service.read_mask(ctx, mask_service.head_mask(ctx, image.id).id)
        assert labels.shape == truth.shape
        pred = labels == ids[name]
        scores[image.original_name] = float((pred & truth).sum() / max((pred | truth).sum(), 1))
    ctx.close()
    low = {k: round(v, 3) for k, v in scores.items() if v < MIN_IOU}
    assert not low, f"IoU below {MIN_IOU}: {low} (all: {scores})"
