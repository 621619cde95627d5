"""Pixels for the browser: coloured masks, overlays, click markers, and the mask <-> editor layer
conversion used by the brush editor.

Masks follow ``domain/records.py`` (H×W uint8 class ids, 0 background, 255 ignore); images are
H×W×3 uint8 RGB; an editor layer is H×W×4 uint8 RGBA where a painted pixel's RGB is a class colour
(black = the background brush).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..domain.records import BACKGROUND_ID, IGNORE_ID, ClassDef

VOID_RGB = (224, 224, 192)  # VOC's colour for 255 = ignore / unsure
VOID_HEX = "#e0e0c0"
BACKGROUND_HEX = "#000000"  # the background brush (class colours can never be black)
MIN_PAINT_ALPHA = 64  # layer pixels fainter than this (brush edge antialiasing, eraser) are background


def hex_rgb(color: str) -> tuple[int, int, int]:
    """"#rrggbb" -> (r, g, b) in 0..255."""
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def palette(classes: Sequence[ClassDef]) -> dict[int, tuple[int, int, int]]:
    """Class id -> RGB for every class, 255 = ignore and 0 = background (black; never tinted)."""
    colors = {c.id: hex_rgb(c.color) for c in classes}
    colors[IGNORE_ID] = VOID_RGB
    colors[BACKGROUND_ID] = (0, 0, 0)
    return colors


def colorize(mask: np.ndarray, colors: Mapping[int, tuple[int, int, int]]) -> np.ndarray:
    """H×W×3 RGB picture of a mask; background and unknown ids are black."""
    lut = np.zeros((256, 3), dtype=np.uint8)
    for class_id, rgb in colors.items():
        lut[class_id] = rgb
    return lut[np.asarray(mask, dtype=np.uint8)]


def overlay(image: np.ndarray, mask: np.ndarray, colors: Mapping[int, tuple[int, int, int]],
            alpha: float = 0.55) -> np.ndarray:
    """The image with non-background pixels tinted by their class colour (``alpha`` in [0, 1])."""
    img = np.asarray(image, dtype=np.float32)[..., :3]
    tint = colorize(mask, colors).astype(np.float32)
    painted = (np.asarray(mask) != BACKGROUND_ID)[..., None]
    out = np.where(painted, (1 - alpha) * img + alpha * tint, img)
    return np.clip(out, 0, 255).astype(np.uint8)


def draw_points(image: np.ndarray, points: Sequence[tuple[int, int, bool]], radius: int = 3) -> np.ndarray:
    """Copy of ``image`` with click points (x, y, positive) drawn as green (+) / red (−) squares."""
    out = np.array(image, dtype=np.uint8, copy=True)
    h, w = out.shape[:2]
    for x, y, positive in points:
        y0, y1, x0, x1 = max(0, y - radius), min(h, y + radius + 1), max(0, x - radius), min(w, x + radius + 1)
        out[y0:y1, x0:x1] = (0, 220, 0) if positive else (230, 0, 0)
    return out


def layers_to_mask(layers: Sequence[np.ndarray], colors: Mapping[int, tuple[int, int, int]],
                   base: np.ndarray) -> np.ndarray:
    """Apply brush strokes to a copy of ``base`` (H×W class ids): the editor shows the mask as a tinted
    background and the user paints on transparent layers (later layers on top).

    A pixel with alpha >= ``MIN_PAINT_ALPHA`` takes the class whose colour (``colors``; include 0 →
    black for the "background" brush) is nearest to its RGB — brush edges are antialiased; other pixels
    keep ``base``. Layers of another size (a rescaled canvas) are resampled nearest-neighbour.
    """
    ids = np.array(sorted(colors), dtype=np.uint8)
    table = np.array([colors[int(i)] for i in ids], dtype=np.int32)
    mask = np.array(base, dtype=np.uint8, copy=True)
    for layer in layers:
        rgba = _as_rgba(layer, mask.shape)
        painted = rgba[..., 3] >= MIN_PAINT_ALPHA
        if not painted.any() or not len(ids):
            continue
        rgb = rgba[painted][:, :3].astype(np.int32)
        nearest = ((rgb[:, None, :] - table[None, :, :]) ** 2).sum(-1).argmin(1)
        mask[painted] = ids[nearest]
    return mask


def _as_rgba(layer: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    arr = np.asarray(layer, dtype=np.uint8)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3 + [np.full_like(arr, 255)], axis=-1)
    elif arr.shape[-1] == 3:
        arr = np.concatenate([arr, np.full((*arr.shape[:2], 1), 255, dtype=np.uint8)], axis=-1)
    if arr.shape[:2] != shape:
        rows = np.arange(shape[0]) * arr.shape[0] // shape[0]
        cols = np.arange(shape[1]) * arr.shape[1] // shape[1]
        arr = arr[rows][:, cols]
    return arr
