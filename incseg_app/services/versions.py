"""Model versions: create a training version, mark it ready/failed, activate (roll back), metrics.

A version is READY only once its checkpoint blobs exist (``mark_ready`` checks), so the DB never
points at a missing checkpoint and a failed or cancelled job leaves no ready version. The active
version lives in the settings table; any READY version can be activated, which is how users roll
back and branch (the next training step's parent is the active version).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..domain.enums import VersionStatus
from ..domain.errors import ConflictError, NotFoundError, ValidationError
from ..domain.records import BACKGROUND_ID, ClassMetric, ModelVersion
from ..storage.orm import utcnow
from ..storage.repositories import ClassRepo, SettingsRepo, VersionRepo
from .context import AppContext

ACTIVE_KEY = "active_version_id"


def _require(repo: VersionRepo, version_id: int) -> ModelVersion:
    found = repo.get(version_id)
    if found is None:
        raise NotFoundError(f"no model version with id {version_id}")
    return found


def list_versions(ctx: AppContext, status: VersionStatus | None = None) -> list[ModelVersion]:
    """All versions, oldest first."""
    with ctx.unit_of_work() as s:
        return VersionRepo(s).list(VersionStatus(status) if status else None)


def get_version(ctx: AppContext, version_id: int) -> ModelVersion:
    with ctx.unit_of_work() as s:
        return _require(VersionRepo(s), version_id)


def create_version(ctx: AppContext, name: str, class_ids: Sequence[int], method: str,
                   config: dict[str, Any] | None = None, parent_id: int | None = None,
                   job_id: int | None = None) -> ModelVersion:
    """A TRAINING version row. ``class_ids``: channel order, channel 0 = background (0), then store ids.

    ``step`` = parent's step + 1, or 0 without a parent. The parent must be READY.
    """
    ids = [int(c) for c in class_ids]
    if not ids or ids[0] != BACKGROUND_ID:
        raise ValidationError("a version's class list must start with background (id 0) in channel 0")
    if len(set(ids)) != len(ids):
        raise ValidationError(f"a version's class list has repeated ids: {ids}")
    if not name.strip():
        raise ValidationError("a version needs a name")
    with ctx.unit_of_work(write=True) as s:
        classes = ClassRepo(s)
        unknown = [c for c in ids[1:] if classes.get(c) is None]
        if unknown:
            raise ValidationError(f"unknown class id(s) {unknown} in the version's class list")
        repo = VersionRepo(s)
        step = 0
        if parent_id is not None:
            parent = _require(repo, parent_id)
            if parent.status != VersionStatus.READY:
                raise ConflictError(f"version {parent_id} is {parent.status.value}, not ready: it cannot be a parent")
            step = parent.step + 1
        return repo.add(parent_id, name.strip(), ids, method, dict(config or {}), step, job_id)


def mark_ready(ctx: AppContext, version_id: int, checkpoint_sha256: str, train_seconds: float | None = None,
               blob_shas: Iterable[str] = (), activate: bool = False) -> ModelVersion:
    """Finish a TRAINING version: its checkpoint manifest blob and every blob it uses must exist.

    Classes first learned by this version get ``introduced_version_id`` set. With ``activate`` the
    version also becomes the active one in the same transaction, so no crash can leave a finished
    step ready but inactive.
    """
    shas = {checkpoint_sha256, *blob_shas}
    missing = sorted(sha for sha in shas if not ctx.blobs.exists(sha))
    if missing:
        raise ValidationError(f"version {version_id}: checkpoint blob(s) missing from the store: {missing[:3]}")
    with ctx.unit_of_work(write=True) as s:
        repo = VersionRepo(s)
        version = repo.lock(version_id)
        if version is None:
            raise NotFoundError(f"no model version with id {version_id}")
        if version.status != VersionStatus.TRAINING:
            raise ConflictError(f"version {version_id} is already {version.status.value}")
        repo.set_blob_refs(version_id, shas)
        if activate:
            SettingsRepo(s).set(ACTIVE_KEY, str(version_id))
        classes = ClassRepo(s)
        for class_id in version.class_ids[1:]:
            cls = classes.get(class_id)
            if cls is not None and cls.introduced_version_id is None:
                classes.update(class_id, introduced_version_id=version_id)
        return repo.update(version_id, status=VersionStatus.READY, checkpoint_sha256=checkpoint_sha256,
                           train_seconds=train_seconds, finished_at=utcnow())


def mark_failed(ctx: AppContext, version_id: int, status: VersionStatus = VersionStatus.FAILED) -> ModelVersion:
    """End a TRAINING version as FAILED or CANCELLED (it can never become active)."""
    status = VersionStatus(status)
    if status not in (VersionStatus.FAILED, VersionStatus.CANCELLED):
        raise ValidationError(f"mark_failed takes failed or cancelled, not {status.value}")
    with ctx.unit_of_work(write=True) as s:
        repo = VersionRepo(s)
        version = repo.lock(version_id) or _require(repo, version_id)
        if version.status == VersionStatus.READY:
            raise ConflictError(f"version {version_id} is ready; it cannot be marked {status.value}")
        return repo.update(version_id, status=status, finished_at=utcnow())


def activate(ctx: AppContext, version_id: int) -> ModelVersion:
    """Make a READY version the active one (roll back or switch branch)."""
    with ctx.unit_of_work(write=True) as s:
        version = VersionRepo(s).lock(version_id) or _require(VersionRepo(s), version_id)
        if version.status != VersionStatus.READY:
            raise ConflictError(f"version {version_id} ({version.name}) is {version.status.value}; "
                                "only a ready version can be activated")
        SettingsRepo(s).set(ACTIVE_KEY, str(version_id))
        return version


def active_version(ctx: AppContext) -> ModelVersion | None:
    """The active version, or None before the first training step."""
    with ctx.unit_of_work() as s:
        value = SettingsRepo(s).get(ACTIVE_KEY)
        return None if value is None else VersionRepo(s).get(int(value))


def ancestors(ctx: AppContext, version_id: int) -> list[ModelVersion]:
    """The chain above a version: parent first, root last (the version itself excluded)."""
    with ctx.unit_of_work() as s:
        repo = VersionRepo(s)
        chain: list[ModelVersion] = []
        current = _require(repo, version_id)
        while current.parent_id is not None:
            current = _require(repo, current.parent_id)
            chain.append(current)
        return chain


def store_metrics(ctx: AppContext, version_id: int, metrics: Iterable[ClassMetric]) -> list[ClassMetric]:
    """Replace a version's per-class metrics (IoU in [0, 1] or None; class ids from its class list)."""
    rows = list(metrics)
    with ctx.unit_of_work(write=True) as s:
        repo = VersionRepo(s)
        version = _require(repo, version_id)
        for m in rows:
            if m.class_id not in version.class_ids:
                raise ValidationError(f"class {m.class_id} is not in version {version_id}'s class list")
            if m.iou is not None and not 0.0 <= m.iou <= 1.0:
                raise ValidationError(f"IoU of class {m.class_id} must be in [0, 1], got {m.iou}")
        repo.replace_metrics(version_id, [ClassMetric(version_id, m.class_id, m.iou, m.forgetting, m.gt_pixels)
                                          for m in rows])
        return repo.metrics(version_id)


