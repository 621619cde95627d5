"""Model commands: methods, weights, pseudo-label, train, report, predict, jobs.

Long work runs as a job (the same rows the web UI shows) with a progress bar; Ctrl-C asks the job to
cancel and waits for it to stop cleanly. Services that load models (and so torch, about 4 s and
800 MB) are imported inside the commands that use them: ``jobs list`` and ``train --dry-run`` start
without them (tests/integration/test_cli_startup.py).
"""
from __future__ import annotations

import time
from pathlib import Path

import click

from ..domain.records import Job
from ..services import jobs as job_svc
from ..services.planning import DEFAULT_METHOD, JOINT_METHODS, plan_step_for
from ..services.runner import JobRunner
from .base import cli, ml_options, print_table, progress_bar, storage_option, store


def _follow(runner: JobRunner, job: Job, desc: str) -> Job:
    """Show a job's progress until it ends; Ctrl-C requests cancellation and waits."""
    ctx = runner.ctx
    with progress_bar(desc) as bar:
        try:
            while not (current := job_svc.get_job(ctx, job.id)).status.finished:
                bar(current.progress, current.message)
                time.sleep(0.5)
        except KeyboardInterrupt:
            click.echo("cancelling (finishing the current iteration)...", err=True)
            job_svc.request_cancel(ctx, job.id)
            current = runner.wait(job.id)
    if current.error:
        raise click.ClickException(f"job {job.id} failed: {current.error}")
    click.echo(f"job {job.id}: {current.status.value} — {current.message}")
    return current


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


@cli.command("methods")
def methods_cmd() -> None:
    """List training methods and their switchable parts (for --off)."""
    from ..services.training import list_methods

    print_table(["method", "parts", "paper"], [(m.name, ", ".join(m.parts), m.paper[:70]) for m in list_methods()])


@cli.command("weights")
@storage_option
@ml_options
def weights_cmd() -> None:
    """Say which CLIP/SAM weights are configured, what is missing and what the fallback does."""
    from ..services.labeling import weight_status

    for line in weight_status(store()):
        click.echo(f"- {line}")


@cli.command("pseudo-label")
@storage_option
@ml_options
@click.option("--redo-rejected", is_flag=True, help="Also re-label images whose pseudo-mask was rejected.")
@click.option("--from-corrections", is_flag=True,
              help="Relabel the drafts still to review, learning from every accepted or corrected mask.")
def pseudo_label_cmd(redo_rejected: bool, from_corrections: bool) -> None:
    """Make pseudo-masks (to review) for every tagged image without a mask; resumable."""
    from ..services.labeling import (localisation_warnings, start_pseudo_labeling, start_relabel_from_corrections,
                                     weight_status)

    ctx = store()
    for line in weight_status(ctx):
        click.echo(f"- {line}")
    for line in localisation_warnings(ctx):
        click.echo(f"warning: {line}")
    runner = JobRunner(ctx)
    job = start_relabel_from_corrections(ctx, runner) if from_corrections else \
        start_pseudo_labeling(ctx, runner, redo_rejected)
    done = _follow(runner, job, "relabelling drafts" if from_corrections else "pseudo-labelling")
    for role, source in done.result.get("sources", {}).items():
        click.echo(f"{role}: {source}")


@cli.command("train")
@storage_option
@ml_options
@click.option("--method", default=DEFAULT_METHOD, show_default=True, help="See `incseg methods`.")
@click.option("--class", "classes", multiple=True, help="New class name or id to learn (default: every class "
                                                        "tagged on training images that the parent lacks).")
@click.option("--off", "parts_off", multiple=True, help="Switch a method part off (ablation; repeatable).")
@click.option("--epochs", type=int, default=None)
@click.option("--batch-size", type=int, default=None)
@click.option("--crop-size", type=int, default=None)
@click.option("--lr", type=float, default=None)
@click.option("--accepted-only", is_flag=True, help="Skip pseudo-masks that are not accepted yet.")
@click.option("--parent", "parent_id", type=int, default=None, help="Parent version (default: the active one).")
@click.option("--from-scratch", is_flag=True, help="Start a new root version instead of extending the parent.")
@click.option("--name", default="", help="Version name (default: the new classes and the method).")
@click.option("--validate-on-drafts", is_flag=True, help="Also validate on val drafts nobody reviewed (off: IoU and "
                                                         "forgetting come from reviewed masks only).")
@click.option("--dry-run", is_flag=True, help="Show the plan only (reads the store; loads no model code, so an "
                                              "unknown --method is reported only when training starts).")
def train_cmd(method: str, classes: tuple[str, ...], parts_off: tuple[str, ...], epochs: int | None,
              batch_size: int | None, crop_size: int | None, lr: float | None, accepted_only: bool,
              parent_id: int | None, from_scratch: bool, name: str, validate_on_drafts: bool, dry_run: bool) -> None:
    """Train one class step from the active (or given) version and make the result active."""
    from ..services.classes import get_class

    ctx = store()
    new_ids = tuple(get_class(ctx, c).id for c in classes) or None
    if dry_run:
        plan = plan_step_for(ctx, method in JOINT_METHODS, new_ids, accepted_only, parent_id, from_scratch,
                             validate_on_drafts=validate_on_drafts)
    else:
        from ..services.training import plan_step

        plan = plan_step(ctx, new_ids, accepted_only, parent_id, method, from_scratch,
                         validate_on_drafts=validate_on_drafts)
    click.echo(f"parent: {plan.parent_name or 'none (new base version)'}; old classes: "
               f"{', '.join(plan.old_classes) or '-'}; new: {', '.join(plan.new_classes) or '-'}")
    click.echo(f"{plan.n_train_images} training image(s) {plan.mask_counts}; {plan.n_val_images} validation image(s)")
    for w in plan.warnings:
        click.echo(f"warning: {w}", err=True)
    if dry_run:
        return
    from ..services.training import TrainRequest, start_training

    request = TrainRequest(method, new_ids, parts_off, epochs, batch_size, crop_size, lr, accepted_only, parent_id,
                           from_scratch, name, validate_on_drafts)
    runner = JobRunner(ctx)
    done = _follow(runner, start_training(ctx, runner, request), f"training ({method})")
    _print_report(done.result["version_id"])


