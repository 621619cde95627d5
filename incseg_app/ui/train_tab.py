"""The "Train" tab: pick a method and its key options, see the plan (what will be trained on what),
start the step as a background job, watch its progress and live loss, cancel it. The job lives in the
store, so a browser reload re-attaches to a running job."""
from __future__ import annotations

import re
from functools import partial
from typing import Any

import gradio as gr
import pandas as pd

from ..domain.enums import JobKind, JobStatus
from ..services import AppContext, training, ui_support
from ..services import classes as class_svc
from ..services import jobs as job_svc
from ..services.runner import Launcher
from .common import TabParts, class_choices, esc, guarded, ok, progress_html

NEXT = ("**How:** pick a method (the plan below says what it will learn from which masks), press *Start "
        "training*, and watch the loss. The new version becomes active when it is ready; then open "
        "**Versions** to see its IoU and what the old classes forgot.")
_LOSS = re.compile(r"loss ([0-9.eE+-]+)")


def method_info(name: str) -> tuple[str, Any]:
    """(description Markdown, parts checkbox update) of a registered method."""
    info = next((m for m in training.list_methods() if m.name == name), None)
    if info is None:
        return "", gr.update(choices=[], value=[])
    kind = "joint (retrains every class with full labels)" if info.joint else "incremental (learns only the new classes)"
    parts = ", ".join(f"`{p}`" for p in info.parts) or "none"  # registry names, not user text
    return (f"**`{info.name}`** — {esc(info.paper)}; {kind}. Parts: {parts}.",
            gr.update(choices=list(info.parts), value=[]))


def plan_text(plan: training.StepPlan) -> str:
    parent = f"v{plan.parent_version_id} {esc(plan.parent_name)}" if plan.parent_version_id else "none (a new base model)"
    counts = ", ".join(f"{esc(k)}: {v}" for k, v in sorted(plan.mask_counts.items())) or "none"
    lines = [f"**Parent version:** {parent}",
             f"**Keeps (old classes):** {esc(', '.join(plan.old_classes)) or 'none'}",
             f"**Learns (new classes):** {esc(', '.join(plan.new_classes)) or 'nothing new'}",
             f"**Training images:** {plan.n_train_images} (masks: {counts}) · **validation images:** {plan.n_val_images}"]
    lines += [f"- ⚠️ {esc(w)}" for w in plan.warnings]
    return "\n\n".join(lines[:4]) + ("\n\n" + "\n".join(lines[4:]) if lines[4:] else "")


@guarded(0)
def show_plan(ctx: AppContext, method: str, new_ids: list[int], accepted_only: bool, from_scratch: bool) -> str:
    return plan_text(training.plan_step(ctx, new_ids or None, accepted_only, None, method, from_scratch))


def request_of(method: str, new_ids: list[int], parts_off: list[str], epochs: float, batch: float, crop: float,
               lr: float, accepted_only: bool, from_scratch: bool, name: str) -> training.TrainRequest:
    """A TrainRequest from the widget values (numbers arrive as floats)."""
    return training.TrainRequest(method=method, new_class_ids=tuple(new_ids) if new_ids else None,
                                 parts_off=tuple(parts_off or ()), epochs=int(epochs), batch_size=int(batch),
                                 crop_size=int(crop), lr=float(lr), accepted_only=accepted_only,
                                 from_scratch=from_scratch, name=name or "")


@guarded(4)
def start(ctx: AppContext, runner: Launcher, *values: Any) -> tuple[Any, ...]:
    job = training.start_training(ctx, runner, request_of(*values))
    return (ok(f"Training started (job {job.id}); the loss appears below."), job.id, progress_html(job),
            gr.Timer(active=True), [])


def poll(ctx: AppContext, job_id: int | None, losses: list[dict]) -> tuple[Any, ...]:
    """Timer tick: progress bar, loss curve (from the job message), what to do when it has ended."""
    if job_id is None:
        return "", gr.Timer(active=False), losses, gr.skip(), ""
    job = job_svc.get_job(ctx, job_id)
    found = _LOSS.search(job.message or "")
    if found and job.status == JobStatus.RUNNING:
        losses = [*losses, {"progress": round(100 * job.progress, 1), "loss": float(found.group(1))}]
    done = ""
    if job.status == JobStatus.DONE:
        done = ok(f"Version v{job.result.get('version_id')} is ready and active: open **Versions** to see its "
                  "report.")
    elif job.status.finished:
        done = f"⚠️ Job {job.id} {job.status.value}: {esc(job.error or job.message)}"
    return progress_html(job), gr.Timer(active=not job.status.finished), losses, loss_frame(losses), done