def get_metrics(ctx: AppContext, version_id: int) -> list[ClassMetric]:
    with ctx.unit_of_work() as s:
        _require(VersionRepo(s), version_id)
        return VersionRepo(s).metrics(version_id)


def version_blobs(ctx: AppContext, version_id: int) -> set[str]:
    """Blobs a version's checkpoint uses (manifest included)."""
    with ctx.unit_of_work() as s:
        _require(VersionRepo(s), version_id)
        return VersionRepo(s).blob_refs(version_id)


@dataclass(frozen=True)
class VersionStorage:
    """Bytes in the blob store behind a version.

    ``total_bytes``: every blob the version uses (checkpoint manifest, one blob per tensor, memories);
    ``added_bytes``: the blobs its parent does not use, i.e. what keeping this version costs (tensors
    that did not change, such as a frozen backbone, are stored once and shared).
    """

    version_id: int
    total_bytes: int
    added_bytes: int


def version_storage(ctx: AppContext) -> dict[int, VersionStorage]:
    """``VersionStorage`` of every version that has blobs, by version id."""
    with ctx.unit_of_work() as s:
        repo = VersionRepo(s)
        rows = repo.list(None)
        refs = {v.id: repo.blob_refs(v.id) for v in rows}
    sizes: dict[str, int] = {}

    def size(sha: str) -> int:
        if sha not in sizes:
            path = ctx.blobs.path(sha)
            sizes[sha] = path.stat().st_size if path.is_file() else 0
        return sizes[sha]

    out = {}
    for v in rows:
        if not refs[v.id]:
            continue
        parent = refs.get(v.parent_id, set()) if v.parent_id is not None else set()
        out[v.id] = VersionStorage(v.id, sum(size(sha) for sha in refs[v.id]),
                                   sum(size(sha) for sha in refs[v.id] - parent))
    return out
