"""``SetLabeler``: the weight-free pseudo-labeller (no CLIP, no SAM), co-segmenting the tagged set.

Pipeline: every image -> regions (SLIC superpixels + pooled ImageNet encoder features, with the
boundary-connectivity objectness prior) -> per-region evidence that the region is a tagged (new)
class: 1 − the active model's probability of its known classes, or the objectness prior without a
model -> one ``CoSegmenter`` fitted over the whole set (corrected masks included as supervision)
-> per-image probabilities over [background, tags] -> calibrated confidence (``calibration.py``),
labels with unsure pixels (255) at or below ``unsure_below`` (a label no more likely right than wrong
is not shown at the default 0.5). Once masks were accepted or corrected, a
``CorrectionHead`` fitted on their regions alone labels every class it has seen pixels of, smoothed
over each image's region graph (``region_crf.py``; every sample carries its border adjacency); the
co-segmentation is then fitted only when some class has none, and only decides those classes.

Memory: regions are cached by image content in a ``cachetools.LRUCache`` bounded in bytes, so a set
larger than the cache is recomputed in the labelling pass instead of held.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from cachetools import LRUCache

from ..domain.errors import ValidationError
from ..domain.records import BACKGROUND_ID, IGNORE_ID, MAX_CLASS_ID
from .calibration import Calibrator, fit_calibrator
from .coseg import CoSegmenter, RegionSample, logit
from .correction_head import CorrectionHead
from .imagenet_names import PRIOR_IMAGES, name_weight, split_by_names
from .protocols import PseudoMask, TaggedClass, check_image, image_key
from .region_crf import border_adjacency
from .regions import RegionExtractor, Regions

log = logging.getLogger(__name__)


def _region_bytes(regions: Regions) -> int:
    return sum(a.nbytes for a in (regions.segments, regions.features, regions.colour, regions.centroid,
                                  regions.area, regions.objectness, regions.fine, regions.imagenet) if a is not None)


class SetLabeler:
    """Fit on the tagged set (``fit``), then label image by image (``label``).

    Args:
        extractor: image -> ``Regions``.
        unsure_below: calibrated confidence in [0, 1] at or under which a pixel is labelled 255.
        cache_bytes: bound of the region cache.
        description: one human line for the UI/CLI.
    """

    def __init__(self, extractor: RegionExtractor, unsure_below: float = 0.5, cache_bytes: int = 256 * 2**20,
                 description: str = "") -> None:
        self.extractor = extractor
        self.unsure_below = unsure_below
        self.coseg = CoSegmenter()
        self.head = CorrectionHead()
        self.calibrator: Calibrator | None = None
        self._cache: LRUCache = LRUCache(maxsize=cache_bytes, getsizeof=_region_bytes)
        self.description = description or "co-segmentation of the tagged set on encoder regions"
        self.head_options: dict[str, object] = {}  # CorrectionHead keyword arguments (ablations)
        self.coseg_options: dict[str, object] = {}  # CoSegmenter keyword arguments (ablations)
        self.calibration_options: dict[str, object] = {}  # fit_calibrator keyword arguments (ablations)
        self.name_prior_images: int | None = PRIOR_IMAGES  # the name cue's n₀ (None: no shrinkage)
        self.class_names: dict[int, tuple[str, ...]] = {}  # class id -> (name, *prompts): the ImageNet-name cue
        self.tagged_images: dict[int, int] = {}  # class id -> images of the fitted set tagged with it

    @property
    def fitted(self) -> bool:
        return self.coseg.fitted or self.head.fitted

    @property
    def needs_fit(self) -> bool:
        return not self.fitted

    @property
    def sources(self) -> dict[str, str]:
        return {"class_map": self.description, "refiner": "SLIC superpixels (regions of the co-segmentation)"}

    def regions(self, image: np.ndarray) -> Regions:
        """The image's regions (cached by content)."""
        key = image_key(check_image(image))
        found = self._cache.get(key)
        if found is None:
            found = self.extractor(image)
            if _region_bytes(found) <= self._cache.maxsize:
                self._cache[key] = found
        return found

    def sample(self, image: np.ndarray, tags: Sequence[int], known: np.ndarray | None = None,
               corrected: np.ndarray | None = None, class_ids: Sequence[int] = (),
               context: np.ndarray | None = None) -> RegionSample:
        """The co-segmentation's view of one image.

        tags: class ids the image is tagged with; known: H×W probability in [0, 1] of classes the
        active model knows (None without a model); corrected: H×W uint8 class ids of a reviewed mask
        (255 = ignore) or None; class_ids: every class the set is fitted on (label index order);
        context: C×h×w ``ModelEvidence.context`` of the active model (None without a model).
        """
        regions = self.regions(image)
        free = regions.objectness if known is None else 1.0 - np.clip(regions.pool(known), 0.0, 1.0)
        labels = targets = None
        if corrected is not None:
            lut = np.full(256, -1, np.int64)
            lut[BACKGROUND_ID] = 0
            for k, c in enumerate(class_ids):
                lut[int(c)] = 1 + k
            best, share = regions.majority(corrected)
            labels = np.where(share >= 0.5, lut[best], -1)
            targets = regions.label_counts(lut[corrected], 1 + len(class_ids))
        extra = np.stack([logit(free), logit(regions.objectness)], 1)
        pooled = None if context is None else regions.pool_maps(context)
        return RegionSample(regions.features, extra, free.astype(np.float32), tuple(int(t) for t in tags),
                            labels, regions.area, targets, pooled, regions.colour, regions.fine, regions.imagenet,
                            border_adjacency(regions.segments))

    def fit(self, samples: Sequence[RegionSample], class_ids: Sequence[int], seed: int = 0) -> None:
        """Fit the correction head on the reviewed samples (when there are any); the co-segmentation
        and its calibration (cross-fitted on held-out images) when some class has no reviewed pixel."""
        self.head = CorrectionHead(**self.head_options)  # type: ignore[arg-type]
        self.coseg = CoSegmenter(**self.coseg_options)  # type: ignore[arg-type]
        self.calibrator = None
        self.tagged_images = {int(c): sum(int(c) in s.tags for s in samples) for c in class_ids}
        if any(s.targets is not None and s.targets.sum() > 0 for s in samples):
            self.head.fit(samples, class_ids, seed)
            if self.head.seen[1:].all():
                return
        self.coseg.fit(samples, class_ids, seed)
        self.calibrator = fit_calibrator(samples, class_ids, self.coseg, seed,
                                         **self.calibration_options)  # type: ignore[arg-type]

    def _coseg_probabilities(self, s: RegionSample, tags: list[int], regions: Regions) -> np.ndarray:
        """Calibrated co-segmentation probabilities, the foreground split among the tags by their
        ImageNet-name cue when the class names are known (``imagenet_names``)."""
        probs = self.coseg.predict(self.coseg.descriptor(s), s.extra, tags)
        if regions.imagenet is not None and self.class_names:  # before calibration: ρ_c still bounds class c
            weights = [name_weight(self.tagged_images.get(t, 0), self.name_prior_images) for t in tags]
            probs = split_by_names(probs, regions.imagenet, [self.class_names.get(t, ()) for t in tags], weights)
        return probs if self.calibrator is None else self.calibrator(probs, tags)

    def probabilities(self, image: np.ndarray, tags: Sequence[int], known: np.ndarray | None = None,
                      context: np.ndarray | None = None) -> tuple[np.ndarray, Regions]:
        """(1 + len(tags))×R calibrated probabilities over [background, *tags] and the regions
        (``known`` and ``context`` as in ``sample``)."""
        tags = class_ids_of(tags)
        if not self.fitted:
            raise ValidationError("fit the co-segmentation on the tagged images first")
        s = self.sample(image, tags, known, context=context)
        regions = self.regions(image)
        if not self.head.fitted:
            return self._coseg_probabilities(s, tags, regions), regions
        probs = self.head.predict(s, tags)
        unseen = [n for n, t in enumerate(tags) if not self.head.seen[1 + self.head.class_ids.index(t)]]
        if unseen:  # the head's background splits into background and the classes it never saw
            cs = self._coseg_probabilities(s, tags, regions)
            rows = [0] + [1 + n for n in unseen]
            share = cs[rows] / np.maximum(cs[rows].sum(0, keepdims=True), 1e-9)
            probs[rows] = probs[0:1] * share
        return probs, regions

    def label(self, image: np.ndarray, tags: Sequence[int], known: np.ndarray | None = None,
              sources: dict[str, str] | None = None, context: np.ndarray | None = None) -> PseudoMask:
        """Labels (background, tags, 255 unsure) and per-pixel confidence = calibrated probability
        that the pixel's most likely label is right."""
        tags = class_ids_of(tags)
        probs, regions = self.probabilities(image, tags, known, context)
        best = probs.argmax(0)
        conf = probs.max(0).astype(np.float32)
        lut = np.array([BACKGROUND_ID, *tags], dtype=np.uint8)
        proposal = regions.paint(lut[best])
        confidence = regions.paint(conf)
        labels = np.where(confidence <= self.unsure_below, IGNORE_ID, proposal).astype(np.uint8)
        return PseudoMask(labels, confidence, float(confidence.mean()), sources or self.sources, proposal)


def class_ids_of(tags: Sequence[int] | Sequence[TaggedClass]) -> list[int]:
    """Class ids of tags given as ids or as (id, prompts) pairs; distinct ids in 1..254."""
    ids = [int(t[0]) if isinstance(t, (tuple, list)) else int(t) for t in tags]
    if not ids:
        raise ValidationError("pseudo-labelling needs at least one image tag")
    if len(set(ids)) != len(ids) or not all(1 <= c <= MAX_CLASS_ID for c in ids):
        raise ValidationError(f"image tags must be distinct class ids in 1..{MAX_CLASS_ID}, got {ids}")
    return ids
