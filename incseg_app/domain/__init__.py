"""Plain dataclasses, enums, typed config and errors (stdlib only)."""
from .config import LabelingConfig, MethodConfig, ModelConfig, TrainConfig, from_dict, to_dict
from .enums import JobKind, JobStatus, MaskKind, ReviewStatus, Split, VersionStatus
from .errors import (
    BadFileError, CancelledError, ConflictError, DuplicateError, IncsegError, NotFoundError,
    StoreBusyError, ValidationError, WeightsUnavailableError,
)
from .records import (
    BACKGROUND_ID, IGNORE_ID, MAX_CLASS_ID, ClassDef, ClassMetric, ImageRecord, Job, MaskRevision,
    ModelVersion, WriteLease,
)

__all__ = [
    "LabelingConfig", "MethodConfig", "ModelConfig", "TrainConfig", "from_dict", "to_dict",
    "JobKind", "JobStatus", "MaskKind", "ReviewStatus", "Split", "VersionStatus",
    "BadFileError", "CancelledError", "ConflictError", "DuplicateError", "IncsegError",
    "NotFoundError", "StoreBusyError", "ValidationError", "WeightsUnavailableError",
    "BACKGROUND_ID", "IGNORE_ID", "MAX_CLASS_ID", "ClassDef", "ClassMetric", "ImageRecord", "Job",
    "MaskRevision", "ModelVersion", "WriteLease",
]
