"""Per-iteration metrics of jobs (a training job's loss curve) as rows."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..orm import JobMetricRow


@dataclass(frozen=True)
class MetricPoint:
    """One named value a job reported: ``seq`` is the iteration within the job (from 1), ``progress``
    the fraction 0..1 of the whole step."""

    seq: int
    progress: float
    name: str
    value: float


class JobMetricRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, job_id: int, points: Sequence[MetricPoint]) -> None:
        self.s.add_all(JobMetricRow(job_id=job_id, seq=p.seq, progress=p.progress, name=p.name, value=p.value)
                       for p in points)
        self.s.flush()

    def list(self, job_id: int, name: str | None = None) -> list[MetricPoint]:
        """The job's points in iteration order (optionally one metric)."""
        q = select(JobMetricRow).where(JobMetricRow.job_id == job_id).order_by(JobMetricRow.seq, JobMetricRow.id)
        if name is not None:
            q = q.where(JobMetricRow.name == name)
        return [MetricPoint(r.seq, r.progress, r.name, r.value) for r in self.s.scalars(q)]

    def count(self, job_id: int) -> int:
        return int(self.s.scalar(select(func.count()).where(JobMetricRow.job_id == job_id)) or 0)
