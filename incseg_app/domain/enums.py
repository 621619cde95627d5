"""Enumerations shared by every layer. Values are the strings stored in the database."""
from __future__ import annotations

from enum import Enum


class Split(str, Enum):
    TRAIN = "train"
    VAL = "val"


class MaskKind(str, Enum):
    GROUND_TRUTH = "ground_truth"
    PSEUDO = "pseudo"
    CORRECTED = "corrected"


class ReviewStatus(str, Enum):
    TO_REVIEW = "to_review"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class VersionStatus(str, Enum):
    TRAINING = "training"
    READY = "ready"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobKind(str, Enum):
    IMPORT = "import"
    PSEUDO_LABEL = "pseudo_label"
    TRAIN = "train"
    EVALUATE = "evaluate"


class JobStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.INTERRUPTED)
