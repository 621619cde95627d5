"""Pseudo-labelling through the store: which weights run, the labelling job, click-to-refine.

``pseudo_label`` labels every image (train or val) that has tags and no mask yet (or, on request, whose
pseudo-mask was rejected), writing ``pseudo`` revisions in ``to_review`` status with their mean
confidence; images are committed one by one, so a cancelled or interrupted job resumes where it
stopped. Without CLIP weights the class maps come from a WILSON-style tag localiser trained here on
the store's tagged images, on the active version's encoder (or the configured pretrained encoder).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from torch import nn

from ..domain.config import ModelConfig
from ..domain.enums import JobKind, MaskKind, ReviewStatus, Split
from ..domain.errors import NotFoundError, ValidationError
from ..domain.records import Job
from ..labeling import build_labeler, describe_weights
from ..labeling.labeler import PseudoLabeler, build_refiner
from ..models.build import ENCODER_BUILDERS
from . import masks as mask_service
from . import versions
from .classes import list_classes
from .context import AppContext
from .images import get_image, list_images, read_image
from .runner import JobControl, Launcher
from ..training.evaluate import predict_probabilities
from ..training.step import select_device
from .store_data import load_version_model

log = logging.getLogger(__name__)


def weight_status(ctx: AppContext) -> list[str]:
    """What CLIP/SAM weights are configured, what is missing, what the fallback does, how to add them."""
    return describe_weights(ctx.ml.labeling)


def _encoder_factory(ctx: AppContext):
    """The localiser's frozen encoder: the active version's (it knows this store's images) or a fresh
    one of the configured kind (EfficientNet-Lite0 with ImageNet weights by default)."""
    def build() -> nn.Module:
        active = versions.active_version(ctx)
        if active is not None and active.checkpoint_sha256:
            model, _ = load_version_model(ctx, active)
            return model.encoder
        cfg: ModelConfig = ctx.ml.model
        return ENCODER_BUILDERS[cfg.encoder](cfg)
    return build


def _targets(ctx: AppContext, redo_rejected: bool) -> list[int]:
    heads = mask_service.head_masks(ctx)
    out = []
    for image in list_images(ctx):
        head = heads.get(image.id)
        if not image.tags:
            continue
        if head is None or (redo_rejected and head.kind == MaskKind.PSEUDO and head.status == ReviewStatus.REJECTED):
            out.append(image.id)
    return out


def _fit(ctx: AppContext, labeler: PseudoLabeler, control: JobControl | None) -> None:
    """Train the tag localiser on every tagged train image (no-op with CLIP)."""
    if not labeler.needs_fit:
        return
    ids = {c.name: c.id for c in list_classes(ctx)}
    tagged = [im for im in list_images(ctx, split=Split.TRAIN) if im.tags]
    class_ids = sorted({ids[t] for im in tagged for t in im.tags if t in ids})
    if not class_ids:
        raise ValidationError("no tagged training images: tag images with their classes first")
    if control is not None:
        control.progress(0.02, f"training the tag localiser on {len(tagged)} tagged image(s)")
    tags = np.zeros((len(tagged), len(class_ids)), dtype=np.float32)
    col = {c: k for k, c in enumerate(class_ids)}
    for n, im in enumerate(tagged):
        for t in im.tags:
            if t in ids:
                tags[n, col[ids[t]]] = 1.0
    images = [read_image(ctx, im.id) for im in tagged]
    labeler.fit(images, tags, class_ids, epochs=ctx.ml.localizer_epochs)


def pseudo_label(ctx: AppContext, control: JobControl | None = None, redo_rejected: bool = False) -> dict:
    """Label the tagged images that have no mask; returns counts and which sources ran."""
    targets = _targets(ctx, redo_rejected)
    labeler = build_labeler(ctx.ml.labeling, _encoder_factory(ctx))
    if not targets:
        return {"labelled": 0, "sources": labeler.sources, "message": "no tagged image without a mask"}
    _fit(ctx, labeler, control)
    prompts = {c.name: (c.id, c.prompts or (c.name,)) for c in list_classes(ctx)}
    done = 0
    for n, image_id in enumerate(targets):
        if control is not None:
            control.check_cancel()
            control.progress(0.1 + 0.9 * n / len(targets), f"pseudo-labelling image {n + 1}/{len(targets)}")
        tags = [prompts[t] for t in get_image(ctx, image_id).tags if t in prompts]
        if not tags:
            continue
        image = read_image(ctx, image_id)
        result = labeler.label(image, tags, _known_background(ctx, image, {cid for cid, _ in tags}))
        head = mask_service.head_mask(ctx, image_id)
        mask_service.save_mask(ctx, image_id, result.labels, MaskKind.PSEUDO, ReviewStatus.TO_REVIEW,
                               expected_parent_id=head.id if head else None, author="pseudo-labeller",
                               confidence=float(np.clip(result.mean_confidence, 0.0, 1.0)),
                               source=" + ".join(result.sources.values()))
        done += 1
    return {"labelled": done, "sources": labeler.sources}


def _known_background(ctx: AppContext, image: np.ndarray, tagged: set[int]) -> np.ndarray | None:
    """H×W evidence in [0, 1] that a pixel is none of the tagged classes: the active version's
    probability of the classes it already knows that the image is not tagged with (WILSON, Cermelli
    et al. CVPR 2022, Sec. 3.2, uses the old model to tell the localiser where background is)."""
    active = versions.active_version(ctx)
    if active is None or not active.checkpoint_sha256:
        return None
    model, ckpt = load_version_model(ctx, active)
    known = [ch for ch, cid in enumerate(ckpt.class_ids) if cid != 0 and cid not in tagged]
    if not known:
        return None
    probs = predict_probabilities(model, image, select_device(ctx.ml.train.device), ctx.ml.eval_max_side)
    return probs[known].sum(0).clamp(0, 1).numpy()


def start_pseudo_labeling(ctx: AppContext, runner: Launcher, redo_rejected: bool = False) -> Job:
    """Label in a background job (one labelling job per store at a time; a thread with ``JobRunner``, a
    child process with ``ProcessJobRunner``); a missing configured weight file fails the job with a
    message naming the file."""
    return runner.launch(JobKind.PSEUDO_LABEL, {"redo_rejected": redo_rejected}, exclusive=True)


def refine_click(ctx: AppContext, image_id: int, mask: np.ndarray, class_id: int,
                 points: Sequence[tuple[float, float, bool]]) -> np.ndarray:
    """Click-to-refine on a mask being edited: SAM point prompts when SAM weights are configured,
    the superpixels under the clicks otherwise. Returns the new H×W uint8 mask (nothing is saved)."""
    if not points:
        raise ValidationError("click on the image first (a positive or negative point)")
    if class_id not in {c.id for c in list_classes(ctx)}:
        raise NotFoundError(f"no class with id {class_id}")
    image = read_image(ctx, image_id)
    return _click_labeler(ctx).refine_click(image, np.asarray(mask, dtype=np.uint8), class_id, points)


_CLICK_LABELERS: dict[object, PseudoLabeler] = {}


def _click_labeler(ctx: AppContext) -> PseudoLabeler:
    """A labeler with only a refiner, cached per labelling config (SAM keeps its image embeddings)."""
    key = ctx.ml.labeling
    if key not in _CLICK_LABELERS:
        _CLICK_LABELERS[key] = PseudoLabeler(class_maps=None, refiner=build_refiner(key))  # type: ignore[arg-type]
    return _CLICK_LABELERS[key]
