"""Weak (tags-only) increments for ``bench/ciss.py``: replace a step's ground truth by pseudo-masks.

The images of an incremental step are tagged with the step's classes they contain (tags derived from
the ground truth), pseudo-labelled by the product's labeller (CLIP+SAM when configured, else the tag
localiser + superpixels), with the parent model's probability of the classes it already knows as
background evidence (WILSON's use of the old model), and handed to training as weak items.
"""
from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from incseg_app.domain.config import LabelingConfig, ModelConfig
from incseg_app.labeling import build_labeler
from incseg_app.models.build import ENCODER_BUILDERS
from incseg_app.training.data import InMemoryDataset, SegDataset
from incseg_app.training.evaluate import predict_probabilities

log = logging.getLogger("bench.weak")


def pseudo_dataset(data: SegDataset, new: list[int], parent: nn.Module | None, parent_ids: tuple[int, ...],
                   names: dict[int, str], labeling: LabelingConfig, model_cfg: ModelConfig,
                   device: torch.device, localizer_epochs: int | None) -> tuple[InMemoryDataset, dict[str, Any]]:
    """Items of ``data`` with their masks replaced by pseudo-masks over ``new`` (+ background, 255)."""
    items = [data[i] for i in range(len(data))]
    tags = [[c for c in new if (item["mask"] == c).any()] for item in items]
    encoder = (lambda: parent.encoder) if parent is not None else (lambda: ENCODER_BUILDERS[model_cfg.encoder](model_cfg))
    labeler = build_labeler(labeling, encoder)
    t0 = time.perf_counter()
    if labeler.needs_fit:
        matrix = np.zeros((len(items), len(new)), dtype=np.float32)
        for n, t in enumerate(tags):
            matrix[n, [new.index(c) for c in t]] = 1
        labeler.fit([it["image"] for it in items], matrix, new, epochs=localizer_epochs)
    fit_s = time.perf_counter() - t0
    known = [ch for ch, cid in enumerate(parent_ids) if cid != 0]
    out, correct, labelled, covered = [], 0, 0, 0
    t1 = time.perf_counter()
    for item, t in zip(items, tags):
        evidence = None
        if parent is not None and known:
            probs = predict_probabilities(parent, item["image"], device, 480)
            evidence = probs[known].sum(0).clamp(0, 1).numpy()
        pm = labeler.label(item["image"], [(c, (names[c].replace("_", " "),)) for c in t], evidence)
        gt = np.where(np.isin(item["mask"], new), item["mask"], 0)
        valid = item["mask"] != 255
        sure = valid & (pm.labels != 255)
        correct += int((pm.labels[sure] == gt[sure]).sum())
        labelled += int(valid.sum())
        covered += int(sure.sum())
        out.append({**item, "mask": pm.labels, "confidence": pm.confidence, "weak": True, "tags": tuple(t)})
    stats = {"sources": labeler.sources, "pixel_accuracy_confident": correct / max(covered, 1),
             "coverage": covered / max(labelled, 1), "localiser_fit_seconds": fit_s,
             "label_seconds": time.perf_counter() - t1, "images": len(items)}
    log.info("pseudo-masks for %s: %s", [names[c] for c in new], stats)
    return InMemoryDataset(out), stats
