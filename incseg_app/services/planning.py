"""Plan a class step (parent, new classes, training images) without loading any model code.

Planning is what ``incseg train --dry-run`` and the Train tab show on every click, so it imports
no torch and reads the store with a fixed number of set-based queries (``labelled_entries``), whatever
the number of images. ``training.plan_step`` is the same plan for a method looked up in the
registry; ``plan_step_for`` here takes the method's ``joint`` flag directly.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..domain.enums import MaskKind, ReviewStatus, Split, VersionStatus
from ..domain.errors import ValidationError
from ..domain.records import ModelVersion
from ..storage.repositories import ClassRepo, ImageRepo, MaskRepo
from . import versions
from .context import AppContext
from .store_data import TRAINABLE, Entry, labelled_entries

# Methods whose registry entry (``methods.registry.METHODS``) has ``joint=True``; the registry imports
# torch, so the torch-free dry run reads this copy, which tests/unit/test_planning.py keeps in step.
JOINT_METHODS = frozenset({"joint"})


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


def _parent(ctx: AppContext, parent_version_id: int | None, from_scratch: bool) -> ModelVersion | None:
    if from_scratch:
        return None
    if parent_version_id is None:
        return versions.active_version(ctx)
    parent = versions.get_version(ctx, parent_version_id)
    if parent.status != VersionStatus.READY:
        raise ValidationError(f"version {parent.id} ({parent.name}) is {parent.status.value}; train from a ready version")
    return parent


def _mask_label(e: Entry) -> str:
    if e.mask.kind == MaskKind.PSEUDO:
        return "pseudo (accepted)" if e.mask.status == ReviewStatus.ACCEPTED else "pseudo (to review)"
    return e.mask.kind.value.replace("_", " ")


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
                  from_scratch: bool = False) -> StepPlan:
    """Resolve the parent, the new classes and the training images of a step (nothing is written);
    ``joint``: the method retrains every class (all labelled images are used)."""
    parent = _parent(ctx, parent_version_id, from_scratch)
    parent_ids = parent.class_ids if parent is not None else (0,)
    with ctx.unit_of_work() as s:
        classes = {c.id: c for c in ClassRepo(s).list()}
        tagged_train = ImageRepo(s).tagged_class_ids(Split.TRAIN)
        n_val = MaskRepo(s).count_labelled(Split.VAL, TRAINABLE)
    entries = labelled_entries(ctx, Split.TRAIN, include_pseudo=not accepted_only)
    new = _new_classes(classes, parent, parent_ids, new_class_ids, tagged_train)
    wanted = set(new) | (set(parent_ids[1:]) if joint else set())
    step_entries = tuple(e for e in entries if parent is None or joint or wanted.intersection(e.tag_ids))
    tagged = Counter(t for e in entries for t in e.tag_ids)
    warnings = [f"class {classes[cid].name!r} has no training image with a usable mask" for cid in new
                if tagged[cid] == 0]
    if n_val == 0:
        warnings.append("no validation images with accepted masks: the version will have no IoU or forgetting "
                        "report (move some labelled images to the val split)")
    pending = sum(1 for e in step_entries if e.mask.status == ReviewStatus.TO_REVIEW)
    if pending:
        warnings.append(f"{pending} pseudo-mask(s) not reviewed yet will be used (tick 'accepted only' to skip them)")
    return StepPlan(parent.id if parent else None, parent.name if parent else None,
                    [classes[c].name for c in parent_ids[1:] if c in classes], [classes[c].name for c in new], new,
                    len(step_entries), n_val, dict(Counter(_mask_label(e) for e in step_entries)), warnings,
                    step_entries)
