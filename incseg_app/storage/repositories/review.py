"""The review queue as one set-based query: the head revisions that match a filter, in review order,
one page at a time, with the total count (a window function) so a page costs a single query."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, select
from sqlalchemy.orm import Session

from ...domain.enums import MaskKind, ReviewStatus
from ...domain.records import MaskRevision
from ..orm import ImageTagRow, MaskAgreementRow, MaskRow
from .masks import head_ids_subquery, to_mask

STATUS_FILTERS = ("to_review", "accepted", "corrected", "rejected", "reviewed", "all")
ORDERS = ("likely_wrong", "image")


@dataclass(frozen=True)
class QueueRow:
    """A head revision at ``position`` (0-based) of ``total`` matching ones."""

    mask: MaskRevision
    position: int
    total: int
    priority: float  # 0..1, lower = more likely wrong


def _status_clause(status: str) -> ColumnElement[bool] | None:
    todo, accepted = ReviewStatus.TO_REVIEW.value, ReviewStatus.ACCEPTED.value
    return {
        "to_review": MaskRow.status == todo,
        "accepted": and_(MaskRow.status == accepted, MaskRow.kind != MaskKind.CORRECTED.value),
        "corrected": MaskRow.kind == MaskKind.CORRECTED.value,
        "rejected": MaskRow.status == ReviewStatus.REJECTED.value,
        "reviewed": MaskRow.status != todo,
        "all": None,
    }[status]


class ReviewRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def _filtered(self, q: Select, status: str, tag_id: int | None) -> Select:
        """``q`` restricted to head revisions matching the status and tag filters."""
        q = q.where(MaskRow.id.in_(head_ids_subquery()))  # one grouped pass over the (image_id, id) index
        clause = _status_clause(status)
        if clause is not None:
            q = q.where(clause)
        if tag_id is not None:
            q = q.where(exists().where(ImageTagRow.image_id == MaskRow.image_id, ImageTagRow.class_id == tag_id))
        return q

    def _ranked(self, status: str, tag_id: int | None, order: str) -> Select:
        """Narrow rows (id, priority, row number, total) of the filtered queue in review order: the
        window functions sort ids and numbers only, never whole revision rows."""
        drafted = case((MaskRow.kind == MaskKind.PSEUDO.value, func.coalesce(MaskRow.confidence, literal(0.0))),
                       else_=literal(1.0))  # a person's mask (ground truth, correction) is not "likely wrong"
        priority = (drafted * func.coalesce(MaskAgreementRow.agreement, literal(1.0))).label("priority")
        keys = [priority, MaskRow.id] if order == "likely_wrong" else [MaskRow.image_id]
        q = (select(MaskRow.id.label("id"), priority, func.row_number().over(order_by=keys).label("rn"),
                    func.count().over().label("total"))
             .outerjoin(MaskAgreementRow, MaskAgreementRow.mask_id == MaskRow.id))
        return self._filtered(q, status, tag_id).order_by(*keys)

    def _rows(self, ranked: Select) -> list[QueueRow]:
        sub = ranked.subquery()
        q = select(MaskRow, sub.c.priority, sub.c.rn, sub.c.total).join(sub, sub.c.id == MaskRow.id).order_by(sub.c.rn)
        return [QueueRow(to_mask(r[0]), int(r.rn) - 1, int(r.total), float(r.priority)) for r in self.s.execute(q)]

    def page(self, status: str, tag_id: int | None, order: str, position: int, size: int = 1) -> list[QueueRow]:
        """``size`` rows from ``position`` on (fewer at the end of the queue)."""
        return self._rows(self._ranked(status, tag_id, order).offset(max(position, 0)).limit(size))

    def count(self, status: str, tag_id: int | None) -> int:
        """How many head revisions match (the queue's length)."""
        return int(self.s.scalar(self._filtered(select(func.count()).select_from(MaskRow), status, tag_id)) or 0)

    def find(self, status: str, tag_id: int | None, order: str, mask_id: int) -> QueueRow | None:
        """Where ``mask_id`` sits in the filtered queue (None when it does not match the filter)."""
        sub = self._ranked(status, tag_id, order).subquery()
        rows = self._rows(select(sub).where(sub.c.id == mask_id))
        return rows[0] if rows else None

    def set_agreement(self, scores: Sequence[tuple[int, float]], version_id: int) -> None:
        """Store (mask id, agreement in 0..1) pairs measured against ``version_id``."""
        for mask_id, agreement in scores:
            row = self.s.get(MaskAgreementRow, mask_id)
            if row is None:
                self.s.add(MaskAgreementRow(mask_id=mask_id, version_id=version_id, agreement=float(agreement)))
            else:
                row.version_id, row.agreement = version_id, float(agreement)
        self.s.flush()

    def agreement(self, mask_id: int) -> float | None:
        row = self.s.get(MaskAgreementRow, mask_id)
        return None if row is None else float(row.agreement)
