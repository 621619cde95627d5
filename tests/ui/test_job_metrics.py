"""Structured job metrics: written in batches by the job, read back as a curve after a "reload"."""
from __future__ import annotations

from incseg_app.domain.enums import JobKind, JobStatus
from incseg_app.services import job_metrics, jobs, training
from store_helpers import tiny_store  # noqa: F401
from ui_helpers import add_pseudo, ctx, filled, runner  # noqa: F401


def test_writer_batches_and_the_curve_is_read_back(ctx):
    job = jobs.create_job(ctx, JobKind.TRAIN)
    writer = job_metrics.MetricsWriter(ctx, job.id, flush_s=3600, max_pending=10)
    for i in range(1, 5):
        writer.add(i / 4, {"ce": 1.0 / i, "total": 2.0 / i, "nan": float("nan")})
    assert job_metrics.job_metrics(ctx, job.id) == []  # still buffered
    writer.flush()
    curve = job_metrics.loss_curve(ctx, job.id)
    assert curve == [(25.0, 2.0), (50.0, 1.0), (75.0, 2 / 3), (100.0, 0.5)]
    assert {p.name for p in job_metrics.job_metrics(ctx, job.id)} == {"ce", "total"}


def test_long_curves_are_averaged_into_slices(ctx):
    job = jobs.create_job(ctx, JobKind.TRAIN)
    writer = job_metrics.MetricsWriter(ctx, job.id)
    for i in range(1000):
        writer.add((i + 1) / 1000, {"total": 1.0})
    writer.flush()
    curve = job_metrics.loss_curve(ctx, job.id, max_points=50)
    assert len(curve) == 50 and all(v == 1.0 for _, v in curve)


def test_a_training_job_stores_its_loss_per_iteration(filled, runner):
    add_pseudo(filled, [0.5, 0.6, 0.7, 0.8])
    job = training.start_training(filled, runner, training.TrainRequest(method="finetune", epochs=2, batch_size=2))
    assert runner.wait(job.id, timeout=300).status == JobStatus.DONE
    points = job_metrics.job_metrics(filled, job.id, "total")
    assert [p.seq for p in points] == list(range(1, len(points) + 1)) and len(points) >= 2
    assert points[-1].progress == 1.0 and job_metrics.loss_curve(filled, job.id)[-1][0] == 100.0


def test_a_training_child_process_writes_its_loss_rows(tiny_store):
    """Jobs of the web UI run in child processes: the metrics are written by the job's own code there."""
    from incseg_app.services.job_process import ProcessJobRunner
    from store_helpers import add_shapes_project

    add_shapes_project(tiny_store, (0, 1), n_train=4, n_val=1)
    runner = ProcessJobRunner(tiny_store, poll_s=0.1)
    job = training.start_training(tiny_store, runner, training.TrainRequest(method="finetune", epochs=2, batch_size=2))
    done = runner.wait(job.id, timeout=300)
    assert done.status == JobStatus.DONE, done.error
    assert runner.pid(job.id) != __import__("os").getpid()
    points = job_metrics.job_metrics(tiny_store, job.id, "total")
    assert len(points) >= 2 and points[-1].progress == 1.0
