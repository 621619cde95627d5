"""Image views (a scale and a horizontal flip) and stride-aligned crops, shared by the pixel and the
cached-feature training paths so that both see exactly the same samples.

A training sample is a *view* of an image (resized by ``scale``, optionally mirrored) and a square
crop of it whose top-left corner lies on the grid of the backbone's coarsest tap stride ``align``
(32 for EfficientNet-Lite0). On that grid a crop of the view's pixels and the same crop of the view's
backbone taps cover the same region at every stride: pixel rows ``top .. top + crop`` are tap rows
``top / s .. (top + crop) / s`` at stride s. A crop stays inside a view that is at least as large
(so the last ``(h - crop) mod align`` rows of a view are never cropped; flipped views reach the
right edge); a smaller view is padded: image 0, labels 255 (ignore), confidence 0, taps 0.

Labels follow the image through the same nearest-neighbour index map (source row of view row r is
``floor(r * H / h)``), so no label is ever interpolated.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class View:
    """An image view: resized by ``scale`` (both sides, rounded), then mirrored left-right if ``flip``."""

    scale: float = 1.0
    flip: bool = False

    def size(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) of the view of an H×W image."""
        return max(1, round(height * self.scale)), max(1, round(width * self.scale))

    @property
    def key(self) -> str:
        """Stable text form, e.g. "s1.25f" (part of feature-cache keys)."""
        return f"s{self.scale:.6g}{'f' if self.flip else ''}"


@dataclass(frozen=True)
class Crop:
    """A ``size``×``size`` window at (``top``, ``left``) of ``view``'s pixels (multiples of the alignment)."""

    view: View
    top: int
    left: int
    size: int


def training_views(scales: Sequence[float], flip: bool) -> tuple[View, ...]:
    """Every (scale, flip) combination, unflipped first."""
    return tuple(View(float(s), f) for s in scales for f in ((False, True) if flip else (False,)))


def eval_view(height: int, width: int, max_side: int | None) -> View:
    """The unflipped view whose longer side is ``max_side`` (scale 1 when unset or already so)."""
    if not max_side or max(height, width) == max_side:
        return View()
    return View(max_side / max(height, width))


def sample_crop(gen: torch.Generator, height: int, width: int, views: Sequence[View], crop: int, align: int) -> Crop:
    """A random view of an H×W image and a random ``align``-aligned crop of it (drawn from ``gen``)."""
    view = views[int(torch.randint(len(views), (), generator=gen))]
    vh, vw = view.size(height, width)
    top = align * int(torch.randint(max(0, vh - crop) // align + 1, (), generator=gen))
    left = align * int(torch.randint(max(0, vw - crop) // align + 1, (), generator=gen))
    return Crop(view, top, left, crop)


def render_view(image: Tensor, view: View) -> Tensor:
    """3×H×W (or B×3×H×W) float image -> its view, bilinear resize (no antialias) then mirror."""
    batched = image if image.dim() == 4 else image[None]
    size = view.size(*batched.shape[-2:])
    if size != tuple(batched.shape[-2:]):
        batched = F.interpolate(batched, size=size, mode="bilinear", align_corners=False)
    if view.flip:
        batched = batched.flip(-1)
    return batched if image.dim() == 4 else batched[0]


def _axis_index(start: int, length: int, src: int, dst: int, flip: bool) -> tuple[np.ndarray, np.ndarray]:
    """Source index and validity of view positions ``start .. start + length`` along one axis."""
    pos = np.arange(start, start + length)
    valid = pos < dst
    view_pos = np.minimum(pos, dst - 1)
    if flip:
        view_pos = dst - 1 - view_pos
    return np.minimum((view_pos * src) // dst, src - 1), valid


def crop_map(array: np.ndarray, crop: Crop, fill: float) -> np.ndarray:
    """The crop of an H×W label/confidence map's view (nearest neighbour), ``fill`` outside the view."""
    height, width = array.shape
    vh, vw = crop.view.size(height, width)
    rows, row_ok = _axis_index(crop.top, crop.size, height, vh, False)
    cols, col_ok = _axis_index(crop.left, crop.size, width, vw, crop.view.flip)
    out = array[rows[:, None], cols[None, :]]
    if not (row_ok.all() and col_ok.all()):
        out = out.copy()
        out[~row_ok] = fill
        out[:, ~col_ok] = fill
    return out


def crop_pixels(view_image: Tensor, crop: Crop) -> Tensor:
    """3×h×w view pixels -> 3×size×size crop, zero beyond the view."""
    c = crop.size
    window = view_image[:, crop.top:crop.top + c, crop.left:crop.left + c]
    ph, pw = c - window.shape[1], c - window.shape[2]
    return F.pad(window, (0, pw, 0, ph)) if ph or pw else window


def crop_taps(taps: Sequence[Tensor], strides: Sequence[int], crop: Crop) -> list[Tensor]:
    """Per-stride C_i×h_i×w_i taps of a whole view -> C_i×(size/s_i)×(size/s_i) crops, zero beyond the view."""
    out = []
    for tap, s in zip(taps, strides):
        top, left, c = crop.top // s, crop.left // s, crop.size // s
        window = tap[:, top:top + c, left:left + c]
        ph, pw = c - window.shape[1], c - window.shape[2]
        out.append(F.pad(window, (0, pw, 0, ph)) if ph or pw else window)
    return out
