"""Domain errors raised by services and shown verbatim to users (UI and CLI).

Every error message names the offending thing (file, class, version id) and the reason, so a
user can act on it without reading a traceback.
"""
from __future__ import annotations


class IncsegError(Exception):
    """Base class of every error the product raises on purpose."""


class NotFoundError(IncsegError):
    """A class, image, mask, version or job id that does not exist."""


class ValidationError(IncsegError):
    """Input that breaks a rule (empty name, bad colour, unknown tag, bad config value)."""


class DuplicateError(ValidationError):
    """A name or content that must be unique already exists."""


class BadFileError(ValidationError):
    """A file that cannot be accepted: corrupt, empty, not an image, too large, unsafe path.

    Attributes:
        path: the file name as the user gave it.
        reason: a short human sentence.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ConflictError(IncsegError):
    """An optimistic-concurrency or state conflict (stale mask revision, a job already running)."""


class StoreBusyError(ConflictError):
    """The store's write lock stayed taken for longer than the busy timeout (another process is in a
    long write); nothing was changed by the refused call, so it can simply be retried."""


class CancelledError(IncsegError):
    """A long job stopped because its cancel flag was set."""


class WeightsUnavailableError(IncsegError):
    """Configured CLIP/SAM weights are missing or unreadable; the message says what the fallback is."""


class ExportError(IncsegError):
    """A model could not be exported faithfully (e.g. its ONNX graph does not reproduce PyTorch's logits)."""
