"""Pseudo-labelling through the store: which weights run, the labelling jobs, click-to-refine.

``pseudo_label`` labels every image (train or val) that has tags and no mask yet (or, on request, whose
pseudo-mask was rejected), writing ``pseudo`` revisions in ``to_review`` status with their per-pixel
confidence map and its mean (the review queue's "most likely wrong first" score: the expected share
of right pixels); images are committed one by one, so a cancelled or interrupted job resumes where it
stopped. Without CLIP weights the labeller co-segments the whole tagged set (``labeling.SetLabeler``):
it is fitted here on the store's tagged images, the active version's known classes and every mask a
reviewer accepted or corrected. ``relabel_from_corrections`` refits it and relabels the drafts still
to review (never a reviewed mask).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from ..domain.enums import JobKind, MaskKind, ReviewStatus
from ..domain.errors import ConflictError, NotFoundError, ValidationError
from ..domain.records import Job
from ..labeling import build_labeler, describe_weights
from ..labeling.labeler import PseudoLabeler, build_refiner
from ..labeling.set_labeler import SetLabeler
from . import masks as mask_service
from .classes import list_classes
from .context import AppContext
from .images import get_image, list_images, read_image
from .labeling_set import REVIEWED, encoder_factory, fit_set_labeler, known_evidence, localisation_warnings
from .runner import JobControl, Launcher

log = logging.getLogger(__name__)
__all__ = ["localisation_warnings", "pseudo_label", "relabel_from_corrections", "refine_click",
           "start_pseudo_labeling", "start_relabel_from_corrections", "weight_status"]


def weight_status(ctx: AppContext) -> list[str]:
    """What CLIP/SAM weights are configured, what is missing, what the fallback does, how to add them."""
    return describe_weights(ctx.ml.labeling)


def _targets(ctx: AppContext, redo_rejected: bool, drafts: bool) -> list[int]:
    """Tagged images without a mask, plus rejected pseudo-masks (``redo_rejected``) and pseudo-masks
    still to review (``drafts``)."""
    heads = mask_service.head_masks(ctx)
    out = []
    for image in list_images(ctx):
        head = heads.get(image.id)
        if not image.tags:
            continue
        pseudo = head is not None and head.kind == MaskKind.PSEUDO
        if (head is None or (redo_rejected and pseudo and head.status == ReviewStatus.REJECTED)
                or (drafts and pseudo and head.status == ReviewStatus.TO_REVIEW)):
            out.append(image.id)
    return out


def _label_all(ctx: AppContext, labeler: PseudoLabeler | SetLabeler, targets: list[int],
               control: JobControl | None) -> int:
    """Label ``targets`` one by one, each saved (and committed) as a new pseudo revision to review."""
    classes = {c.name: (c.id, c.prompts or (c.name,)) for c in list_classes(ctx)}
    done = 0
    for n, image_id in enumerate(targets):
        if control is not None:
            control.check_cancel()
            control.progress(0.4 + 0.6 * n / len(targets), f"pseudo-labelling image {n + 1}/{len(targets)}")
        head = mask_service.head_mask(ctx, image_id)
        if head is not None and head.status in REVIEWED:
            continue  # a reviewer got there first: never overwrite their mask
        tags = [classes[t] for t in get_image(ctx, image_id).tags if t in classes]
        if not tags:
            continue
        image = read_image(ctx, image_id)
        evidence = known_evidence(ctx, image, {cid for cid, _ in tags})
        known = None if evidence is None else evidence.known
        if isinstance(labeler, SetLabeler):
            result = labeler.label(image, tags, known, context=None if evidence is None else evidence.context)
        else:
            result = labeler.label(image, tags, known)
        try:
            mask_service.save_mask(ctx, image_id, result.labels, MaskKind.PSEUDO, ReviewStatus.TO_REVIEW,
                                   expected_parent_id=head.id if head else None, author="pseudo-labeller",
                                   source=" + ".join(result.sources.values()),
                                   confidence_map=np.clip(result.confidence, 0.0, 1.0))
        except ConflictError:
            log.info("image %d changed while it was being labelled; left as the reviewer saved it", image_id)
            continue
        done += 1
    return done


def pseudo_label(ctx: AppContext, control: JobControl | None = None, redo_rejected: bool = False,
                 from_corrections: bool = False) -> dict:
    """Label the tagged images that have no mask (and rejected ones with ``redo_rejected``; every
    draft still to review with ``from_corrections``); returns counts, sources and localisation warnings."""
    targets = _targets(ctx, redo_rejected, drafts=from_corrections)
    labeler = build_labeler(ctx.ml.labeling, encoder_factory(ctx))
    warnings = localisation_warnings(ctx)
    if not targets:
        return {"labelled": 0, "sources": labeler.sources, "message": "no tagged image without a mask",
                "warnings": warnings}
    fitted = 0
    if isinstance(labeler, SetLabeler):
        fitted = fit_set_labeler(ctx, labeler, control)
    done = _label_all(ctx, labeler, targets, control)
    return {"labelled": done, "sources": labeler.sources, "fitted_on": fitted, "warnings": warnings}


def relabel_from_corrections(ctx: AppContext, control: JobControl | None = None) -> dict:
    """Refit the labeller with every accepted or corrected mask and relabel the drafts still to review."""
    reviewed = [m for m in mask_service.labelled_masks(ctx) if m.status in REVIEWED]
    tagged = {im.id for im in list_images(ctx) if im.tags}
    if not any(m.image_id in tagged for m in reviewed):
        raise ValidationError("no accepted or corrected mask of a tagged image yet: accept or correct a few "
                              "masks first, then relabel the drafts from them")
    return pseudo_label(ctx, control, from_corrections=True)


def start_pseudo_labeling(ctx: AppContext, runner: Launcher, redo_rejected: bool = False) -> Job:
    """Label in a background job (one labelling job per store at a time; a thread with ``JobRunner``, a
    child process with ``ProcessJobRunner``); a missing configured weight file fails the job with a
    message naming the file."""
    return runner.launch(JobKind.PSEUDO_LABEL, {"redo_rejected": redo_rejected}, exclusive=True)


def start_relabel_from_corrections(ctx: AppContext, runner: Launcher) -> Job:
    """``relabel_from_corrections`` as a cancellable background job with progress (refused at once,
    with ``ValidationError``, when nothing has been reviewed yet)."""
    if not any(m.status in REVIEWED for m in mask_service.labelled_masks(ctx)):
        raise ValidationError("no accepted or corrected mask yet: accept or correct a few masks first, then "
                              "relabel the drafts from them")
    return runner.launch(JobKind.PSEUDO_LABEL, {"from_corrections": True}, exclusive=True)


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
