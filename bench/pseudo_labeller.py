"""The product's labeller as ``bench/pseudo.py`` drives it: built from the same config, fed the same
evidence (``labeling.evidence.model_evidence`` of the base model: its probability of the known classes
and, when corrections are simulated, its features), refitted for each k of corrections."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from incseg_app.domain.config import LabelingConfig
from incseg_app.labeling import build_labeler
from incseg_app.labeling.evidence import model_evidence
from incseg_app.labeling.protocols import PseudoMask
from incseg_app.labeling.protocols import image_key
from incseg_app.labeling.regions import Regions
from incseg_app.labeling.set_labeler import SetLabeler

log = logging.getLogger("bench.pseudo")
HEAD_ABLATIONS: dict[str, dict[str, Any]] = {  # --head-ablation: the correction head without one of its parts
    "none": {}, "no-balance": {"balance": 0.0}, "no-self-training": {"pseudo_threshold": 2.0},
    "no-context": {"use_context": False}, "coarse": {"use_fine": False},
    "no-temperature": {"cross_fit": False}, "balance-1": {"balance": 1.0}, "no-anchors": {"anchors": 0},
    "previous-default": {"balance": 0.75, "anchors": 0},  # the head before tag anchors and balance 0.5
    "no-crf": {"crf": None},  # no region CRF, in the self-training round or at prediction
}
COSEG_ABLATIONS: dict[str, dict[str, Any]] = {  # --coseg-ablation: the k = 0 co-segmentation with one choice changed
    "none": {}, "coarse": {"coseg_options": {"views": ()}}, "top-0.05": {"coseg_options": {"presence_top": 0.05}},
    "no-self-training": {"coseg_options": {"self_training": 2.0}}, "l2-1e-3": {"coseg_options": {"l2": 1e-3}},
    "top-0.2": {"coseg_options": {"presence_top": 0.2}}, "full-name-cue": {"name_prior_images": None},
    "rho-times-p": {"calibration_options": {"rescale": False}}, "no-bound": {"calibration_options": {"bound_z": 0.0}},
    "binned-precision": {"calibration_options": {"binned": True}},
}
REGION_FIELDS = ("segments", "features", "colour", "centroid", "area", "objectness", "image_shape", "fine",
                 "imagenet")


class BenchLabeller:
    """Holds the labeller and each item's model evidence (float16, computed once): the known-class
    probability and the model's features (``ModelEvidence.context``)."""

    def __init__(self, args: argparse.Namespace, class_names: dict[int, str], base: torch.nn.Module | None,
                 old: list[int]) -> None:
        cfg = LabelingConfig(clip_model=args.clip_model, clip_pretrained=args.clip_pretrained,
                             sam_checkpoint=args.sam_checkpoint, sam_model_type=args.sam_model_type)
        if args.unsure_below is not None:
            cfg = LabelingConfig(**{**cfg.__dict__, "unsure_below": args.unsure_below})
        self.labeler = build_labeler(cfg)
        if isinstance(self.labeler, SetLabeler):  # the bench keeps every image's regions for the k loop
            self.labeler = SetLabeler(self.labeler.extractor, self.labeler.unsure_below, 4 * 2**30,
                                      self.labeler.description)
            self.labeler.class_names = {c: (n.replace("_", " "),) for c, n in class_names.items()}
            self.labeler.head_options = dict(HEAD_ABLATIONS[args.head_ablation])
            for name, value in COSEG_ABLATIONS[args.coseg_ablation].items():
                setattr(self.labeler, name, value)
        self.names = class_names
        self.base = base
        self.seed = args.seed
        self.with_context = True  # the co-segmentation and the correction head both read the model's context
        self.known: dict[int, np.ndarray] = {}
        self.context: dict[int, np.ndarray] = {}

    @property
    def sources(self) -> dict[str, str]:
        return self.labeler.sources

    def _known(self, item: dict[str, Any]) -> np.ndarray | None:
        if self.base is None:
            return None
        key = id(item)
        if key not in self.known:
            channels = range(1, self.base.num_classes)  # every known class (channel 0 = background)
            evidence = model_evidence(self.base, item["image"], channels, torch.device("cpu"), 480)
            self.known[key] = evidence.known.astype(np.float16)
            if self.with_context:
                self.context[key] = evidence.context
        return self.known[key].astype(np.float32)

    def _context(self, item: dict[str, Any]) -> np.ndarray | None:
        return self.context.get(id(item)) if self.base is not None else None

    def prepare(self, items: list[dict[str, Any]], cache: Path | None = None) -> None:
        """Known-class evidence and regions of every item, kept for the k loop and, when ``cache``
        is given, saved there (npz) so that a rerun on the same data skips the encoder passes."""
        set_labeler = isinstance(self.labeler, SetLabeler)
        if cache is not None and cache.is_file():
            self._load(items, cache)
            return
        for n, item in enumerate(items):
            self._known(item)
            if set_labeler:
                self.labeler.regions(item["image"])
            if n % 50 == 0:
                log.info("prepared %d/%d images", n, len(items))
        if cache is not None and set_labeler:
            self._save(items, cache)

    def _save(self, items: list[dict[str, Any]], path: Path) -> None:
        arrays: dict[str, np.ndarray] = {}
        for n, item in enumerate(items):
            r = self.labeler.regions(item["image"])
            for name in REGION_FIELDS:
                if getattr(r, name) is not None:
                    arrays[f"{n}.{name}"] = np.asarray(getattr(r, name))
            if self.base is not None:
                arrays[f"{n}.known"] = self.known[id(item)]
                if id(item) in self.context:
                    arrays[f"{n}.context"] = self.context[id(item)]
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **arrays)
        log.info("saved prepared regions to %s", path)

    def _load(self, items: list[dict[str, Any]], path: Path) -> None:
        with np.load(path) as data:
            for n, item in enumerate(items):
                fields = {name: data[f"{n}.{name}"] for name in REGION_FIELDS if f"{n}.{name}" in data.files}
                fields["image_shape"] = tuple(int(v) for v in fields["image_shape"])
                self.labeler._cache[image_key(item["image"])] = Regions(**fields)
                if self.base is not None and f"{n}.known" in data:
                    self.known[id(item)] = data[f"{n}.known"]
                if self.base is not None and self.with_context and f"{n}.context" in data:
                    self.context[id(item)] = data[f"{n}.context"]
        log.info("loaded prepared regions from %s", path)

    def fit(self, items: list[dict[str, Any]], tags: list[list[int]], classes: list[int],
            corrected: dict[int, np.ndarray]) -> None:
        if not isinstance(self.labeler, SetLabeler):
            return  # CLIP needs no fitting and does not learn from corrections
        samples = [self.labeler.sample(item["image"], t, self._known(item), corrected.get(i), classes,
                                       self._context(item)) for i, (item, t) in enumerate(zip(items, tags))]
        self.labeler.fit(samples, classes, self.seed)

    def label(self, item: dict[str, Any], tags: list[int]) -> PseudoMask:
        known = self._known(item)
        if isinstance(self.labeler, SetLabeler):
            return self.labeler.label(item["image"], tags, known, context=self._context(item))
        return self.labeler.label(item["image"], [(c, (self.names[c].replace("_", " "),)) for c in tags], known)
