"""Evaluation maths: confusion matrix, per-class IoU, old/new/all mIoU, hIoU and forgetting.

Conventions (all on the same validation images):

* confusion ``cm[g, p]`` counts pixels with ground-truth channel g predicted as channel p; pixels
  labelled 255 are skipped.
* ``IoU_c = cm[c, c] / (row_c + col_c - cm[c, c])``. A class with **no ground-truth pixel** gets NaN
  (shown as None) and is left out of every mean, even when it was predicted (those false positives
  still lower the IoU of the classes whose pixels they took).
* old / new / all mIoU: NaN-aware means over the step's old channels (background included from step 1
  on, as in MiB's "0-15" column), its new channels, and all channels.
* hIoU = 2·old·new / (old + new) (NaN when either is NaN; 0 when both are 0).
* forgetting of class c = max IoU of c over ancestor versions - IoU of c now; None when c was never
  measured in an ancestor or is absent now; background (id 0) is never scored because its meaning
  changes at every step.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

IGNORE = 255


def confusion_matrix(pred: Tensor, target: Tensor, num_classes: int) -> Tensor:
    """K×K int64 confusion of ``pred`` (any shape, channel ids) vs ``target`` (same shape, 255 = ignore)."""
    pred, target = pred.reshape(-1).long(), target.reshape(-1).long()
    keep = target != IGNORE
    pred, target = pred[keep], target[keep]
    if target.numel() and int(target.max()) >= num_classes:
        raise ValueError(f"target channel {int(target.max())} >= number of classes {num_classes}")
    idx = target * num_classes + pred
    return torch.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes).cpu()


def per_class_iou(cm: Tensor | np.ndarray) -> np.ndarray:
    """K float64 IoU per channel; NaN where the class has no ground-truth pixel."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    gt, pred = cm.sum(1), cm.sum(0)
    union = gt + pred - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = tp / union
    iou[gt == 0] = np.nan
    return iou


def nan_mean(values: Sequence[float] | np.ndarray) -> float:
    """Mean of the non-NaN values; NaN when there are none."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    return float(arr.mean()) if arr.size else math.nan


def harmonic_iou(old: float, new: float) -> float:
    """hIoU = 2·old·new / (old + new)."""
    if math.isnan(old) or math.isnan(new):
        return math.nan
    return 0.0 if old + new == 0 else 2 * old * new / (old + new)


def step_scores(cm: Tensor | np.ndarray, old_channels: Sequence[int], new_channels: Sequence[int]) -> dict[str, float]:
    """{"old", "new", "all", "hiou"} mIoU of a confusion matrix for one step's channel split."""
    iou = per_class_iou(cm)
    old = nan_mean(iou[list(old_channels)]) if old_channels else math.nan
    new = nan_mean(iou[list(new_channels)]) if new_channels else math.nan
    return {"old": old, "new": new, "all": nan_mean(iou), "hiou": harmonic_iou(old, new)}


def class_ious(cm: Tensor | np.ndarray, class_ids: Sequence[int]) -> dict[int, float | None]:
    """{stable class id: IoU or None (absent from the ground truth)} for channels in ``class_ids`` order."""
    iou = per_class_iou(cm)
    return {int(cid): (None if math.isnan(v) else float(v)) for cid, v in zip(class_ids, iou)}


def forgetting(current: Mapping[int, float | None], ancestors: Sequence[Mapping[int, float | None]]
               ) -> dict[int, float | None]:
    """Per-class forgetting: best IoU of each class in any ancestor version minus its IoU now."""
    out: dict[int, float | None] = {}
    for cid, now in current.items():
        past = [a[cid] for a in ancestors if a.get(cid) is not None]
        out[cid] = None if cid == 0 or now is None or not past else float(max(past) - now)  # type: ignore[type-var]
    return out
