"""Train base + increment of a tiny model through the services: versions, metrics, rollback, branch."""
from __future__ import annotations

import time

import pytest

from incseg_app.domain import JobStatus, ValidationError, VersionStatus
from incseg_app.services import versions
from incseg_app.services.reports import compare_versions, version_report, version_tree
from incseg_app.services.runner import JobRunner
from incseg_app.services.training import TrainRequest, list_methods, plan_step, start_training, train_step
from incseg_app.services.predict import predict
from store_helpers import add_shapes_project, shapes_image, tiny_store  # noqa: F401


def test_base_increment_rollback_and_branch(tiny_store) -> None:
    ctx = tiny_store
    base_ids = add_shapes_project(ctx, (0, 1), seed=1)
    base = train_step(ctx, TrainRequest(method="finetune"))
    assert base.status == VersionStatus.READY and base.parent_id is None
    assert base.class_ids == (0, *base_ids)
    assert versions.active_version(ctx).id == base.id
    metrics = {m.class_id: m for m in versions.get_metrics(ctx, base.id)}
    assert set(metrics) == {0, *base_ids} and all(m.forgetting is None for m in metrics.values())

    (new_id,) = add_shapes_project(ctx, (2,), seed=2)
    plan = plan_step(ctx, method="mib")
    assert plan.new_class_ids == (new_id,) and plan.parent_version_id == base.id
    step = train_step(ctx, TrainRequest(method="mib"))
    assert step.parent_id == base.id and step.step == 1 and step.class_ids == (0, *base_ids, new_id)
    assert step.config["method"]["name"] == "mib" and step.config["new_class_ids"] == [new_id]
    stored = {m.class_id: m for m in versions.get_metrics(ctx, step.id)}
    assert set(stored) == set(step.class_ids)
    assert all(stored[c].forgetting is not None for c in base_ids)  # measured against the base version
    report = version_report(ctx, step.id)
    assert [r.new for r in report.rows] == [False, False, False, True]
    assert report.heatmap_png.startswith(b"\x89PNG")

    versions.activate(ctx, base.id)  # roll back ...
    assert versions.active_version(ctx).id == base.id
    branch = train_step(ctx, TrainRequest(method="finetune", name="branch"))  # ... and branch from it
    assert branch.parent_id == base.id and branch.id != step.id
    tree = version_tree(ctx)
    assert [(n.version.id, n.depth) for n in tree] == [(base.id, 0), (step.id, 1), (branch.id, 1)]
    assert [n.active for n in tree] == [False, False, True]
    assert len(compare_versions(ctx, step.id, branch.id)) == 4

    image, _ = shapes_image(99, (0, 2))
    pred = predict(ctx, image)
    assert pred.version_id == branch.id and pred.mask.shape == image.shape[:2]
    assert pred.png.startswith(b"\x89PNG") and pred.overlay.shape == image.shape


def test_nothing_new_to_learn_is_a_clear_error_and_writes_nothing(tiny_store) -> None:
    ctx = tiny_store
    with pytest.raises(ValidationError, match="nothing new to learn"):
        train_step(ctx, TrainRequest())
    assert versions.list_versions(ctx) == []
    with pytest.raises(ValidationError, match="no part"):
        add_shapes_project(ctx, (0,), n_train=2, n_val=0)
        train_step(ctx, TrainRequest(method="gsc", parts_off=("nope",)))
    assert versions.list_versions(ctx) == []


def test_cancelled_job_leaves_no_ready_version(tiny_store) -> None:
    ctx = tiny_store
    add_shapes_project(ctx, (0, 1), n_train=4, n_val=1)
    runner = JobRunner(ctx, heartbeat_s=0.2, min_interval_s=0.0)
    from incseg_app.services import jobs

    job = start_training(ctx, runner, TrainRequest(method="finetune", epochs=200))
    deadline = time.monotonic() + 120
    while jobs.get_job(ctx, job.id).progress <= 0.0 and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until training iterations are under way
    assert jobs.get_job(ctx, job.id).status == JobStatus.RUNNING
    jobs.request_cancel(ctx, job.id)
    done = runner.wait(job.id, timeout=120)
    assert done.status == JobStatus.CANCELLED
    (version,) = versions.list_versions(ctx)
    assert version.status == VersionStatus.CANCELLED and version.checkpoint_sha256 is None
    assert versions.active_version(ctx) is None


def test_every_registered_method_is_listed() -> None:
    names = {m.name for m in list_methods()}
    assert {"finetune", "joint", "mib", "gsc", "incrementer", "fmwiss"} <= names
