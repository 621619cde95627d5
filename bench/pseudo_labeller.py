"""The product's labeller as ``bench/pseudo.py`` drives it: built from the same config, fed the same
evidence (the base model's probability of its known classes), refitted for each k of corrections."""
from __future__ import annotations

import argparse
import logging
from typing import Any

import numpy as np
import torch

from incseg_app.domain.config import LabelingConfig
from incseg_app.labeling import build_labeler
from incseg_app.labeling.protocols import PseudoMask
from incseg_app.labeling.set_labeler import SetLabeler
from incseg_app.training.evaluate import predict_probabilities

log = logging.getLogger("bench.pseudo")


class BenchLabeller:
    """Holds the labeller and each item's known-class evidence (float16, computed once)."""

    def __init__(self, args: argparse.Namespace, class_names: dict[int, str], base: torch.nn.Module | None,
                 old: list[int]) -> None:
        cfg = LabelingConfig(clip_model=args.clip_model, clip_pretrained=args.clip_pretrained,
                             sam_checkpoint=args.sam_checkpoint, sam_model_type=args.sam_model_type)
        if args.unsure_below is not None:
            cfg = LabelingConfig(**{**cfg.__dict__, "unsure_below": args.unsure_below})
        self.labeler = build_labeler(cfg)
        self.names = class_names
        self.base = base
        self.seed = args.seed
        self.known: dict[int, np.ndarray] = {}

    @property
    def sources(self) -> dict[str, str]:
        return self.labeler.sources

    def _known(self, item: dict[str, Any]) -> np.ndarray | None:
        if self.base is None:
            return None
        key = id(item)
        if key not in self.known:
            probs = predict_probabilities(self.base, item["image"], torch.device("cpu"), 480)
            self.known[key] = probs[1:].sum(0).clamp(0, 1).numpy().astype(np.float16)
        return self.known[key].astype(np.float32)

    def prepare(self, items: list[dict[str, Any]], tags: list[list[int]]) -> None:
        """Known-class evidence and regions of every item (both cached for the k loop)."""
        for n, item in enumerate(items):
            self._known(item)
            if isinstance(self.labeler, SetLabeler):
                self.labeler.regions(item["image"])
            if n % 50 == 0:
                log.info("prepared %d/%d images", n, len(items))

    def fit(self, items: list[dict[str, Any]], tags: list[list[int]], classes: list[int],
            corrected: dict[int, np.ndarray]) -> None:
        if not isinstance(self.labeler, SetLabeler):
            return  # CLIP needs no fitting and does not learn from corrections
        samples = [self.labeler.sample(item["image"], t, self._known(item), corrected.get(i), classes)
                   for i, (item, t) in enumerate(zip(items, tags))]
        self.labeler.fit(samples, classes, self.seed)

    def label(self, item: dict[str, Any], tags: list[int]) -> PseudoMask:
        known = self._known(item)
        if isinstance(self.labeler, SetLabeler):
            return self.labeler.label(item["image"], tags, known)
        return self.labeler.label(item["image"], [(c, (self.names[c].replace("_", " "),)) for c in tags], known)
