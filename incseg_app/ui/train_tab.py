"""The "Train" tab: pick what the step should do in plain words (the recommended incremental method
first, papers in a details line), see the plan (parent, classes, which masks train and which validate),
start the step as a background job and watch its loss. The loss curve is read from the job's stored
metrics, so it survives a reload; a reload also shows the running job's settings in the form."""
from __future__ import annotations

from functools import partial
from typing import Any

import gradio as gr
import pandas as pd

from ..domain.enums import JobKind, JobStatus
from ..services import AppContext, job_metrics, training, ui_support
from ..services import classes as class_svc
from ..services import jobs as job_svc
from ..services.runner import Launcher
from .common import TabParts, cancelling, class_choices, esc, guarded, job_status_line, ok, progress_html, warn

NEXT = ("**How:** pick what the step should do, check the plan (what it learns, from which masks, and which "
        "masks measure it), press *Start training* and watch the loss. The new version becomes active when it is "
        "ready; **Versions** then shows how well each class is segmented and what the old classes forgot.")
PLAIN = {"finetune": "forgets old classes (reference only)",
         "joint": "retrains every class from full labels (slow; upper bound)",
         "mib": "keeps old classes (models the background)",
         "gsc": "keeps old classes (gradient and semantic compensation)",
         "incrementer": "keeps old classes (a new token per class)",
         "fmwiss": "learns new classes from image tags (teacher–student), keeps old ones",
         "fmwiss+gsc": "learns from image tags and compensates old classes (FMWISS + GSC)",
         "fmwiss+incrementer": "learns from image tags with a token per class (FMWISS + Incrementer)"}
KEPT = "no version is made from a cancelled step"
FORM_KEYS = ["method", "new_class_ids", "parts_off", "epochs", "batch_size", "crop_size", "lr", "accepted_only",
             "from_scratch", "name", "validate_on_drafts"]


def method_label(info: training.MethodInfo) -> str:
    plain = PLAIN.get(info.name) or ("retrains every class" if info.joint else "incremental method")
    return f"{plain}{' — recommended' if info.name == training.DEFAULT_METHOD else ''}"


def method_choices() -> list[tuple[str, str]]:
    """The recommended method first, then the other incremental ones, then the references."""
    methods = training.list_methods()
    rank = {training.DEFAULT_METHOD: 0, "finetune": 2, "joint": 3}
    return [(method_label(m), m.name) for m in sorted(methods, key=lambda m: rank.get(m.name, 1))]


def method_info(name: str) -> tuple[str, Any]:
    """(details Markdown, ablation checkbox update) of a registered method."""
    info = next((m for m in training.list_methods() if m.name == name), None)
    if info is None:
        return "", gr.update(choices=[], value=[])
    parts = ", ".join(f"`{p}`" for p in info.parts) or "none"  # registry names, not user text
    return (f"<details><summary>Method <code>{info.name}</code>: what it is</summary>{esc(info.paper)}. "
            f"Parts: {parts}.</details>", gr.update(choices=list(info.parts), value=[]))


def plan_text(plan: training.StepPlan) -> str:
    parent = f"v{plan.parent_version_id} {esc(plan.parent_name)}" if plan.parent_version_id else "none (a new base model)"
    counts = ", ".join(f"{esc(k)}: {v}" for k, v in sorted(plan.mask_counts.items())) or "none"
    val = ", ".join(f"{esc(k)}: {v}" for k, v in sorted(plan.val_counts.items())) or "none"
    which = "reviewed masks and unreviewed drafts (you asked)" if plan.validate_on_drafts else "reviewed masks only"
    lines = [f"**Parent version:** {parent}",
             f"**Keeps (old classes):** {esc(', '.join(plan.old_classes)) or 'none'}",
             f"**Learns (new classes):** {esc(', '.join(plan.new_classes)) or 'nothing new'}",
             f"**Training images:** {plan.n_train_images} (masks: {counts})",
             f"**Validated on:** {plan.n_val_images} val image(s), {which} ({val})"]
    return "\n\n".join(lines) + ("\n\n" + "\n".join(f"- {warn(esc(w))}" for w in plan.warnings) if plan.warnings else "")


