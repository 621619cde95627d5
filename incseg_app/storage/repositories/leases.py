"""Write leases: one row per import or upload in progress (see ``orm.LeaseRow``)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...domain.records import WriteLease
from ..orm import LeaseRow, utcnow


def to_lease(row: LeaseRow) -> WriteLease:
    return WriteLease(id=row.id, kind=row.kind, description=row.description, owner=row.owner, total=row.total,
                      done=row.done, created_at=row.created_at, heartbeat_at=row.heartbeat_at)


class LeaseRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, kind: str, description: str, owner: str, total: int) -> WriteLease:
        now = utcnow()
        row = LeaseRow(kind=kind, description=description, owner=owner, total=total, done=0, created_at=now,
                       heartbeat_at=now)
        self.s.add(row)
        self.s.flush()
        return to_lease(row)

    def get(self, lease_id: int) -> WriteLease | None:
        row = self.s.get(LeaseRow, lease_id)
        return None if row is None else to_lease(row)

    def list(self) -> list[WriteLease]:
        return [to_lease(r) for r in self.s.scalars(select(LeaseRow).order_by(LeaseRow.id))]

    def beat(self, lease_id: int, when: datetime | None = None) -> None:
        row = self.s.get(LeaseRow, lease_id)
        if row is not None:
            row.heartbeat_at = when or utcnow()
            self.s.flush()

    def set_done(self, lease_id: int, done: int) -> None:
        """Record the items committed so far (call in the transaction that commits them)."""
        row = self.s.get(LeaseRow, lease_id)
        if row is not None:
            row.done, row.heartbeat_at = done, utcnow()
            self.s.flush()

    def delete(self, lease_id: int) -> None:
        self.s.execute(delete(LeaseRow).where(LeaseRow.id == lease_id))
