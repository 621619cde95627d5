"""Class definitions repository (stable ids 1..254, never reused)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...domain.names import name_key
from ...domain.records import ClassDef
from ..db import lock_table
from ..orm import ClassRow, ImageTagRow, MaskClassRow
from .masks import head_ids_subquery


def to_class(row: ClassRow) -> ClassDef:
    return ClassDef(id=row.id, name=row.name, color=row.color, prompts=tuple(row.prompts or ()),
                    introduced_version_id=row.introduced_version_id, archived=row.archived,
                    created_at=row.created_at)


class ClassRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, class_id: int) -> ClassDef | None:
        row = self.s.get(ClassRow, class_id)
        return None if row is None else to_class(row)

    def get_by_name(self, name: str) -> ClassDef | None:
        row = self.s.scalar(select(ClassRow).where(ClassRow.name_key == name_key(name)))
        return None if row is None else to_class(row)

    def list(self, include_archived: bool = True) -> list[ClassDef]:
        q = select(ClassRow).order_by(ClassRow.id)
        if not include_archived:
            q = q.where(ClassRow.archived.is_(False))
        return [to_class(r) for r in self.s.scalars(q)]

    def next_id(self) -> int:
        """The id a new class gets; on PostgreSQL other writers of classes wait until this transaction
        ends, so two concurrent creations cannot pick the same id."""
        lock_table(self.s, ClassRow.__tablename__)
        return int(self.s.scalar(select(func.max(ClassRow.id))) or 0) + 1

    def color_owner(self, color: str) -> ClassDef | None:
        row = self.s.scalar(select(ClassRow).where(ClassRow.color == color))
        return None if row is None else to_class(row)

    def add(self, class_id: int, name: str, color: str, prompts: tuple[str, ...] = ()) -> ClassDef:
        row = ClassRow(id=class_id, name=name, name_key=name_key(name), color=color, prompts=list(prompts),
                       archived=False)
        self.s.add(row)
        self.s.flush()
        return to_class(row)

    def update(self, class_id: int, **fields: Any) -> ClassDef:
        """Set columns (``name`` also updates the normalised, case-folded uniqueness key)."""
        row = self.s.get(ClassRow, class_id)
        if row is None:
            raise KeyError(class_id)
        if "name" in fields:
            fields["name_key"] = name_key(fields["name"])
        if "prompts" in fields:
            fields["prompts"] = list(fields["prompts"])
        for key, value in fields.items():
            setattr(row, key, value)
        self.s.flush()
        return to_class(row)

    def image_counts(self) -> dict[int, int]:
        """Class id -> number of images tagged with it."""
        q = select(ImageTagRow.class_id, func.count()).group_by(ImageTagRow.class_id)
        return {int(c): int(n) for c, n in self.s.execute(q)}

    def mask_counts(self) -> dict[int, int]:
        """Class id -> number of images whose newest mask revision contains it."""
        q = (select(MaskClassRow.class_id, func.count())
             .where(MaskClassRow.mask_id.in_(head_ids_subquery()))
             .group_by(MaskClassRow.class_id))
        return {int(c): int(n) for c, n in self.s.execute(q)}
