"""What the labeller learns from in a store: the tagged set, the active model's known classes, and the
masks a reviewer accepted or corrected. Used by ``services.labeling``; streams images one by one."""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from torch import nn

from ..domain.config import ModelConfig
from ..domain.enums import ReviewStatus
from ..domain.records import BACKGROUND_ID, IGNORE_ID, ImageRecord, MaskRevision
from ..labeling.calibration import MIN_NEGATIVE_IMAGES
from ..labeling.evidence import ModelEvidence, model_evidence
from ..labeling.set_labeler import SetLabeler
from ..models.build import ENCODER_BUILDERS
from ..training.step import select_device
from . import masks as mask_service
from . import versions
from .classes import list_classes
from .context import AppContext
from .images import list_images, read_image
from .runner import JobControl
from .store_data import load_version_model

log = logging.getLogger(__name__)

REVIEWED = (ReviewStatus.ACCEPTED,)  # a reviewer's word: ground truth, corrected, accepted pseudo-masks


def encoder_factory(ctx: AppContext):
    """The labeller's frozen encoder: the active version's (it knows this store's images) or a fresh
    one of the configured kind (EfficientNet-Lite0 with ImageNet weights by default)."""
    def build() -> nn.Module:
        active = versions.active_version(ctx)
        if active is not None and active.checkpoint_sha256:
            model, _ = load_version_model(ctx, active)
            return model.encoder
        cfg: ModelConfig = ctx.ml.model
        return ENCODER_BUILDERS[cfg.encoder](cfg)
    return build


def known_evidence(ctx: AppContext, image: np.ndarray, tagged: set[int]) -> ModelEvidence | None:
    """The active version's ``ModelEvidence`` of an image (None without a trained version): its
    probability of the known classes the image is not tagged with, and its features."""
    active = versions.active_version(ctx)
    if active is None or not active.checkpoint_sha256:
        return None
    model, ckpt = load_version_model(ctx, active)
    known = [ch for ch, cid in enumerate(ckpt.class_ids) if cid != 0 and cid not in tagged]
    return model_evidence(model, image, known, select_device(ctx.ml.train.device), ctx.ml.eval_max_side)


def known_background(ctx: AppContext, image: np.ndarray, tagged: set[int]) -> np.ndarray | None:
    """H×W evidence in [0, 1] that a pixel is none of the tagged classes (``known_evidence().known``)."""
    evidence = known_evidence(ctx, image, tagged)
    return None if evidence is None else evidence.known


def tag_ids(ctx: AppContext, image: ImageRecord) -> list[int]:
    ids = {c.name: c.id for c in list_classes(ctx)}
    return [ids[t] for t in image.tags if t in ids]


def reviewed_labels(ctx: AppContext, head: MaskRevision | None, class_ids: Sequence[int]) -> np.ndarray | None:
    """A reviewed head mask restricted to ``class_ids`` + background (every other class -> 0,
    255 kept), or None when the head is missing or not reviewed."""
    if head is None or head.status not in REVIEWED:
        return None
    mask = mask_service.read_mask(ctx, head.id)
    keep = np.isin(mask, list(class_ids)) | (mask == IGNORE_ID)
    return np.where(keep, mask, BACKGROUND_ID).astype(np.uint8)


def fit_set_labeler(ctx: AppContext, labeler: SetLabeler, control: JobControl | None, seed: int = 0) -> int:
    """Fit the co-segmentation on the store's tagged images (a seeded random sample of at most
    ``ctx.ml.max_fit_images``, plus every reviewed one); returns the number of images used."""
    heads = mask_service.head_masks(ctx)
    tagged = [im for im in list_images(ctx) if im.tags]
    reviewed = [im for im in tagged if heads.get(im.id) is not None and heads[im.id].status in REVIEWED]
    drafts = [im for im in tagged if im not in reviewed]
    rng = np.random.default_rng(seed)
    room = max(0, ctx.ml.max_fit_images - len(reviewed))
    chosen = reviewed + [drafts[i] for i in sorted(rng.permutation(len(drafts))[:room])]
    class_ids = sorted({c for im in chosen for c in tag_ids(ctx, im)})
    labeler.class_names = {c.id: (c.name, *c.prompts) for c in list_classes(ctx)}
    samples = []
    for n, im in enumerate(chosen):
        if control is not None:
            control.check_cancel()
            control.progress(0.02 + 0.38 * n / len(chosen), f"co-segmentation: reading image {n + 1}/{len(chosen)}")
        tags = tag_ids(ctx, im)
        image = read_image(ctx, im.id)
        evidence = known_evidence(ctx, image, set(tags))
        samples.append(labeler.sample(image, tags, None if evidence is None else evidence.known,
                                      reviewed_labels(ctx, heads.get(im.id), class_ids), class_ids,
                                      None if evidence is None else evidence.context))
    if control is not None:
        control.progress(0.4, f"co-segmentation: fitting on {len(samples)} image(s)")
    labeler.fit(samples, class_ids, seed)
    return len(samples)


def localisation_warnings(ctx: AppContext) -> list[str]:
    """Classes whose tags cannot tell where they are: tagged on (nearly) every tagged image, so no
    or almost no image shows what the class is *not*; each line suggests correcting a few masks."""
    heads = mask_service.head_masks(ctx)
    tagged = [im for im in list_images(ctx) if im.tags]
    lines = []
    for cls in list_classes(ctx):
        with_tag = [im for im in tagged if cls.name in im.tags]
        without = len(tagged) - len(with_tag)
        if not with_tag or without >= MIN_NEGATIVE_IMAGES:
            continue
        corrected = sum(1 for im in with_tag if heads.get(im.id) is not None and heads[im.id].status in REVIEWED)
        if corrected >= MIN_NEGATIVE_IMAGES:
            continue
        lines.append(f"'{cls.name}' is tagged on {len(with_tag)} of {len(tagged)} tagged images"
                     f"{'' if without else ' (every one)'}: tags alone cannot tell where it is, so its drafts stay "
                     f"mostly unsure. Correct {MIN_NEGATIVE_IMAGES - corrected} or more of its masks by hand, then "
                     "relabel the drafts from your corrections.")
    return lines