@guarded(0)
def show_plan(ctx: AppContext, method: str, new_ids: list[int], accepted_only: bool, from_scratch: bool,
              on_drafts: bool) -> str:
    return plan_text(training.plan_step(ctx, new_ids or None, accepted_only, None, method, from_scratch,
                                          validate_on_drafts=on_drafts))


def request_of(method: str, new_ids: list[int], parts_off: list[str], epochs: float, batch: float, crop: float,
               lr: float, accepted_only: bool, from_scratch: bool, name: str, on_drafts: bool) -> training.TrainRequest:
    """A TrainRequest from the widget values (numbers arrive as floats)."""
    return training.TrainRequest(method=method, new_class_ids=tuple(new_ids) if new_ids else None,
                                 parts_off=tuple(parts_off or ()), epochs=int(epochs), batch_size=int(batch),
                                 crop_size=int(crop), lr=float(lr), accepted_only=accepted_only,
                                 from_scratch=from_scratch, name=name or "", validate_on_drafts=on_drafts)


def started(job_id: int) -> str:
    """The status line of a training job just started; ``poll`` replaces it when the job ends."""
    return ok(f"Training started (job {job_id}); the loss appears below.")


@guarded(4)
def start(ctx: AppContext, runner: Launcher, *values: Any) -> tuple[Any, ...]:
    job = training.start_training(ctx, runner, request_of(*values))
    return started(job.id), job.id, progress_html(job), gr.Timer(active=True), loss_frame(ctx, None)


def loss_frame(ctx: AppContext, job_id: int | None) -> pd.DataFrame:
    """The job's stored loss curve: progress (%) against the total loss."""
    rows = job_metrics.loss_curve(ctx, job_id) if job_id is not None else []
    return pd.DataFrame(rows, columns=["progress", "loss"])


def outcome(job: Any) -> str:
    if job.status == JobStatus.DONE:
        return ok(f"Version v{job.result.get('version_id')} is ready and active: open **Versions** to see its report.")
    if job.status.finished:
        return warn(f"Job {job.id} {job.status.value}: {esc(job.error or job.message)}")
    return ""


def poll(ctx: AppContext, job_id: int | None, status: str | None) -> tuple[Any, ...]:
    """Timer tick: progress bar, the stored loss curve, what to do when the job has ended, and how it ended
    on the status line (only while that still shows the job's start or cancel line)."""
    if job_id is None:
        return "", gr.Timer(active=False), gr.skip(), "", gr.skip()
    job = job_svc.get_job(ctx, job_id)
    line = job_status_line(job, status, (started(job.id), cancelling(job.id, KEPT)), "Training", KEPT)
    return progress_html(job), gr.Timer(active=not job.status.finished), loss_frame(ctx, job_id), outcome(job), line


@guarded(0)
def cancel(ctx: AppContext, job_id: int | None) -> str:
    if job_id is None:
        return "No training job to cancel."
    job_svc.request_cancel(ctx, job_id)
    return cancelling(job_id, KEPT)


def form_of(job: Any) -> list[Any]:
    """The form values of a running job's request (so a reload shows what is being trained), then the
    method's details line."""
    params = dict(job.params)
    details, parts = method_info(params.get("method", ""))
    params["new_class_ids"] = list(params.get("new_class_ids") or [])
    params["parts_off"] = gr.update(choices=parts["choices"], value=list(params.get("parts_off") or []))
    return [params.get(k) for k in FORM_KEYS] + [details]


