"""Plain records returned by repositories and services (never ORM objects).

Mask pixel convention used everywhere: a mask is an H×W uint8 array whose values are stable
class ids (``ClassDef.id``, 1..254), 0 = background, 255 = ignore / unsure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .enums import JobKind, JobStatus, MaskKind, ReviewStatus, Split, VersionStatus

BACKGROUND_ID = 0
IGNORE_ID = 255
MAX_CLASS_ID = 254


@dataclass(frozen=True)
class ClassDef:
    id: int
    name: str
    color: str  # "#rrggbb"
    prompts: tuple[str, ...] = ()
    introduced_version_id: int | None = None
    archived: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True)
class ImageRecord:
    id: int
    sha256: str
    width: int
    height: int
    split: Split
    original_name: str
    tags: tuple[str, ...] = ()  # class names
    created_at: datetime | None = None


@dataclass(frozen=True)
class MaskRevision:
    id: int
    image_id: int
    kind: MaskKind
    status: ReviewStatus
    sha256: str
    parent_id: int | None = None
    author: str = ""
    confidence: float | None = None  # mean pixel confidence in [0, 1], pseudo masks only
    source: str = ""  # e.g. "ground truth import", "clip+sam", "co-segmentation", "brush"
    created_at: datetime | None = None
    confidence_sha256: str | None = None  # blob of the per-pixel confidence map (pseudo masks only)


@dataclass(frozen=True)
class ModelVersion:
    id: int
    parent_id: int | None
    name: str
    class_ids: tuple[int, ...]  # channel order; channel 0 is always background (id 0)
    method: str
    config: dict[str, Any] = field(default_factory=dict)
    checkpoint_sha256: str | None = None
    status: VersionStatus = VersionStatus.TRAINING
    step: int = 0  # 0 for a base version, parent.step + 1 otherwise
    train_seconds: float | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None

    def channel_of(self, class_id: int) -> int:
        """Output channel of a stable class id (raises ValueError when absent)."""
        return self.class_ids.index(class_id)


@dataclass(frozen=True)
class ClassMetric:
    version_id: int
    class_id: int
    iou: float | None  # None when the class is absent from the evaluation ground truth
    forgetting: float | None = None  # best ancestor IoU minus this IoU; None if never learned before
    gt_pixels: int = 0


@dataclass(frozen=True)
class Job:
    id: int
    kind: JobKind
    status: JobStatus
    progress: float = 0.0  # 0..1
    message: str = ""
    error: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    cancel_requested: bool = False
    version_id: int | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class WriteLease:
    """An import or upload in progress in some process (``owner`` = "host:pid"); ``done`` of ``total``
    items are committed, in whole batches."""

    id: int
    kind: str
    description: str
    owner: str
    total: int = 0
    done: int = 0
    created_at: datetime | None = None
    heartbeat_at: datetime | None = None