def _print_report(version_id: int, heatmap: Path | None = None) -> None:
    from ..services.reports import version_report

    r = version_report(store(), version_id)
    click.echo(f"version {r.version.id} {r.version.name!r}: mIoU all {_pct(r.miou_all)}, old {_pct(r.miou_old)}, "
               f"new {_pct(r.miou_new)}, hIoU {_pct(r.hiou)}")
    print_table(["class", "IoU %", "best before %", "forgetting pts", ""],
                [(row.class_name, _pct(row.iou), _pct(row.best_before), _pct(row.forgetting),
                  "FORGOT" if row.forgot else ("new" if row.new else "")) for row in r.rows])
    if heatmap is not None:
        heatmap.write_bytes(r.heatmap_png)
        click.echo(f"heatmap written to {heatmap}")


@cli.command("report")
@storage_option
@click.argument("version_id", type=int)
@click.option("--heatmap", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the class × version IoU heatmap PNG here.")
def report_cmd(version_id: int, heatmap: Path | None) -> None:
    """Per-class IoU and forgetting of a version against its ancestors."""
    _print_report(version_id, heatmap)


@cli.command("predict")
@storage_option
@ml_options
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Output folder (masks/, overlays/, predictions.json); for one image, a .png file name also works.")
@click.option("--version", "version_id", type=int, default=None, help="Version (default: the active one).")
@click.option("--batch-size", type=int, default=4, show_default=True, help="Images per forward pass.")
@click.option("--coco", is_flag=True, help="Also write predictions.json (COCO instance JSON, RLE masks).")
@click.option("--overlays", is_flag=True, help="Also write overlays/ (class colours over the photos, JPEG).")
def predict_cmd(inputs: tuple[str, ...], out: Path, version_id: int | None, batch_size: int, coco: bool,
                overlays: bool) -> None:
    """Segment INPUTS (image files, folders, or quoted globs such as "photos/**/*.jpg") with a version.

    Writes OUT/masks/<name>.png (VOC palette PNGs, pixel values = class ids). Resumable: rerun the same
    command after an interruption and finished masks are skipped.
    """
    from ..services.batch_predict import predict_many

    ctx = store()
    if len(inputs) == 1 and Path(inputs[0]).is_file() and out.suffix.lower() == ".png":
        _predict_one(Path(inputs[0]), out, version_id)
        return
    with progress_bar("predicting") as bar:
        r = predict_many(ctx, inputs, out, version_id, batch_size, coco, overlays, bar)
    for name, reason in r.failed:
        click.echo(f"skipped {name}: {reason}", err=True)
    click.echo(f"version {r.version_id}: {r.predicted} image(s) predicted, {r.skipped} already done, "
               f"{len(r.failed)} failed; masks in {r.out_dir / 'masks'}")


def _predict_one(image: Path, out: Path, version_id: int | None) -> None:
    from ..services.imageio import decode_rgb
    from ..services.predict import predict

    ctx = store()
    limits = ctx.settings
    pixels = decode_rgb(image.read_bytes(), image.name, limits.max_file_bytes, limits.max_pixels)
    result = predict(ctx, pixels, version_id)
    out.write_bytes(result.png)
    click.echo(f"version {result.version_id}: {', '.join(n for n, _ in result.legend) or 'background only'}; "
               f"mask written to {out}")


@cli.group("jobs")
def jobs_group() -> None:
    """List and cancel background jobs."""


@jobs_group.command("list")
@storage_option
@click.option("--active", is_flag=True, help="Only queued or running jobs.")
def jobs_list(active: bool) -> None:
    """Recent jobs with their status and progress; "(process gone)" marks a job whose process died."""
    ctx = store()
    rows = job_svc.list_jobs(ctx, active_only=active, limit=30)
    dead = {j.id for j in job_svc.find_stale_jobs(ctx)}
    print_table(["id", "kind", "status", "progress", "message"],
                [(j.id, j.kind.value, j.status.value + (" (process gone)" if j.id in dead else ""),
                  f"{100 * j.progress:.0f}%", (j.error or j.message)[:60]) for j in rows])


@jobs_group.command("cancel")
@storage_option
@click.argument("job_id", type=int)
def jobs_cancel(job_id: int) -> None:
    """Stop job JOB_ID: a running job stops at its next check; a queued job, or one whose process is
    gone, ends at once."""
    job = job_svc.request_cancel(store(), job_id)
    if job.status.finished:
        click.echo(f"job {job.id}: {job.status.value} — {job.error or job.message}")
    else:
        click.echo(f"job {job.id}: cancel requested ({job.status.value})")


@jobs_group.command("run")
@storage_option
@click.argument("job_id", type=int)
def jobs_run(job_id: int) -> None:
    """Run the queued job JOB_ID in this process (what the web UI starts as a child process); exit
    status 0 when it is done, 1 otherwise."""
    import logging

    from ..services.job_process import run_in_this_process

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    job = run_in_this_process(store(), job_id)
    click.echo(f"job {job.id}: {job.status.value} — {job.error or job.message}")
    if job.status.value != "done":
        raise SystemExit(1)