def refresh(ctx: AppContext) -> tuple[Any, ...]:
    """On load/tab select: class choices, the latest training job with its loss curve, and — while it
    runs — its settings in the form."""
    job = ui_support.latest_job(ctx, JobKind.TRAIN)
    running = job is not None and not job.status.finished
    form = form_of(job) if running else [gr.skip()] * (len(FORM_KEYS) + 1)
    return (gr.update(choices=class_choices(class_svc.list_classes(ctx))), job.id if job else None,
            progress_html(job), gr.Timer(active=running), loss_frame(ctx, job.id if job else None),
            outcome(job) if job else "", *form)


def build_tab(ctx: AppContext, runner: Launcher) -> TabParts:
    """Widgets and handlers of the Train tab."""
    defaults = ctx.ml.train
    with gr.Tab("Train", id="train") as tab:
        gr.Markdown(NEXT)
        status = gr.Markdown(elem_id="train-status")
        with gr.Row():
            method = gr.Dropdown(label="What should this step do?", choices=method_choices(),
                                 value=training.DEFAULT_METHOD, elem_id="train-method")
            new_ids = gr.Dropdown(label="New classes (empty = every tagged class the parent lacks)",
                                  multiselect=True, choices=[], elem_id="train-new")
        method_md = gr.HTML(method_info(training.DEFAULT_METHOD)[0], elem_id="train-method-details")
        with gr.Row():
            epochs = gr.Number(label="Epochs (passes over the images)", value=defaults.epochs, precision=0, minimum=1)
            accepted_only = gr.Checkbox(label="Train on reviewed masks only (skip drafts nobody checked)")
            name = gr.Textbox(label="Version name (optional)")
        with gr.Accordion("Advanced", open=False, elem_id="train-advanced"):
            with gr.Row():
                batch = gr.Number(label="Batch size", value=defaults.batch_size, precision=0, minimum=1)
                crop = gr.Number(label="Crop size (pixels)", value=defaults.crop_size, precision=0, minimum=32)
                lr = gr.Number(label="Learning rate", value=defaults.lr)
            parts_off = gr.CheckboxGroup(label="Switch parts of the method off (ablation)",
                                         choices=list(method_info(training.DEFAULT_METHOD)[1]["choices"]))
            with gr.Row():
                from_scratch = gr.Checkbox(label="Start a new base model (ignore the active version)")
                on_drafts = gr.Checkbox(label="Also validate on val drafts nobody reviewed (IoU and forgetting then "
                                              "rest on unchecked masks)", elem_id="train-on-drafts")
        plan_md = gr.Markdown(elem_id="train-plan")
        with gr.Row():
            start_btn = gr.Button("Start training", variant="primary", elem_id="train-start")
            cancel_btn = gr.Button("Cancel", elem_id="train-cancel")
        job_html = gr.HTML(elem_id="train-progress")
        done_md = gr.Markdown(elem_id="train-done")
        plot = gr.LinePlot(loss_frame(ctx, None), x="progress", y="loss", title="Training loss", x_title="progress (%)",
                           elem_id="train-loss")
        job_id, timer = gr.State(None), gr.Timer(1.0, active=False)
    plan_inputs = [method, new_ids, accepted_only, from_scratch, on_drafts]
    method.input(method_info, [method], [method_md, parts_off])
    for widget in plan_inputs:
        widget.change(partial(show_plan, ctx), plan_inputs, [plan_md])
    values = [method, new_ids, parts_off, epochs, batch, crop, lr, accepted_only, from_scratch, name, on_drafts]
    start_btn.click(partial(start, ctx, runner), values, [status, job_id, job_html, timer, plot])
    cancel_btn.click(partial(cancel, ctx), [job_id], [status])
    timer.tick(partial(poll, ctx), [job_id, status], [job_html, timer, plot, done_md, status], show_progress="hidden")
    tab.select(partial(show_plan, ctx), plan_inputs, [plan_md])
    return TabParts(tab, partial(refresh, ctx), [new_ids, job_id, job_html, timer, plot, done_md, *values, method_md])
