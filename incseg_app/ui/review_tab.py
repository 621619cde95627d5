"""The "Pseudo-label & review" tab: draft masks in a background job, then review them one by one in
the mask editor, CVAT-style: the first item opens by itself, "x of y" with previous and next, a filter
by status and tag, most-likely-wrong order, accept / reject / save a correction, undo the last
decision and reopen any reviewed mask. Unsaved edits are never dropped: moving on with them is
refused until they are saved or reverted (accepting saves them as the correction)."""
from __future__ import annotations

from functools import partial
from typing import Any

import gradio as gr

from ..domain.enums import JobKind, ReviewStatus
from ..domain.records import Job
from ..services import AppContext, labeling, masks, review, review_editor, ui_support
from ..services import classes as class_svc
from ..services import jobs as job_svc
from ..services.runner import Launcher
from . import review_view
from .common import TabParts, cancelling, guarded, job_status_line, ok, progress_html, warn
from .mask_editor import MaskEditor
from .mask_editor.component import EditorState

NEXT = ("**How:** *Start pseudo-labelling* drafts a mask for every tagged image without one; the least "
        "trustworthy draft opens first. Check it in the editor: **A** accepts what you see (your edits become the "
        "correction), **R** rejects the draft, **N**/**→** next, **←** previous, **U** undoes the last decision. "
        "Paint with the class keys **1–9** (**0** background, **X** unsure), **H** hides the mask.")
UNSAVED = warn("You have unsaved edits on this mask: save them (Ctrl+S) or revert them before moving on.")
HISTORY = 50  # decisions that can be undone


def queue_filter(status: str | None, tag: str | None, order: str | None) -> review.QueueFilter:
    return review.QueueFilter(status or "to_review", tag or None, order or "likely_wrong")


def dirty(state: EditorState | None) -> bool:
    return state is not None and state.dirty


def at(ctx: AppContext, position: int, *filters: Any) -> tuple[Any, ...]:
    """The item view at ``position`` of the filtered queue."""
    filt = queue_filter(*filters)
    return review_view.view(ctx, filt, review.queue_item(ctx, filt, position))


@guarded(4)
def go(ctx: AppContext, delta: int, cur: dict | None, state: EditorState | None, *filters: Any) -> tuple[Any, ...]:
    """Previous (-1) / next (+1) item; refused while the editor holds unsaved edits."""
    if dirty(state):
        return UNSAVED, *[gr.skip()] * 4
    position = max(0, (cur["position"] if cur and cur["position"] >= 0 else -1) + delta)
    return "", *at(ctx, position, *filters)


@guarded(5)
def decide(ctx: AppContext, action: str, cur: dict | None, state: EditorState | None, history: list[dict],
           *filters: Any) -> tuple[Any, ...]:
    """Accept (with the edits, if any, saved as the correction) or reject the shown mask; then the next."""
    if cur is None:
        return warn("Nothing to review here."), *[gr.skip()] * 5
    if action == "reject" and dirty(state):
        return warn("Revert your edits before rejecting the draft (or save them as the correction)."), *[gr.skip()] * 5
    if dirty(state):
        decision = review.save_edit(ctx, cur["image_id"], cur["mask_id"], state.edited_png)
    else:
        decision = review.decide(ctx, cur["mask_id"], ReviewStatus.ACCEPTED if action == "accept" else ReviewStatus.REJECTED)
    return move_on(ctx, decision, cur, history, *filters)


def move_on(ctx: AppContext, decision: review.Decision, cur: dict, history: list[dict], *filters: Any) -> tuple[Any, ...]:
    """After a decision: the status line, the next item, and the decision remembered for undo."""
    filt = queue_filter(*filters)
    stays = review.matches(filt, masks.get_mask(ctx, decision.mask_id))
    what = (f"Saved your correction as revision {decision.mask_id} (accepted)" if decision.kind == "save"
            else f"Revision {decision.mask_id} {decision.after.value}")
    item = review.queue_item(ctx, filt, max(cur["position"], 0) + (1 if stays else 0))
    return (ok(f"{what}. **U** undoes it."), *review_view.view(ctx, filt, item), [*history, decision.to_dict()][-HISTORY:])


@guarded(5)
def save(ctx: AppContext, cur: dict | None, state: EditorState | None, history: list[dict], *filters: Any) -> tuple[Any, ...]:
    """The editor's Save: store the edited map as the accepted correction, then the next item."""
    if cur is None or not dirty(state):
        return warn("Nothing changed, so there is no correction to save (Accept keeps the draft as it is)."), \
            *[gr.skip()] * 5
    return move_on(ctx, review.save_edit(ctx, cur["image_id"], cur["mask_id"], state.edited_png), cur, history,
                   *filters)


