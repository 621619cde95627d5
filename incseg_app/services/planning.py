"""Plan a class step (parent, new classes, training images) without loading any model code.

Planning is what ``incseg train --dry-run`` and the Train tab show on every click, so it imports
no torch and reads the store with a handful of grouped queries, whatever the number of images: the
counts come from SQL, and the list of training entries (40,000 records at 50,000 images) is read only
when a step is about to train (``with_entries``). ``training.plan_step`` is the same plan for a
method looked up in the registry; ``plan_step_for`` here takes the method's ``joint`` flag directly.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..domain.enums import MaskKind, ReviewStatus, Split, VersionStatus
from ..domain.errors import ValidationError
from ..domain.records import ModelVersion
from ..storage.repositories import ClassRepo, ImageRepo, MaskRepo
from . import versions
from .context import AppContext
from .store_data import TRAINABLE, WITH_PSEUDO, Entry

# Methods whose registry entry (``methods.registry.METHODS``) has ``joint=True``; the registry imports
# torch, so the torch-free dry run reads this copy, which tests/unit/test_planning.py keeps in step.
JOINT_METHODS = frozenset({"joint"})
# The method a new step uses unless the user picks another: the incremental method that kept old
# classes best in the latest measured benchmark (docs/benchmarks.md, CamVid 6-5: mib). Change it here only.
DEFAULT_METHOD = "mib"


@dataclass(frozen=True)
class StepPlan:
    """What will be trained on what, shown before a step starts."""

    parent_version_id: int | None
    parent_name: str | None
    old_classes: list[str]
    new_classes: list[str]
    new_class_ids: tuple[int, ...]
    n_train_images: int
    n_val_images: int
    mask_counts: dict[str, int]
    warnings: list[str]
    entries: tuple[Entry, ...] = ()
    val_counts: dict[str, int] = field(default_factory=dict)  # validation masks by kind ("ground truth", ...)
    val_drafts_skipped: int = 0  # val images whose unreviewed draft does not validate the step
    validate_on_drafts: bool = False


def _parent(ctx: AppContext, parent_version_id: int | None, from_scratch: bool) -> ModelVersion | None:
    if from_scratch:
        return None
    if parent_version_id is None:
        return versions.active_version(ctx)
    parent = versions.get_version(ctx, parent_version_id)
    if parent.status != VersionStatus.READY:
        raise ValidationError(f"version {parent.id} ({parent.name}) is {parent.status.value}; train from a ready version")
    return parent


def _mask_label(kind: MaskKind, status: ReviewStatus) -> str:
    if kind == MaskKind.PSEUDO:
        return "pseudo (accepted)" if status == ReviewStatus.ACCEPTED else "pseudo (to review)"
    return kind.value.replace("_", " ")


def _new_classes(classes: dict, parent: ModelVersion | None, parent_ids: tuple[int, ...],
                 new_class_ids: tuple[int, ...] | list[int] | None, tagged_train: set[int]) -> tuple[int, ...]:
    if new_class_ids is None:
        return tuple(cid for cid, c in sorted(classes.items())
                     if cid not in parent_ids and not c.archived and cid in tagged_train)
    new = tuple(int(c) for c in new_class_ids)
    for cid in new:
        if cid not in classes:
            raise ValidationError(f"unknown class id {cid}")
        if cid in parent_ids:
            raise ValidationError(f"class {classes[cid].name!r} is already learned by version {parent.id}")
        if classes[cid].archived:
            raise ValidationError(f"class {classes[cid].name!r} is archived; unarchive it to train it")
    return new


def plan_step_for(ctx: AppContext, joint: bool, new_class_ids: tuple[int, ...] | list[int] | None = None,
                  accepted_only: bool = False, parent_version_id: int | None = None,
                  from_scratch: bool = False, with_entries: bool = False,
                  validate_on_drafts: bool = False) -> StepPlan:
    """Resolve the parent, the new classes, the training images and the validation masks of a step
    (nothing is written); ``joint``: the method retrains every class (all labelled images are used);
    ``with_entries``: also list the training entries (``StepPlan.entries``), which training needs and a
    preview does not; ``validate_on_drafts``: val images whose draft nobody reviewed validate the step too."""
    parent = _parent(ctx, parent_version_id, from_scratch)
    parent_ids = parent.class_ids if parent is not None else (0,)
    statuses = TRAINABLE if accepted_only else WITH_PSEUDO
    with ctx.unit_of_work() as s:
        classes = {c.id: c for c in ClassRepo(s).list()}
        new = _new_classes(classes, parent, parent_ids, new_class_ids, ImageRepo(s).tagged_class_ids(Split.TRAIN))
        only = None if parent is None or joint else set(new)  # an increment trains on images showing its classes
        masks = MaskRepo(s)
        counts = masks.labelled_summary(Split.TRAIN, statuses, only)
        tagged = masks.labelled_tag_counts(Split.TRAIN, statuses)
        val_summary = masks.labelled_summary(Split.VAL, WITH_PSEUDO)
        entries = tuple(Entry(image, mask, tag_ids) for mask, image, tag_ids in
                        ImageRepo(s).labelled(Split.TRAIN, statuses)
                        if only is None or only.intersection(tag_ids)) if with_entries else ()
    warnings = [f"class {classes[cid].name!r} has no training image with a usable mask" for cid in new
                if not tagged.get(cid)]
    drafts = sum(n for (_, status), n in val_summary.items() if status == ReviewStatus.TO_REVIEW)
    val_used = {key: n for key, n in val_summary.items()
                if validate_on_drafts or key[1] != ReviewStatus.TO_REVIEW}
    n_val = sum(val_used.values())
    if n_val == 0:
        warnings.append("no validation images with reviewed masks: the version will have no IoU or forgetting "
                        "report (review the val drafts, or move some labelled images to the val split)")
    if drafts and not validate_on_drafts:
        warnings.append(f"{drafts} val image(s) have only an unreviewed draft: they do not validate the step (review "
                        "them, or tick 'validate on drafts' to measure on them anyway)")
    pending = sum(n for (_, status), n in counts.items() if status == ReviewStatus.TO_REVIEW)
    if pending:
        warnings.append(f"{pending} pseudo-mask(s) not reviewed yet will be used (tick 'reviewed masks only' to skip them)")
    return StepPlan(parent.id if parent else None, parent.name if parent else None,
                    [classes[c].name for c in parent_ids[1:] if c in classes], [classes[c].name for c in new], new,
                    sum(counts.values()), n_val, _by_label(counts), warnings, entries, _by_label(val_used),
                    0 if validate_on_drafts else drafts, validate_on_drafts)


def _by_label(counts: dict[tuple[MaskKind, ReviewStatus], int]) -> dict[str, int]:
    """Mask counts keyed by what the user reads ("ground truth", "pseudo (accepted)", ...)."""
    out: dict[str, int] = {}
    for (kind, status), n in sorted(counts.items(), key=lambda kv: -kv[1]):
        label = _mask_label(kind, status)
        out[label] = out.get(label, 0) + n
    return out
