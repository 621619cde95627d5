"""Model versions, their per-class metrics and checkpoint blob references."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...domain.enums import VersionStatus
from ...domain.records import ClassMetric, ModelVersion
from ..db import lock_row
from ..orm import BlobRefRow, ClassMetricRow, ModelVersionRow


def to_version(row: ModelVersionRow) -> ModelVersion:
    return ModelVersion(id=row.id, parent_id=row.parent_id, name=row.name, class_ids=tuple(row.class_ids),
                        method=row.method, config=dict(row.config or {}), checkpoint_sha256=row.checkpoint_sha256,
                        status=VersionStatus(row.status), step=row.step, train_seconds=row.train_seconds,
                        created_at=row.created_at, finished_at=row.finished_at)


class VersionRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, version_id: int) -> ModelVersion | None:
        row = self.s.get(ModelVersionRow, version_id)
        return None if row is None else to_version(row)

    def job_id(self, version_id: int) -> int | None:
        row = self.s.get(ModelVersionRow, version_id)
        return None if row is None else row.job_id

    def ids_of_job(self, job_id: int, status: VersionStatus | None = None) -> list[int]:
        """Ids of the versions a job produced (oldest first), optionally only those in ``status``."""
        q = select(ModelVersionRow.id).where(ModelVersionRow.job_id == job_id).order_by(ModelVersionRow.id)
        if status is not None:
            q = q.where(ModelVersionRow.status == status.value)
        return list(self.s.scalars(q))

    def lock(self, version_id: int) -> ModelVersion | None:
        """The version with its row locked until the transaction ends (PostgreSQL ``FOR UPDATE``)."""
        row = lock_row(self.s, ModelVersionRow, version_id)
        return None if row is None else to_version(row)

    def list(self, status: VersionStatus | None = None) -> list[ModelVersion]:
        q = select(ModelVersionRow).order_by(ModelVersionRow.id)
        if status is not None:
            q = q.where(ModelVersionRow.status == status.value)
        return [to_version(r) for r in self.s.scalars(q)]

    def add(self, parent_id: int | None, name: str, class_ids: Sequence[int], method: str,
            config: dict[str, Any], step: int, job_id: int | None = None) -> ModelVersion:
        row = ModelVersionRow(parent_id=parent_id, name=name, class_ids=list(class_ids), method=method,
                              config=dict(config), step=step, status=VersionStatus.TRAINING.value, job_id=job_id)
        self.s.add(row)
        self.s.flush()
        return to_version(row)

    def update(self, version_id: int, **fields: Any) -> ModelVersion:
        row = self.s.get(ModelVersionRow, version_id)
        if row is None:
            raise KeyError(version_id)
        for key, value in fields.items():
            setattr(row, key, value.value if isinstance(value, VersionStatus) else value)
        self.s.flush()
        return to_version(row)

    def replace_metrics(self, version_id: int, metrics: Iterable[ClassMetric]) -> None:
        self.s.execute(delete(ClassMetricRow).where(ClassMetricRow.version_id == version_id))
        self.s.add_all(ClassMetricRow(version_id=version_id, class_id=m.class_id, iou=m.iou,
                                      forgetting=m.forgetting, gt_pixels=m.gt_pixels) for m in metrics)
        self.s.flush()

    def metrics(self, version_id: int) -> list[ClassMetric]:
        q = select(ClassMetricRow).where(ClassMetricRow.version_id == version_id).order_by(ClassMetricRow.class_id)
        return [ClassMetric(version_id=r.version_id, class_id=r.class_id, iou=r.iou, forgetting=r.forgetting,
                            gt_pixels=r.gt_pixels) for r in self.s.scalars(q)]

    def set_blob_refs(self, version_id: int, shas: Iterable[str]) -> None:
        self.s.execute(delete(BlobRefRow).where(BlobRefRow.version_id == version_id))
        self.s.add_all(BlobRefRow(version_id=version_id, sha256=sha) for sha in sorted(set(shas)))
        self.s.flush()

    def blob_refs(self, version_id: int) -> set[str]:
        return set(self.s.scalars(select(BlobRefRow.sha256).where(BlobRefRow.version_id == version_id)))

    def all_shas(self) -> set[str]:
        """Every blob any version points at (checkpoint manifests and their shards)."""
        refs = set(self.s.scalars(select(BlobRefRow.sha256)))
        ckpts = self.s.scalars(select(ModelVersionRow.checkpoint_sha256)
                               .where(ModelVersionRow.checkpoint_sha256.is_not(None)))
        return refs | {c for c in ckpts if c}