@guarded(5)
def undo(ctx: AppContext, state: EditorState | None, history: list[dict], *filters: Any) -> tuple[Any, ...]:
    """Reverse the last decision and show that mask again."""
    if dirty(state):
        return UNSAVED, *[gr.skip()] * 5
    if not history:
        return warn("No decision to undo."), *[gr.skip()] * 5
    rev = review.undo(ctx, review.Decision.from_dict(history[-1]))
    filt = queue_filter(*filters)
    return (ok(f"Undone: revision {rev.id} is {rev.status.value.replace('_', ' ')} again."),
            *review_view.view(ctx, filt, review.item_for(ctx, filt, rev.id)), history[:-1])


@guarded(5)
def reopen(ctx: AppContext, cur: dict | None, history: list[dict], *filters: Any) -> tuple[Any, ...]:
    """Put the shown (reviewed) mask back in the queue and keep it on screen."""
    if cur is None:
        return warn("Pick a reviewed mask first (filter by status above)."), *[gr.skip()] * 5
    decision = review.reopen(ctx, cur["mask_id"])
    filt = queue_filter(*filters)
    return (ok(f"Revision {decision.mask_id} waits for review again."),
            *review_view.view(ctx, filt, review.item_for(ctx, filt, decision.mask_id)),
            [*history, decision.to_dict()][-HISTORY:])


@guarded(4)
def refilter(ctx: AppContext, state: EditorState | None, *filters: Any) -> tuple[Any, ...]:
    """A new filter or order: its first item (refused while edits are unsaved)."""
    if dirty(state):
        return UNSAVED, *[gr.skip()] * 4
    return "", *at(ctx, 0, *filters)


def refine_fn(ctx: AppContext) -> Any:
    return lambda image_id, mask, class_id, points, scale: review_editor.refine(ctx, image_id, mask, class_id,
                                                                               points, scale)


JOBS = {"label": "Pseudo-labelling", "relabel": "Relabelling the drafts from your corrections",
        "rank": "Ranking the drafts against the active model"}
KEPT = "masks already made are kept"  # drafts are committed image by image, so a cancel loses none


def started(what: str, job_id: int) -> str:
    """The status line of a job just started (``what``: a key of ``JOBS``); ``poll`` replaces it when the
    job ends."""
    return ok(f"{JOBS[what]} started (job {job_id}).")


def what_of(job: Job) -> str:
    """The key of ``JOBS`` a job was started as: ranking is an EVALUATE job, relabelling a pseudo-labelling
    job from the corrections."""
    if job.kind == JobKind.EVALUATE:
        return "rank"
    return "relabel" if job.params.get("from_corrections") else "label"


@guarded(3)
def start_job(ctx: AppContext, runner: Launcher, what: str, redo_rejected: bool) -> tuple[Any, ...]:
    """Start pseudo-labelling ("label"), relabelling the drafts from the reviewed masks ("relabel") or
    ranking the drafts against the active model ("rank")."""
    job = {"label": lambda: labeling.start_pseudo_labeling(ctx, runner, redo_rejected),
           "relabel": lambda: labeling.start_relabel_from_corrections(ctx, runner),
           "rank": lambda: review_editor.start_scoring(ctx, runner)}[what]()
    return started(what, job.id), job.id, progress_html(job), gr.Timer(active=True)


def poll(ctx: AppContext, job_id: int | None, status: str | None, cur: dict | None, state: EditorState | None,
         *filters: Any) -> tuple[Any, ...]:
    """Timer tick: the job's progress. When it has ended: how it ended on the status line (only while that
    still shows the job's start or cancel line), the localisation warnings, and the item again if none is
    on screen or the job replaced the draft on screen (unless it holds unsaved edits)."""
    if job_id is None:
        return "", gr.Timer(active=False), *[gr.skip()] * 6
    job = job_svc.get_job(ctx, job_id)
    if not job.status.finished:
        return progress_html(job), gr.Timer(active=True), *[gr.skip()] * 6
    what = what_of(job)
    line = job_status_line(job, status, (started(what, job.id), cancelling(job.id, KEPT)), JOBS[what], KEPT)
    stale = cur is not None and not dirty(state) and masks.head_mask(ctx, cur["image_id"]).id != cur["mask_id"]
    item = at(ctx, max(cur["position"], 0) if cur else 0, *filters) if cur is None or stale else [gr.skip()] * 4
    return progress_html(job), gr.Timer(active=False), line, review_view.warnings(ctx), *item


@guarded(0)
def cancel(ctx: AppContext, job_id: int | None) -> str:
    if job_id is None:
        return "No job to cancel."
    job_svc.request_cancel(ctx, job_id)
    return cancelling(job_id, KEPT)


