"""Segment an uploaded image with a version (the active one by default)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domain.errors import NotFoundError, ValidationError
from ..domain.records import IGNORE_ID
from ..training.data import pixel_key
from ..training.evaluate import item_logits
from ..training.taps import TapSource
from ..training.step import select_device
from . import versions
from .classes import list_classes
from .context import AppContext
from .features import feature_cache
from .imageio import encode_palette_png, hex_to_rgb
from .store_data import load_version_model

OVERLAY_ALPHA = 0.55  # weight of the class colour over the photo


@dataclass(frozen=True)
class Prediction:
    """mask: H×W uint8 class ids (0 background); overlay: H×W×3 uint8; legend: (name, "#rrggbb") of the
    classes present; png: the mask as a VOC palette PNG (pixel values = class ids)."""

    version_id: int
    mask: np.ndarray
    overlay: np.ndarray
    legend: list[tuple[str, str]]
    png: bytes


def overlay_mask(image: np.ndarray, mask: np.ndarray, colors: dict[int, tuple[int, int, int]],
                 alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """Blend class colours over ``image`` (H×W×3 uint8) where ``mask`` holds a coloured class id;
    background (0) is left as is and ignore (255) is drawn white."""
    out = image.astype(np.float32).copy()
    lut = np.zeros((256, 3), dtype=np.float32)
    painted = np.zeros(256, dtype=bool)
    for cid, rgb in colors.items():
        lut[cid], painted[cid] = rgb, True
    lut[IGNORE_ID], painted[IGNORE_ID] = (255, 255, 255), True
    sel = painted[mask]
    out[sel] = (1 - alpha) * out[sel] + alpha * lut[mask[sel]]
    return out.clip(0, 255).astype(np.uint8)


def class_colors(ctx: AppContext) -> tuple[dict[int, tuple[int, int, int]], dict[int, str], dict[int, str]]:
    """(id -> RGB, id -> name, id -> "#rrggbb") of every class."""
    classes = list_classes(ctx)
    return ({c.id: hex_to_rgb(c.color) for c in classes}, {c.id: c.name for c in classes},
            {c.id: c.color for c in classes})


def predict(ctx: AppContext, image: np.ndarray, version_id: int | None = None) -> Prediction:
    """Run a READY version (default: the active one) on an H×W×3 uint8 image."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise ValidationError(f"expected an RGB image (H×W×3 uint8), got shape {image.shape} {image.dtype}")
    image = np.ascontiguousarray(image[..., :3])
    version = versions.get_version(ctx, version_id) if version_id is not None else versions.active_version(ctx)
    if version is None:
        raise NotFoundError("no model version yet: train a first step in the Train tab")
    model, ckpt = load_version_model(ctx, version)
    device = select_device(ctx.ml.train.device)
    source = TapSource(model.to(device), feature_cache(ctx), device)
    logits = item_logits(model, {"image": image, "image_key": pixel_key(image)}, device, ctx.ml.eval_max_side, source)
    mask = np.asarray(ckpt.class_ids, dtype=np.uint8)[logits.argmax(0).numpy()]
    rgb, names, hexes = class_colors(ctx)
    present = [int(c) for c in np.unique(mask) if c not in (0, IGNORE_ID)]
    legend = [(names.get(c, f"class {c}"), hexes.get(c, "#808080")) for c in present]
    return Prediction(version.id, mask, overlay_mask(image, mask, rgb), legend, encode_palette_png(mask, rgb))
