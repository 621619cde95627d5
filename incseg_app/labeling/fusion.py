"""Fusion of refined class scores into a label map with a confidence map, and the map helpers
the refiners share (peak normalisation, prompt seeds, click regions).

The fusion is the last stage of the co-segmentation pipeline of FMWISS (Yu et al., CVPR 2023,
Sec. 3.2): the class-aware maps, snapped to class-agnostic regions, compete per pixel with a
background score, and pixels where the decision is close are left unsure (255) for review.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from skimage.feature import peak_local_max
from skimage.measure import label as connected_components

from ..domain.errors import ValidationError
from ..domain.records import BACKGROUND_ID, IGNORE_ID, MAX_CLASS_ID
from .protocols import Click

PEAK_THRESHOLD = 0.5  # fraction of a class map's peak that counts as "inside" for prompts


def normalise_present(maps: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Divide each K×H×W map by its own maximum.

    The image-level tag says the class *is* present, so only the relative evidence matters: the
    strongest location of each tagged class is scaled to 1 (as WILSON, Cermelli et al. CVPR 2022,
    Sec. 3.3, max-normalises its localiser maps). Maps whose peak is below ``eps`` stay zero.
    """
    peaks = maps.reshape(maps.shape[0], -1).max(axis=1)
    safe = np.where(peaks > eps, peaks, 1.0)
    return (maps / safe[:, None, None] * (peaks > eps)[:, None, None]).astype(np.float32)


def fuse(scores: np.ndarray, class_ids: Sequence[int], unsure_below: float,
         background: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel decision between background and the tagged classes.

    Args:
        scores: K×H×W refined class scores in [0, 1], channel k belongs to ``class_ids[k]``.
        class_ids: K stable class ids (1..254) of the tagged classes.
        unsure_below: confidence threshold in [0, 1]; pixels below it get 255.
        background: optional H×W evidence in [0, 1] that a pixel is background (e.g. the current
            model's confidence in an already-learnt class); raises the background score to it.

    Returns:
        labels: H×W uint8 with values in {0, 255} ∪ class_ids.
        confidence: H×W float32 in [0, 1], the best of [background, class scores] normalised to sum
        to 1, with background = max(1 − max_k score_k, ``background``): the labeller's probability
        that the best label is right (a single class at 0.5 is a coin flip, 0.5).
    """
    if scores.ndim != 3 or scores.shape[0] != len(class_ids):
        raise ValidationError(f"fuse needs K×H×W scores for {len(class_ids)} classes, got shape {scores.shape}")
    bad = [c for c in class_ids if not 1 <= int(c) <= MAX_CLASS_ID]
    if bad:
        raise ValidationError(f"class ids must be in 1..{MAX_CLASS_ID}, got {bad}")
    if not 0.0 <= unsure_below <= 1.0:
        raise ValidationError(f"unsure_below must be in [0, 1], got {unsure_below}")
    scores = np.clip(scores.astype(np.float32), 0.0, 1.0)
    if scores.shape[0] == 0:
        shape = scores.shape[1:]
        return np.zeros(shape, np.uint8), np.ones(shape, np.float32)
    bg = 1.0 - scores.max(axis=0, keepdims=True)
    if background is not None:
        if background.shape != scores.shape[1:]:
            raise ValidationError(f"background evidence {background.shape} does not match scores {scores.shape[1:]}")
        bg = np.maximum(bg, np.clip(background.astype(np.float32), 0.0, 1.0)[None])
    stacked = np.concatenate([bg, scores], axis=0)  # (K+1)×H×W
    confidence = (stacked.max(axis=0) / np.maximum(stacked.sum(axis=0), 1e-6)).clip(0.0, 1.0).astype(np.float32)
    lut = np.array([BACKGROUND_ID, *class_ids], dtype=np.uint8)
    labels = lut[stacked.argmax(axis=0)]
    labels[confidence < unsure_below] = IGNORE_ID
    return labels, confidence


def peak_prompts(class_map: np.ndarray, max_points: int = 3) -> tuple[np.ndarray, np.ndarray] | None:
    """Prompt seeds from one peak-normalised H×W map: up to ``max_points`` local maxima (x, y) and
    the XYXY box of the pixels above ``PEAK_THRESHOLD``; None when the map is empty."""
    inside = class_map >= PEAK_THRESHOLD * max(float(class_map.max()), 1e-6)
    if not inside.any() or class_map.max() <= 0:
        return None
    h, w = class_map.shape
    peaks = peak_local_max(class_map, min_distance=max(1, min(h, w) // 16), threshold_abs=PEAK_THRESHOLD
                           * float(class_map.max()), num_peaks=max_points, exclude_border=False)
    if len(peaks) == 0:
        peaks = np.array([np.unravel_index(int(class_map.argmax()), class_map.shape)])
    points = peaks[:, ::-1].astype(np.float32)  # (row, col) -> (x, y)
    ys, xs = np.nonzero(inside)
    box = np.array([xs.min(), ys.min(), xs.max(), ys.max()], dtype=np.float32)
    return points, box


def check_clicks(mask: np.ndarray, class_id: int, points: Sequence[Click]) -> list[tuple[int, int, bool]]:
    """Validate a click edit and round the clicks to in-image pixel coordinates (x, y, positive)."""
    if mask.ndim != 2 or mask.dtype != np.uint8:
        raise ValidationError(f"click refinement needs an H×W uint8 mask, got {mask.dtype} {mask.shape}")
    if not 1 <= int(class_id) <= MAX_CLASS_ID:
        raise ValidationError(f"click refinement: class id must be in 1..{MAX_CLASS_ID}, got {class_id}")
    h, w = mask.shape
    out = []
    for x, y, positive in points:
        if not (0 <= x < w and 0 <= y < h):
            raise ValidationError(f"click ({x}, {y}) lies outside the {w}×{h} image")
        out.append((int(x), int(y), bool(positive)))
    return out


def touched_components(mask: np.ndarray, class_id: int, points: Sequence[tuple[int, int, bool]]) -> np.ndarray:
    """H×W bool: the connected regions of ``class_id`` in ``mask`` that contain any click."""
    components = connected_components(mask == class_id, connectivity=1)
    hit = {int(components[y, x]) for x, y, _ in points} - {0}
    return np.isin(components, list(hit)) if hit else np.zeros(mask.shape, bool)
