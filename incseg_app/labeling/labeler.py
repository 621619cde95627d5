"""``build_labeler``: the front door of pseudo-mask generation (build once, label many).

With CLIP weights, ``PseudoLabeler`` runs per image (FMWISS co-segmentation, Yu et al., CVPR 2023,
Sec. 3.2): class-aware maps of the tagged classes -> peak normalisation (the tags say the classes are
present) -> class-agnostic refinement (SAM when configured, else superpixels) -> fusion into labels +
confidence with unsure pixels at 255. Without CLIP weights, ``SetLabeler`` (``set_labeler.py``)
co-segments the whole tagged set. Configured weights that cannot be loaded raise
``WeightsUnavailableError`` (never a silent fallback); ``sources`` says which parts ran.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from torch import nn

from ..domain.config import LabelingConfig
from ..domain.errors import ValidationError, WeightsUnavailableError
from ..domain.records import MAX_CLASS_ID
from .clip_scorer import ClipScorer, looks_like_file
from .fusion import fuse, normalise_present
from .protocols import ClassMapSource, Click, PseudoMask, Refiner, TaggedClass, check_image
from .imagenet_prior import ImageNetObjectness
from .regions import RegionExtractor
from .sam_refiner import SamRefiner
from .set_labeler import SetLabeler
from .superpixels import SuperpixelRefiner

log = logging.getLogger(__name__)

EncoderFactory = Callable[[], nn.Module]
NO_CLIP = "no CLIP weights configured"
NO_SAM = "no SAM checkpoint configured"


def default_encoder() -> nn.Module:
    """The product's default frozen encoder: EfficientNet-Lite0 with its ImageNet weights."""
    from ..domain.config import ModelConfig
    from ..models.build import ENCODER_BUILDERS

    return ENCODER_BUILDERS["efficientnet_lite0"](ModelConfig())


class PseudoLabeler:
    """Turns an image and its tags into a ``PseudoMask``; owns the sources and their caches.

    Args:
        class_maps: the class-aware source (``ClipScorer``).
        refiner: the class-agnostic source (``SamRefiner`` or ``SuperpixelRefiner``).
        unsure_below: confidence in [0, 1] under which a pixel is labelled 255.
    """

    def __init__(self, class_maps: ClassMapSource, refiner: Refiner, unsure_below: float = 0.4) -> None:
        self.class_maps = class_maps
        self.refiner = refiner
        self.unsure_below = unsure_below

    @property
    def sources(self) -> dict[str, str]:
        """Which source fills each role, in words, e.g. {"class_map": ..., "refiner": ...}."""
        return {"class_map": self.class_maps.description, "refiner": self.refiner.description}

    @property
    def needs_fit(self) -> bool:
        """CLIP needs no fitting on the tagged set (``SetLabeler`` does)."""
        return False

    def label(self, image: np.ndarray, tags: Sequence[TaggedClass], background: np.ndarray | None = None) -> PseudoMask:
        """image H×W×3 uint8, tags [(class id, prompts)] -> labels/confidence over the tagged classes.

        background: optional H×W evidence in [0, 1] that a pixel is none of the tagged classes (e.g.
        the current model's probability of an already-learnt class), passed to ``fuse``."""
        check_image(image)
        class_ids = [int(c) for c, _ in tags]
        if not class_ids:
            raise ValidationError("pseudo-labelling needs at least one image tag")
        if len(set(class_ids)) != len(class_ids) or not all(1 <= c <= MAX_CLASS_ID for c in class_ids):
            raise ValidationError(f"image tags must be distinct class ids in 1..{MAX_CLASS_ID}, got {class_ids}")
        maps = normalise_present(self.class_maps(image, tags))
        scores = self.refiner.refine(image, maps)
        labels, confidence = fuse(scores, class_ids, self.unsure_below, background)
        return PseudoMask(labels, confidence, float(confidence.mean()), self.sources)

    def refine_click(self, image: np.ndarray, mask: np.ndarray, class_id: int, points: Sequence[Click]) -> np.ndarray:
        """Click-to-refine: positive/negative points (x, y, positive) edit ``class_id`` in a copy of
        ``mask`` (H×W uint8); SAM point prompts when SAM is configured, superpixels otherwise."""
        check_image(image)
        if mask.shape != image.shape[:2]:
            raise ValidationError(f"mask {mask.shape[1]}×{mask.shape[0]} does not match image "
                                  f"{image.shape[1]}×{image.shape[0]}")
        return self.refiner.click(image, mask, class_id, points)


def _check_configured_files(cfg: LabelingConfig) -> None:
    """Fail fast, before any model is built, when a configured weight file is missing."""
    if cfg.clip_pretrained and looks_like_file(cfg.clip_pretrained) and not os.path.isfile(cfg.clip_pretrained):
        raise WeightsUnavailableError(f"CLIP weights file {cfg.clip_pretrained} does not exist; fix "
                                      "--clip-pretrained or leave it empty to use the co-segmentation fallback")
    if cfg.sam_checkpoint and not os.path.isfile(cfg.sam_checkpoint):
        raise WeightsUnavailableError(f"SAM checkpoint {cfg.sam_checkpoint} does not exist; fix --sam-checkpoint "
                                      "or leave it empty to use the superpixel fallback")


def build_set_labeler(cfg: LabelingConfig, encoder_factory: EncoderFactory | None = None) -> SetLabeler:
    """The weight-free labeller: co-segmentation of the tagged set on the encoder's regions."""
    encoder = (encoder_factory or default_encoder)()
    imagenet = ImageNetObjectness.from_file() if hasattr(encoder, "taps") else None
    return SetLabeler(RegionExtractor(encoder, imagenet=imagenet), cfg.unsure_below,
                      description=f"co-segmentation of the tagged set on {type(encoder).__name__} regions "
                                  f"(SLIC superpixels; {NO_CLIP})")


def build_refiner(cfg: LabelingConfig, sam_builders: Mapping[str, Callable[..., nn.Module]] | None = None) -> Refiner:
    """``SamRefiner`` when ``cfg.sam_checkpoint`` is set (errors propagate), else superpixels."""
    if cfg.sam_checkpoint:
        return SamRefiner.from_checkpoint(cfg.sam_checkpoint, cfg.sam_model_type, sam_builders)
    return SuperpixelRefiner(cfg.superpixels, reason=NO_SAM)


def build_labeler(cfg: LabelingConfig, encoder_factory: EncoderFactory | None = None,
                  sam_builders: Mapping[str, Callable[..., nn.Module]] | None = None) -> PseudoLabeler | SetLabeler:
    """A ``PseudoLabeler`` for ``cfg``.

    Args:
        cfg: weight locations and fallback settings.
        encoder_factory: returns the frozen encoder for the tag localiser (the current model's
            ``encoder``); default: EfficientNet-Lite0 with ImageNet weights. Unused with CLIP.
        sam_builders: SAM builders by model type (default ``segment_anything.sam_model_registry``).
    Raises:
        WeightsUnavailableError: configured CLIP/SAM weights are missing or unreadable.
    """
    _check_configured_files(cfg)
    if not cfg.clip_pretrained:
        labeler: PseudoLabeler | SetLabeler = build_set_labeler(cfg, encoder_factory)
    else:
        labeler = PseudoLabeler(ClipScorer.from_config(cfg.clip_model, cfg.clip_pretrained),
                                build_refiner(cfg, sam_builders), cfg.unsure_below)
    log.info("pseudo-labeler sources: %s", labeler.sources)
    return labeler
