"""Images and their tags (a tag is a class id; records show class names)."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ...domain.enums import ReviewStatus, Split
from ...domain.records import ImageRecord
from ..db import lock_row
from ..orm import ClassRow, ImageRow, ImageTagRow, MaskRow
from .masks import head_ids_subquery


class ImageRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def _tags(self, image_ids: list[int]) -> dict[int, tuple[str, ...]]:
        q = (select(ImageTagRow.image_id, ClassRow.name).join(ClassRow, ClassRow.id == ImageTagRow.class_id)
             .where(ImageTagRow.image_id.in_(image_ids)).order_by(ClassRow.id))
        out: dict[int, list[str]] = {}
        for image_id, name in self.s.execute(q):
            out.setdefault(int(image_id), []).append(name)
        return {k: tuple(v) for k, v in out.items()}

    def _records(self, rows: list[ImageRow]) -> list[ImageRecord]:
        tags = self._tags([r.id for r in rows]) if rows else {}
        return [ImageRecord(id=r.id, sha256=r.sha256, width=r.width, height=r.height, split=Split(r.split),
                            original_name=r.original_name, tags=tags.get(r.id, ()), created_at=r.created_at)
                for r in rows]

    def get(self, image_id: int) -> ImageRecord | None:
        row = self.s.get(ImageRow, image_id)
        return None if row is None else self._records([row])[0]

    def lock(self, image_id: int) -> bool:
        """Lock the image's row until the transaction ends (PostgreSQL ``FOR UPDATE``), so writers of
        its mask revisions go one after another; False when there is no such image."""
        return lock_row(self.s, ImageRow, image_id) is not None

    def get_by_sha(self, sha256: str) -> ImageRecord | None:
        row = self.s.scalar(select(ImageRow).where(ImageRow.sha256 == sha256))
        return None if row is None else self._records([row])[0]

    def add(self, sha256: str, width: int, height: int, split: Split, original_name: str,
            tag_ids: Iterable[int] = ()) -> ImageRecord:
        row = ImageRow(sha256=sha256, width=width, height=height, split=split.value, original_name=original_name)
        self.s.add(row)
        self.s.flush()
        self.add_tags(row.id, tag_ids)
        return self._records([row])[0]

    def tag_ids(self, image_id: int) -> set[int]:
        return set(self.s.scalars(select(ImageTagRow.class_id).where(ImageTagRow.image_id == image_id)))

    def add_tags(self, image_id: int, tag_ids: Iterable[int]) -> None:
        new = set(tag_ids) - self.tag_ids(image_id)
        self.s.add_all(ImageTagRow(image_id=image_id, class_id=c) for c in sorted(new))
        self.s.flush()

    def set_tags(self, image_id: int, tag_ids: Iterable[int]) -> None:
        self.s.execute(delete(ImageTagRow).where(ImageTagRow.image_id == image_id))
        self.add_tags(image_id, tag_ids)

    def set_split(self, image_id: int, split: Split) -> None:
        row = self.s.get(ImageRow, image_id)
        if row is None:
            raise KeyError(image_id)
        row.split = split.value
        self.s.flush()

    def list(self, tag_id: int | None = None, split: Split | None = None, status: ReviewStatus | None = None,
             has_mask: bool | None = None, limit: int | None = None, offset: int = 0) -> list[ImageRecord]:
        """Images by id, filtered by tag, split, head-mask review status and whether any mask exists."""
        q = select(ImageRow).order_by(ImageRow.id)
        if tag_id is not None:
            q = q.where(ImageRow.id.in_(select(ImageTagRow.image_id).where(ImageTagRow.class_id == tag_id)))
        if split is not None:
            q = q.where(ImageRow.split == split.value)
        if status is not None:
            heads = select(MaskRow.image_id).where(MaskRow.id.in_(head_ids_subquery()),
                                                   MaskRow.status == status.value)
            q = q.where(ImageRow.id.in_(heads))
        if has_mask is not None:
            with_mask = select(MaskRow.image_id)
            q = q.where(ImageRow.id.in_(with_mask) if has_mask else ImageRow.id.not_in(with_mask))
        q = q.offset(offset)
        if limit is not None:
            q = q.limit(limit)
        return self._records(list(self.s.scalars(q)))

    def count(self) -> int:
        return int(self.s.scalar(select(func.count()).select_from(ImageRow)) or 0)

    def all_shas(self) -> set[str]:
        return set(self.s.scalars(select(ImageRow.sha256)))