def loss_frame(losses: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(losses or [], columns=["progress", "loss"])


@guarded(0)
def cancel(ctx: AppContext, job_id: int | None) -> str:
    if job_id is None:
        return "No training job to cancel."
    job_svc.request_cancel(ctx, job_id)
    return f"Cancelling job {job_id}; no version is made from a cancelled step."


def refresh(ctx: AppContext) -> tuple[Any, ...]:
    """On load/tab select: class choices, and the latest training job (a reload re-attaches to it)."""
    job = ui_support.latest_job(ctx, JobKind.TRAIN)
    running = job is not None and not job.status.finished
    return (gr.update(choices=class_choices(class_svc.list_classes(ctx))), job.id if job else None,
            progress_html(job), gr.Timer(active=running))


def build_tab(ctx: AppContext, runner: Launcher) -> TabParts:
    """Widgets and handlers of the Train tab."""
    methods = training.list_methods()
    defaults = ctx.ml.train
    with gr.Tab("Train", id="train") as tab:
        gr.Markdown(NEXT)
        status = gr.Markdown(elem_id="train-status")
        with gr.Row():
            method = gr.Dropdown(label="Method", choices=[(f"{m.name} — {m.paper}", m.name) for m in methods],
                                 value="finetune", elem_id="train-method")
            new_ids = gr.Dropdown(label="New classes (empty = every tagged class the parent lacks)",
                                  multiselect=True, choices=[], elem_id="train-new")
        method_md = gr.Markdown(method_info("finetune")[0])
        parts_off = gr.CheckboxGroup(label="Switch parts off (ablation)",
                                     choices=list(next(m.parts for m in methods if m.name == "finetune")))
        with gr.Row():
            epochs = gr.Number(label="Epochs", value=defaults.epochs, precision=0, minimum=1)
            batch = gr.Number(label="Batch size", value=defaults.batch_size, precision=0, minimum=1)
            crop = gr.Number(label="Crop size (pixels)", value=defaults.crop_size, precision=0, minimum=32)
            lr = gr.Number(label="Learning rate", value=defaults.lr)
        with gr.Row():
            accepted_only = gr.Checkbox(label="Accepted masks only (skip pseudo-masks not reviewed)")
            from_scratch = gr.Checkbox(label="Start a new base model (ignore the active version)")
            name = gr.Textbox(label="Version name (optional)")
        plan_md = gr.Markdown(elem_id="train-plan")
        with gr.Row():
            plan_btn = gr.Button("Show plan", size="sm")
            start_btn = gr.Button("Start training", variant="primary", elem_id="train-start")
            cancel_btn = gr.Button("Cancel", elem_id="train-cancel")
        job_html = gr.HTML(elem_id="train-progress")
        done_md = gr.Markdown(elem_id="train-done")
        plot = gr.LinePlot(loss_frame([]), x="progress", y="loss", title="Training loss", x_title="progress (%)")
        job_id, losses, timer = gr.State(None), gr.State([]), gr.Timer(1.0, active=False)
    plan_inputs = [method, new_ids, accepted_only, from_scratch]
    method.change(partial(method_info), [method], [method_md, parts_off])
    for widget in [*plan_inputs, plan_btn]:
        (widget.click if widget is plan_btn else widget.change)(partial(show_plan, ctx), plan_inputs, [plan_md])
    values = [method, new_ids, parts_off, epochs, batch, crop, lr, accepted_only, from_scratch, name]
    start_btn.click(partial(start, ctx, runner), values, [status, job_id, job_html, timer, losses])
    cancel_btn.click(partial(cancel, ctx), [job_id], [status])
    timer.tick(partial(poll, ctx), [job_id, losses], [job_html, timer, losses, plot, done_md])
    tab.select(partial(show_plan, ctx), plan_inputs, [plan_md])
    return TabParts(tab, partial(refresh, ctx), [new_ids, job_id, job_html, timer])
