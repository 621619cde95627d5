"""Background jobs (training, pseudo-labelling, imports) and the key/value settings table."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...domain.enums import JobKind, JobStatus
from ...domain.records import Job
from ..db import lock_row
from ..orm import JobRow, SettingRow


def to_job(row: JobRow) -> Job:
    return Job(id=row.id, kind=JobKind(row.kind), status=JobStatus(row.status), progress=row.progress,
               message=row.message, error=row.error, params=dict(row.params or {}), result=dict(row.result or {}),
               cancel_requested=row.cancel_requested, version_id=row.version_id, created_at=row.created_at,
               started_at=row.started_at, finished_at=row.finished_at)


class JobRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, job_id: int, for_update: bool = False) -> Job | None:
        """The job; ``for_update`` locks its row until the transaction ends (PostgreSQL ``FOR UPDATE``)."""
        row = lock_row(self.s, JobRow, job_id) if for_update else self.s.get(JobRow, job_id)
        return None if row is None else to_job(row)

    def add(self, kind: JobKind, params: dict[str, Any]) -> Job:
        row = JobRow(kind=kind.value, status=JobStatus.QUEUED.value, params=dict(params), result={},
                     message="", progress=0.0, cancel_requested=False)
        self.s.add(row)
        self.s.flush()
        return to_job(row)

    def update(self, job_id: int, **fields: Any) -> Job:
        row = self.s.get(JobRow, job_id)
        if row is None:
            raise KeyError(job_id)
        for key, value in fields.items():
            setattr(row, key, value.value if isinstance(value, JobStatus) else value)
        self.s.flush()
        return to_job(row)

    def list(self, kind: JobKind | None = None, statuses: tuple[JobStatus, ...] | None = None,
             limit: int | None = None) -> list[Job]:
        """Newest first."""
        q = select(JobRow).order_by(JobRow.id.desc())
        if kind is not None:
            q = q.where(JobRow.kind == kind.value)
        if statuses is not None:
            q = q.where(JobRow.status.in_([s.value for s in statuses]))
        if limit is not None:
            q = q.limit(limit)
        return [to_job(r) for r in self.s.scalars(q)]

    def liveness(self, job_id: int) -> tuple[datetime | None, str | None]:
        """(last heartbeat, "host:pid" owner) of a job."""
        row = self.s.get(JobRow, job_id)
        return (None, None) if row is None else (row.heartbeat_at, row.owner)


class SettingsRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, key: str) -> str | None:
        row = self.s.get(SettingRow, key)
        return None if row is None else row.value

    def set(self, key: str, value: str | None) -> None:
        row = self.s.get(SettingRow, key)
        if value is None:
            if row is not None:
                self.s.delete(row)
        elif row is None:
            self.s.add(SettingRow(key=key, value=value))
        else:
            row.value = value
        self.s.flush()
