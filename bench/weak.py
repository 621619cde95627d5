"""Weak (tags-only) increments for ``bench/ciss.py``: replace a step's ground truth by pseudo-masks.

The images of an incremental step are tagged with the step's classes they contain (tags derived from
the ground truth) and pseudo-labelled by the product's labeller (CLIP+SAM when configured, else the
weight-free co-segmentation of the whole tagged set), with the parent model's probability of the
classes it already knows as evidence (as the product runs it), and handed to training as weak items
with their per-pixel confidence (FMWISS weights its losses by it).
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
from incseg_app.labeling.set_labeler import SetLabeler
from incseg_app.models.build import ENCODER_BUILDERS
from incseg_app.training.data import InMemoryDataset, SegDataset
from incseg_app.training.evaluate import predict_probabilities

log = logging.getLogger("bench.weak")


def pseudo_dataset(data: SegDataset, new: list[int], parent: nn.Module | None, parent_ids: tuple[int, ...],
                   names: dict[int, str], labeling: LabelingConfig, model_cfg: ModelConfig,
                   device: torch.device) -> tuple[InMemoryDataset, dict[str, Any]]:
    """Items of ``data`` with their masks replaced by pseudo-masks over ``new`` (+ background, 255)."""
    items = [data[i] for i in range(len(data))]
    tags = [[c for c in new if (item["mask"] == c).any()] for item in items]
    labeler = build_labeler(labeling, lambda: ENCODER_BUILDERS[model_cfg.encoder](model_cfg))
    known_ch = [ch for ch, cid in enumerate(parent_ids) if cid != 0]

    def known(item: dict[str, Any]) -> np.ndarray | None:
        if parent is None or not known_ch:
            return None
        return predict_probabilities(parent, item["image"], device, 480)[known_ch].sum(0).clamp(0, 1).numpy()

    evidence = [known(item) for item in items]
    t0 = time.perf_counter()
    if isinstance(labeler, SetLabeler):
        labeler.fit([labeler.sample(it["image"], t, e, None, new) for it, t, e in zip(items, tags, evidence)
                     if t], new)
    fit_s = time.perf_counter() - t0
    out, correct, labelled, covered = [], 0, 0, 0
    t1 = time.perf_counter()
    for item, t, e in zip(items, tags, evidence):
        if not t:
            continue
        pm = labeler.label(item["image"], [(c, (names[c].replace("_", " "),)) for c in t], e)
        gt = np.where(np.isin(item["mask"], new), item["mask"], 0)
        valid = item["mask"] != 255
        sure = valid & (pm.labels != 255)
        correct += int((pm.labels[sure] == gt[sure]).sum())
        labelled += int(valid.sum())
        covered += int(sure.sum())
        out.append({**item, "mask": pm.labels, "confidence": pm.confidence, "weak": True, "tags": tuple(t)})
    stats = {"sources": labeler.sources, "pixel_accuracy_confident": correct / max(covered, 1),
             "coverage": covered / max(labelled, 1), "fit_seconds": fit_s,
             "label_seconds": time.perf_counter() - t1, "images": len(out)}
    log.info("pseudo-masks for %s: %s", [names[c] for c in new], stats)
    return InMemoryDataset(out), stats
