"""Version service: create, ready/failed, activate (roll back), ancestors, metrics, blob refs."""
from __future__ import annotations

import pytest

from incseg_app.domain.enums import JobKind, VersionStatus
from incseg_app.domain.errors import ConflictError, NotFoundError, ValidationError
from incseg_app.domain.records import ClassMetric
from incseg_app.services import classes, jobs, versions
from store_helpers import store  # noqa: F401


@pytest.fixture
def three_classes(store):
    for name in ("car", "tree", "road"):
        classes.create_class(store, name)
    return store


def _ready(ctx, name, class_ids, parent_id=None):
    v = versions.create_version(ctx, name, class_ids, "finetune", {"lr": 0.1}, parent_id)
    sha = ctx.blobs.put_bytes(f"manifest of {name}".encode())
    shard = ctx.blobs.put_bytes(f"tensor of {name}".encode())
    return versions.mark_ready(ctx, v.id, sha, 12.5, [shard]), sha, shard


def test_base_and_increment_lifecycle(three_classes):
    ctx = three_classes
    job = jobs.create_job(ctx, JobKind.TRAIN)
    base = versions.create_version(ctx, "base", [0, 1, 2], "finetune", {"epochs": 1}, job_id=job.id)
    assert (base.status, base.step, base.parent_id, base.class_ids) == (VersionStatus.TRAINING, 0, None, (0, 1, 2))
    with pytest.raises(ConflictError, match="not ready"):
        versions.create_version(ctx, "child", [0, 1, 2, 3], "mib", parent_id=base.id)
    with pytest.raises(ConflictError, match="only a ready version"):
        versions.activate(ctx, base.id)
    manifest = ctx.blobs.put_bytes(b"manifest")
    ready = versions.mark_ready(ctx, base.id, manifest, 3.0)
    assert (ready.status, ready.checkpoint_sha256, ready.train_seconds) == (VersionStatus.READY, manifest, 3.0)
    assert ready.finished_at is not None
    assert classes.get_class(ctx, "car").introduced_version_id == base.id
    with pytest.raises(ConflictError, match="already ready"):
        versions.mark_ready(ctx, base.id, manifest)
    child = versions.create_version(ctx, "step 1", [0, 1, 2, 3], "mib", parent_id=base.id)
    assert child.step == 1 and child.parent_id == base.id
    assert versions.get_version(ctx, child.id).config == {}
    assert versions.mark_failed(ctx, child.id).status == VersionStatus.FAILED
    with pytest.raises(ConflictError):
        versions.activate(ctx, child.id)
    assert classes.get_class(ctx, "road").introduced_version_id is None


def test_mark_ready_requires_existing_blobs(three_classes):
    ctx = three_classes
    v = versions.create_version(ctx, "base", [0, 1], "finetune")
    with pytest.raises(ValidationError, match="missing from the store"):
        versions.mark_ready(ctx, v.id, "a" * 64)
    assert versions.get_version(ctx, v.id).status == VersionStatus.TRAINING
    shard = ctx.blobs.put_bytes(b"shard")
    manifest = ctx.blobs.put_bytes(b"m")
    versions.mark_ready(ctx, v.id, manifest, blob_shas=[shard])
    assert versions.version_blobs(ctx, v.id) == {manifest, shard}


@pytest.mark.parametrize("ids, match", [([1, 2], "start with background"), ([0, 1, 1], "repeated"),
                                        ([0, 77], "unknown class")])
def test_class_list_is_validated(three_classes, ids, match):
    with pytest.raises(ValidationError, match=match):
        versions.create_version(three_classes, "v", ids, "finetune")


def test_activate_rollback_and_branch(three_classes):
    ctx = three_classes
    assert versions.active_version(ctx) is None
    base, _, _ = _ready(ctx, "base", [0, 1])
    step1, _, _ = _ready(ctx, "step1", [0, 1, 2], base.id)
    versions.activate(ctx, step1.id)
    assert versions.active_version(ctx).id == step1.id
    versions.activate(ctx, base.id)  # roll back
    assert versions.active_version(ctx).id == base.id
    branch, _, _ = _ready(ctx, "branch", [0, 1, 3], base.id)
    step2, _, _ = _ready(ctx, "step2", [0, 1, 2, 3], step1.id)
    assert [v.id for v in versions.ancestors(ctx, step2.id)] == [step1.id, base.id]
    assert [v.id for v in versions.ancestors(ctx, branch.id)] == [base.id]
    assert versions.ancestors(ctx, base.id) == []
    assert [v.name for v in versions.list_versions(ctx)] == ["base", "step1", "branch", "step2"]
    assert len(versions.list_versions(ctx, VersionStatus.READY)) == 4
    with pytest.raises(NotFoundError, match="no model version with id 99"):
        versions.activate(ctx, 99)


def test_metrics_store_and_replace(three_classes):
    ctx = three_classes
    v, _, _ = _ready(ctx, "base", [0, 1, 2])
    rows = [ClassMetric(v.id, 0, 0.9, None, 100), ClassMetric(v.id, 1, 0.5, 0.1, 40), ClassMetric(v.id, 2, None)]
    stored = versions.store_metrics(ctx, v.id, rows)
    assert [(m.class_id, m.iou, m.forgetting, m.gt_pixels) for m in stored] == [
        (0, 0.9, None, 100), (1, 0.5, 0.1, 40), (2, None, None, 0)]
    versions.store_metrics(ctx, v.id, [ClassMetric(v.id, 1, 0.7)])
    assert [(m.class_id, m.iou) for m in versions.get_metrics(ctx, v.id)] == [(1, 0.7)]
    with pytest.raises(ValidationError, match="not in version"):
        versions.store_metrics(ctx, v.id, [ClassMetric(v.id, 3, 0.2)])
    with pytest.raises(ValidationError, match=r"\[0, 1\]"):
        versions.store_metrics(ctx, v.id, [ClassMetric(v.id, 1, 1.2)])
    assert [(m.class_id, m.iou) for m in versions.get_metrics(ctx, v.id)] == [(1, 0.7)]
