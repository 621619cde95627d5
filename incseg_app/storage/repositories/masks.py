"""Mask revisions repository. The *head* of an image is its newest revision (highest id)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ...domain.enums import MaskKind, ReviewStatus, Split
from ...domain.records import MaskRevision
from ..orm import ImageRow, ImageTagRow, MaskClassRow, MaskRow


def head_ids_subquery() -> Select[tuple[int]]:
    """Ids of every image's newest mask revision."""
    return select(func.max(MaskRow.id)).group_by(MaskRow.image_id)


def to_mask(row: MaskRow) -> MaskRevision:
    return MaskRevision(id=row.id, image_id=row.image_id, kind=MaskKind(row.kind),
                        status=ReviewStatus(row.status), sha256=row.sha256, parent_id=row.parent_id,
                        author=row.author, confidence=row.confidence, source=row.source,
                        created_at=row.created_at, confidence_sha256=row.confidence_sha256)


class MaskRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, mask_id: int) -> MaskRevision | None:
        row = self.s.get(MaskRow, mask_id)
        return None if row is None else to_mask(row)

    def head(self, image_id: int) -> MaskRevision | None:
        row = self.s.scalar(select(MaskRow).where(MaskRow.image_id == image_id)
                            .order_by(MaskRow.id.desc()).limit(1))
        return None if row is None else to_mask(row)

    def heads(self, image_ids: Iterable[int] | None = None) -> dict[int, MaskRevision]:
        """Image id -> head revision (only images that have a mask)."""
        q = select(MaskRow).where(MaskRow.id.in_(head_ids_subquery()))
        if image_ids is not None:
            q = q.where(MaskRow.image_id.in_(list(image_ids)))
        return {r.image_id: to_mask(r) for r in self.s.scalars(q)}

    def history(self, image_id: int) -> list[MaskRevision]:
        """Every revision of an image, oldest first."""
        q = select(MaskRow).where(MaskRow.image_id == image_id).order_by(MaskRow.id)
        return [to_mask(r) for r in self.s.scalars(q)]

    def add(self, image_id: int, kind: MaskKind, status: ReviewStatus, sha256: str, parent_id: int | None,
            class_pixels: dict[int, int], author: str = "", confidence: float | None = None,
            source: str = "", confidence_sha256: str | None = None) -> MaskRevision:
        """Insert a revision and its per-class pixel counts (``class_pixels``: class id -> pixels)."""
        row = MaskRow(image_id=image_id, kind=kind.value, status=status.value, sha256=sha256,
                      parent_id=parent_id, author=author, confidence=confidence, source=source,
                      confidence_sha256=confidence_sha256)
        self.s.add(row)
        self.s.flush()
        self.s.add_all(MaskClassRow(mask_id=row.id, class_id=c, pixels=int(n)) for c, n in class_pixels.items())
        self.s.flush()
        return to_mask(row)

    def set_status(self, mask_id: int, status: ReviewStatus) -> MaskRevision:
        row = self.s.get(MaskRow, mask_id)
        if row is None:
            raise KeyError(mask_id)
        row.status = status.value
        self.s.flush()
        return to_mask(row)

    def class_pixels(self, mask_id: int) -> dict[int, int]:
        q = select(MaskClassRow.class_id, MaskClassRow.pixels).where(MaskClassRow.mask_id == mask_id)
        return {int(c): int(n) for c, n in self.s.execute(q)}

    def review_queue(self, limit: int | None = None, tag_id: int | None = None) -> list[MaskRevision]:
        """Head revisions waiting for review, lowest confidence first (unknown confidence first)."""
        q = (select(MaskRow).where(MaskRow.id.in_(head_ids_subquery()),
                                   MaskRow.status == ReviewStatus.TO_REVIEW.value)
             .order_by(MaskRow.confidence.is_not(None), MaskRow.confidence, MaskRow.id))
        if tag_id is not None:
            q = q.join(ImageTagRow, ImageTagRow.image_id == MaskRow.image_id).where(ImageTagRow.class_id == tag_id)
        if limit is not None:
            q = q.limit(limit)
        return [to_mask(r) for r in self.s.scalars(q)]

    def labelled(self, split: Split | None = None,
                 statuses: Sequence[ReviewStatus] = (ReviewStatus.ACCEPTED,)) -> list[MaskRevision]:
        """Head revisions whose status is in ``statuses`` (optionally of one split), by image id."""
        q = (select(MaskRow).join(ImageRow, ImageRow.id == MaskRow.image_id)
             .where(MaskRow.id.in_(head_ids_subquery()), MaskRow.status.in_([s.value for s in statuses]))
             .order_by(MaskRow.image_id))
        if split is not None:
            q = q.where(ImageRow.split == split.value)
        return [to_mask(r) for r in self.s.scalars(q)]

    def all_shas(self) -> set[str]:
        """Every blob a mask revision points at (label maps and per-pixel confidence maps)."""
        maps = set(self.s.scalars(select(MaskRow.confidence_sha256).where(MaskRow.confidence_sha256.is_not(None))))
        return set(self.s.scalars(select(MaskRow.sha256))) | maps