def refresh(ctx: AppContext, cur: dict | None, *filters: Any) -> tuple[Any, ...]:
    """Page load / tab select: re-attach to the latest job, tag choices, the localisation warnings, and
    the first item when none is on screen (an item being edited is left alone)."""
    job = ui_support.latest_job(ctx, JobKind.PSEUDO_LABEL)
    names = [c.name for c in class_svc.list_classes(ctx, include_archived=False)]
    running = job is not None and not job.status.finished
    item = at(ctx, 0, *filters) if cur is None else [gr.skip()] * 4
    return (job.id if job else None, progress_html(job), gr.Timer(active=running),
            gr.update(choices=[("all tags", ""), *names]), review_view.warnings(ctx), *item)


def build_tab(ctx: AppContext, runner: Launcher) -> TabParts:
    """Widgets and handlers of the review tab."""
    with gr.Tab("Pseudo-label & review", id="review") as tab:
        gr.Markdown(NEXT)
        status = gr.Markdown(elem_id="review-status")
        with gr.Row():
            start_btn = gr.Button("Start pseudo-labelling", variant="primary", elem_id="pl-start")
            cancel_btn = gr.Button("Cancel job", elem_id="pl-cancel")
            redo = gr.Checkbox(label="Also redo rejected drafts", value=False)
        job_html = gr.HTML(elem_id="pl-progress")
        warnings_md = gr.Markdown(elem_id="review-warnings")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=300):
                f_status = gr.Dropdown([(v, k) for k, v in review_view.STATUS_LABELS.items()], value="to_review",
                                       label="Show", elem_id="review-filter")
                f_tag = gr.Dropdown([("all tags", "")], value="", label="Only images tagged", elem_id="review-tag")
                f_order = gr.Radio([(v, k) for k, v in review_view.ORDER_LABELS.items()], value="likely_wrong",
                                   label="Order", elem_id="review-order")
                position = gr.Markdown(elem_id="review-position")
                with gr.Row():
                    prev_btn = gr.Button("← Previous", size="sm", elem_id="review-prev")
                    next_btn = gr.Button("Next (N) →", size="sm", elem_id="review-next")
                facts = gr.Markdown(elem_id="review-item")
                with gr.Row():
                    accept_btn = gr.Button("Accept (A)", variant="primary", elem_id="review-accept")
                    reject_btn = gr.Button("Reject (R)", variant="stop", elem_id="review-reject")
                with gr.Row():
                    undo_btn = gr.Button("Undo decision (U)", size="sm", elem_id="review-undo")
                    reopen_btn = gr.Button("Reopen for review", size="sm", elem_id="review-reopen")
                relabel_btn = gr.Button("Relabel drafts from my corrections", size="sm", elem_id="review-relabel")
                rank_btn = gr.Button("Rank drafts against the model", size="sm", elem_id="review-rank")
            with gr.Column(scale=3):
                editor = MaskEditor(label="Mask", height=560, elem_id="review-editor", refine_fn=refine_fn(ctx),
                                    regions_fn=lambda image_id: review_editor.region_maps(ctx, image_id))
        cur, history, job_id = gr.State(None), gr.State([]), gr.State(None)
        timer = gr.Timer(1.0, active=False)
    filters = [f_status, f_tag, f_order]
    item = [cur, editor, position, facts]
    for button, delta in ((prev_btn, -1), (next_btn, 1)):
        button.click(partial(go, ctx, delta), [cur, editor, *filters], [status, *item])
    for button, action in ((accept_btn, "accept"), (reject_btn, "reject")):
        button.click(partial(decide, ctx, action), [cur, editor, history, *filters], [status, *item, history])
    editor.save(partial(save, ctx), [cur, editor, history, *filters], [status, *item, history])
    undo_btn.click(partial(undo, ctx), [editor, history, *filters], [status, *item, history])
    reopen_btn.click(partial(reopen, ctx), [cur, history, *filters], [status, *item, history])
    for f in filters:
        f.input(partial(refilter, ctx), [editor, *filters], [status, *item])
    start_btn.click(partial(start_job, ctx, runner, "label"), [redo], [status, job_id, job_html, timer])
    rank_btn.click(partial(start_job, ctx, runner, "rank"), [redo], [status, job_id, job_html, timer])
    relabel_btn.click(partial(start_job, ctx, runner, "relabel"), [redo], [status, job_id, job_html, timer])
    cancel_btn.click(partial(cancel, ctx), [job_id], [status])
    timer.tick(partial(poll, ctx), [job_id, status, cur, editor, *filters],
               [job_html, timer, status, warnings_md, *item],
               show_progress="hidden")  # a tick every second must not flash loading overlays
    return TabParts(tab, partial(refresh, ctx), [job_id, job_html, timer, f_tag, warnings_md, *item], [cur, *filters])
