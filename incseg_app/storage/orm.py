"""SQLAlchemy 2 typed ORM tables of the incseg store.

Enum columns hold the string values of ``incseg_app.domain.enums``; timestamps are stored as naive
UTC and read back as timezone-aware UTC. Repositories turn these rows into domain records; nothing
outside ``storage/`` sees an ORM object.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """DateTime stored as naive UTC (SQLite keeps no zone) and returned as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class ClassRow(Base):
    __tablename__ = "classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 1..254, never reused
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64), unique=True)  # casefolded name: uniqueness ignores case
    color: Mapped[str] = mapped_column(String(7), unique=True)
    prompts: Mapped[list[str]] = mapped_column(JSON, default=list)
    introduced_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), nullable=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImageRow(Base):
    __tablename__ = "images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    split: Mapped[str] = mapped_column(String(8), index=True)
    original_name: Mapped[str] = mapped_column(Text)  # free text: PostgreSQL enforces VARCHAR lengths
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImageTagRow(Base):
    __tablename__ = "image_tags"
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"), primary_key=True, index=True)


class MaskRow(Base):
    __tablename__ = "masks"
    __table_args__ = (Index("ix_masks_image_id_id", "image_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("masks.id"), nullable=True)
    author: Mapped[str] = mapped_column(Text, default="")
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    confidence_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # per-pixel map blob
    source: Mapped[str] = mapped_column(Text, default="")  # e.g. which labeller and refiner made it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MaskClassRow(Base):
    """Which class ids a mask revision contains and how many pixels each (for counts and filters)."""

    __tablename__ = "mask_classes"
    mask_id: Mapped[int] = mapped_column(ForeignKey("masks.id", ondelete="CASCADE"), primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"), primary_key=True, index=True)
    pixels: Mapped[int] = mapped_column(Integer)


class ModelVersionRow(Base):
    __tablename__ = "model_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"), nullable=True)
    name: Mapped[str] = mapped_column(Text)  # "+class+class (method)" grows with the classes learned
    class_ids: Mapped[list[int]] = mapped_column(JSON)  # channel order, 0 = background first
    method: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    checkpoint_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    step: Mapped[int] = mapped_column(Integer, default=0)
    train_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BlobRefRow(Base):
    """Blobs a version's checkpoint manifest points at (tensor shards shared with its parent)."""

    __tablename__ = "blob_refs"
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"),
                                            primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class ClassMetricRow(Base):
    __tablename__ = "class_metrics"
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"),
                                            primary_key=True)
    class_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0 = background, no FK on purpose
    iou: Mapped[float | None] = mapped_column(Float, nullable=True)
    forgetting: Mapped[float | None] = mapped_column(Float, nullable=True)
    gt_pixels: Mapped[int] = mapped_column(BigInteger, default=0)  # summed over the val set: can pass 2**31


class JobRow(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True)  # "host:pid" of the running process


class SettingRow(Base):
    """Key/value store settings, e.g. ``active_version_id``."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class JobMetricRow(Base):
    """One named value (e.g. the total loss) a job reported at one iteration: the job's curve."""

    __tablename__ = "job_metrics"
    __table_args__ = (Index("ix_job_metrics_job_id_seq", "job_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  # iteration number within this job, from 1
    progress: Mapped[float] = mapped_column(Float)  # 0..1 of the whole step (a resumed job starts above 0)
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)


class MaskAgreementRow(Base):
    """How well a draft mask agrees with a model version's prediction (mean IoU over its classes)."""

    __tablename__ = "mask_agreement"
    mask_id: Mapped[int] = mapped_column(ForeignKey("masks.id", ondelete="CASCADE"), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer)
    agreement: Mapped[float] = mapped_column(Float)  # 0..1


class TrashRow(Base):
    """A deleted image: its rows as JSON (tags, split, every mask revision) while its blobs are kept,
    so it can be restored until the trash is purged."""

    __tablename__ = "trash"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(Integer)  # the id it had
    original_name: Mapped[str] = mapped_column(Text)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeaseRow(Base):
    """A write in progress outside the job table (an import or upload): who holds it and how far it got.

    The holder refreshes ``heartbeat_at`` while it runs and deletes the row when it ends; a row whose
    process is gone is a crashed import (``done`` of ``total`` items were committed, in whole batches).
    """

    __tablename__ = "leases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(128))  # "host:pid" of the process holding the lease
    total: Mapped[int] = mapped_column(Integer, default=0)  # items the write will commit
    done: Mapped[int] = mapped_column(Integer, default=0)  # items committed so far (whole batches)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
