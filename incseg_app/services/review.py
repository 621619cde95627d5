"""The review flow: a filtered queue in "most likely wrong" order read one item per query, decisions
that can be undone, reopening reviewed masks, and saving an edited label map as a correction.

Positions are 0-based places in the filtered, ordered queue (the UI shows ``position + 1`` of
``total``). A decision changes the status of the image's head revision in place (accept, reject,
reopen = back to "to review"); a save adds a new CORRECTED, ACCEPTED revision and never overwrites
one. Every change returns a ``Decision`` that ``undo`` reverses while nobody has changed the mask
since. Pixels follow ``domain/records.py``: H×W uint8 class ids, 0 background, 255 unsure.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from ..domain.enums import MaskKind, ReviewStatus
from ..domain.errors import ConflictError, NotFoundError, ValidationError
from ..domain.records import ImageRecord, MaskRevision
from ..storage.repositories import ClassRepo, ImageRepo, MaskRepo, QueueRow, ReviewRepo
from ..storage.repositories.review import ORDERS, STATUS_FILTERS
from . import masks
from .context import AppContext
from .imageio import decode_mask

log = logging.getLogger(__name__)

__all__ = ["ORDERS", "STATUS_FILTERS", "Decision", "QueueFilter", "QueueItem", "decide", "item_for", "locate",
           "matches", "queue_item", "reopen", "save_edit", "undo", "waiting_count"]


@dataclass(frozen=True)
class QueueFilter:
    """Which head revisions the queue shows and in which order.

    ``status``: one of ``STATUS_FILTERS`` ("to_review", "accepted" = accepted as drafted, "corrected",
    "rejected", "reviewed" = anything but to_review, "all"); ``tag``: only images tagged with this class
    name; ``order``: "likely_wrong" (lowest confidence × agreement with the model first) or "image".
    """

    status: str = "to_review"
    tag: str | None = None
    order: str = "likely_wrong"

    def validate(self) -> None:
        if self.status not in STATUS_FILTERS:
            raise ValidationError(f"unknown status filter {self.status!r}; use one of {', '.join(STATUS_FILTERS)}")
        if self.order not in ORDERS:
            raise ValidationError(f"unknown order {self.order!r}; use one of {', '.join(ORDERS)}")


@dataclass(frozen=True)
class QueueItem:
    """One queue entry: the head revision, its image, where it sits and what comes next."""

    mask: MaskRevision
    image: ImageRecord
    position: int
    total: int
    priority: float
    upcoming: tuple[int, ...] = ()  # image ids of the next entries (for prefetching)


@dataclass(frozen=True)
class Decision:
    """A change ``undo`` can reverse: a status change of ``mask_id`` (``kind`` "status") or a saved
    correction ``mask_id`` whose parent was ``parent_id`` (``kind`` "save")."""

    kind: str
    mask_id: int
    before: ReviewStatus
    after: ReviewStatus
    parent_id: int | None = None

    def to_dict(self) -> dict:
        return {**asdict(self), "before": self.before.value, "after": self.after.value}

    @classmethod
    def from_dict(cls, data: dict) -> "Decision":
        return cls(str(data["kind"]), int(data["mask_id"]), ReviewStatus(data["before"]), ReviewStatus(data["after"]),
                   None if data.get("parent_id") is None else int(data["parent_id"]))


def _tag_id(repo: ClassRepo, tag: str | None) -> int | None:
    if not tag:
        return None
    found = repo.get_by_name(tag)
    if found is None:
        raise ValidationError(f"unknown tag {tag!r}")
    return found.id


def _item(s, rows: list[QueueRow]) -> QueueItem | None:
    if not rows:
        return None
    first = rows[0]
    image = ImageRepo(s).get(first.mask.image_id)
    if image is None:
        raise NotFoundError(f"no image with id {first.mask.image_id}")
    return QueueItem(first.mask, image, first.position, first.total, first.priority,
                     tuple(r.mask.image_id for r in rows[1:]))


def queue_item(ctx: AppContext, filt: QueueFilter, position: int, lookahead: int = 2) -> QueueItem | None:
    """The entry at ``position`` (clamped to the queue; None when the queue is empty) with the image
    ids of the ``lookahead`` entries after it. One query (two when ``position`` is past the end)."""
    filt.validate()
    with ctx.unit_of_work() as s:
        repo, tag_id = ReviewRepo(s), _tag_id(ClassRepo(s), filt.tag)
        rows = repo.page(filt.status, tag_id, filt.order, max(position, 0), 1 + lookahead)
        if not rows and position > 0:
            total = repo.count(filt.status, tag_id)
            rows = repo.page(filt.status, tag_id, filt.order, total - 1, 1) if total else []
        return _item(s, rows)


def locate(ctx: AppContext, filt: QueueFilter, mask_id: int) -> QueueItem | None:
    """The entry of revision ``mask_id`` if it matches ``filt`` (None otherwise)."""
    filt.validate()
    with ctx.unit_of_work() as s:
        row = ReviewRepo(s).find(filt.status, _tag_id(ClassRepo(s), filt.tag), filt.order, mask_id)
        return _item(s, [row] if row else [])


def item_for(ctx: AppContext, filt: QueueFilter, mask_id: int) -> QueueItem:
    """The entry of revision ``mask_id``: where it sits in ``filt``'s queue, or position -1 when it does
    not match the filter (an item shown after undoing a decision, say)."""
    found = locate(ctx, filt, mask_id)
    if found is not None:
        return found
    with ctx.unit_of_work() as s:
        rev = MaskRepo(s).get(mask_id)
        if rev is None:
            raise NotFoundError(f"no mask revision with id {mask_id}")
        image = ImageRepo(s).get(rev.image_id)
        total = ReviewRepo(s).count(filt.status, _tag_id(ClassRepo(s), filt.tag))
    if image is None:
        raise NotFoundError(f"no image with id {rev.image_id}")
    return QueueItem(rev, image, -1, total, rev.confidence or 0.0)


def waiting_count(ctx: AppContext, tag: str | None = None) -> int:
    """How many head revisions wait for review."""
    with ctx.unit_of_work() as s:
        return ReviewRepo(s).count("to_review", _tag_id(ClassRepo(s), tag))


def matches(filt: QueueFilter, rev: MaskRevision) -> bool:
    """Whether ``rev`` (a head revision) belongs to the queue of ``filt`` (the tag is not checked)."""
    corrected = rev.kind == MaskKind.CORRECTED
    return {"to_review": rev.status == ReviewStatus.TO_REVIEW,
            "accepted": rev.status == ReviewStatus.ACCEPTED and not corrected,
            "corrected": corrected, "rejected": rev.status == ReviewStatus.REJECTED,
            "reviewed": rev.status != ReviewStatus.TO_REVIEW, "all": True}[filt.status]


def decide(ctx: AppContext, mask_id: int, status: ReviewStatus) -> Decision:
    """Set the status of the head revision ``mask_id`` (accept, reject, or reopen with TO_REVIEW)."""
    before = masks.get_mask(ctx, mask_id).status
    after = masks.set_review_status(ctx, mask_id, ReviewStatus(status)).status
    return Decision("status", mask_id, before, after)


def reopen(ctx: AppContext, mask_id: int) -> Decision:
    """Put a reviewed mask back in the queue ("to review"); its pixels and history stay."""
    if masks.get_mask(ctx, mask_id).status == ReviewStatus.TO_REVIEW:
        raise ValidationError(f"revision {mask_id} already waits for review")
    return decide(ctx, mask_id, ReviewStatus.TO_REVIEW)


def save_edit(ctx: AppContext, image_id: int, parent_id: int, png: bytes, author: str = "web") -> Decision:
    """Store an edited label map (a grey PNG whose pixel values are class ids) as a new CORRECTED,
    ACCEPTED revision of ``image_id`` on top of ``parent_id`` (ConflictError when the image changed
    since). A map equal to its parent is refused: an unchanged draft is never saved as corrected."""
    limits = ctx.settings
    edited = decode_mask(png, f"edited mask of image {image_id}", limits.max_file_bytes, limits.max_pixels)
    parent = masks.get_mask(ctx, parent_id)
    if parent.image_id != image_id:
        raise ValidationError(f"revision {parent_id} belongs to image {parent.image_id}, not {image_id}")
    original = masks.read_mask(ctx, parent_id)
    if edited.shape == original.shape and np.array_equal(edited, original):
        raise ValidationError("nothing was changed, so there is no correction to save; press Accept to accept the "
                              "draft as it is")
    rev = masks.save_mask(ctx, image_id, edited, MaskKind.CORRECTED, ReviewStatus.ACCEPTED,
                          expected_parent_id=parent_id, author=author, source="mask editor")
    return Decision("save", rev.id, parent.status, rev.status, parent_id)


def undo(ctx: AppContext, decision: Decision) -> MaskRevision:
    """Reverse ``decision`` and return the head revision to show.

    A status change is reverted in place; a saved correction is reverted by a new revision with its
    parent's pixels, confidence, kind and status (the correction stays in the history). Refused
    (ConflictError) when the mask was changed since the decision.
    """
    with ctx.unit_of_work() as s:
        head = MaskRepo(s).get(decision.mask_id)
        newest = MaskRepo(s).head(head.image_id) if head else None
    if head is None or newest is None or newest.id != head.id or head.status != decision.after:
        raise ConflictError(f"revision {decision.mask_id} was changed since; undo is no longer possible")
    if decision.kind == "status":
        return masks.set_review_status(ctx, decision.mask_id, decision.before)
    if decision.parent_id is None:
        raise ValidationError("a saved correction without its parent revision cannot be undone")
    parent = masks.get_mask(ctx, decision.parent_id)
    return masks.save_mask(ctx, head.image_id, masks.read_mask(ctx, parent.id), parent.kind, decision.before,
                           expected_parent_id=head.id, author=head.author, confidence=parent.confidence,
                           source=f"undo of revision {head.id}", confidence_map=masks.read_confidence(ctx, parent.id))
