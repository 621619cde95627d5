"""Evaluate a version on the store's validation images and store its per-class metrics.

Forgetting compares like with like: an ancestor's IoU counts only when it was measured on the same
validation images (same fingerprint of image and mask revision ids); otherwise the ancestor is
re-evaluated on the current images first.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..domain.enums import Split, VersionStatus
from ..domain.records import ClassMetric, ModelVersion
from ..training.metrics import class_ious, forgetting
from ..training.evaluate import evaluate
from ..training.step import select_device
from . import versions
from .context import AppContext
from .features import feature_cache
from .store_data import StoreDataset, labelled_entries, load_version_model

log = logging.getLogger(__name__)

FINGERPRINT_KEY = "val_fingerprint"


def val_fingerprint(ctx: AppContext, include_drafts: bool = False) -> str:
    """Hash of the validation set: (image id, head mask revision id) pairs with reviewed (accepted)
    masks, plus drafts waiting for review when ``include_drafts``."""
    pairs = sorted((e.image.id, e.mask.id) for e in labelled_entries(ctx, Split.VAL, include_pseudo=include_drafts))
    return hashlib.sha256(repr(pairs).encode()).hexdigest()[:16]


def _measure(ctx: AppContext, model: nn.Module, class_ids: tuple[int, ...],
             should_cancel: Callable[[], bool] | None,
             include_drafts: bool = False) -> tuple[dict[int, float | None], dict[int, int]]:
    entries = labelled_entries(ctx, Split.VAL, include_pseudo=include_drafts)
    if not entries:
        return {}, {}
    device = select_device(ctx.ml.train.device)
    cm = evaluate(model.to(device), StoreDataset(ctx, entries), class_ids, device,
                  max_side=ctx.ml.eval_max_side, should_cancel=should_cancel, feature_cache=feature_cache(ctx))
    gt = cm.sum(1).tolist()
    return class_ious(cm, class_ids), {int(c): int(n) for c, n in zip(class_ids, gt)}


def _ancestor_ious(ctx: AppContext, version: ModelVersion, fingerprint: str,
                   should_cancel: Callable[[], bool] | None, include_drafts: bool) -> list[dict[int, float | None]]:
    out = []
    for anc in versions.ancestors(ctx, version.id):
        if anc.status != VersionStatus.READY:
            continue
        if anc.config.get("eval", {}).get(FINGERPRINT_KEY) == fingerprint:
            out.append({m.class_id: m.iou for m in versions.get_metrics(ctx, anc.id)})
            continue
        model, _ = load_version_model(ctx, anc)
        ious, _ = _measure(ctx, model, anc.class_ids, should_cancel, include_drafts)
        out.append(ious)
    return out


@torch.no_grad()
def evaluate_version(ctx: AppContext, version: ModelVersion, model: nn.Module | None = None,
                     should_cancel: Callable[[], bool] | None = None,
                     include_drafts: bool = False) -> list[ClassMetric]:
    """Measure ``version`` (its own checkpoint unless ``model`` is given) on the current validation
    images, compute per-class forgetting against its ancestors, and store the metrics.

    Only reviewed (accepted) validation masks count unless ``include_drafts``: a draft nobody checked
    is no ground truth, so by default no IoU or forgetting is reported from it.
    """
    if model is None:
        model, _ = load_version_model(ctx, version)
    fingerprint = val_fingerprint(ctx, include_drafts)
    ious, gt = _measure(ctx, model, version.class_ids, should_cancel, include_drafts)
    if not ious:
        log.info("version %d: no validation images, no metrics", version.id)
        return []
    forgot = forgetting(ious, _ancestor_ious(ctx, version, fingerprint, should_cancel, include_drafts))
    rows = [ClassMetric(version.id, cid, None if iou is None else float(np.clip(iou, 0.0, 1.0)), forgot.get(cid),
                        gt.get(cid, 0)) for cid, iou in ious.items()]
    return versions.store_metrics(ctx, version.id, rows)
