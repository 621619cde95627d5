"""The "Pseudo-label & review" tab: run pseudo-labelling as a job (progress bar, cancel), then review
the queue lowest confidence first — accept (A), reject (R), next (N) — or correct a mask with the
brush editor (exact class colours, eraser) and click-to-refine points (with undo). Every save is a
new mask revision against the revision the user saw (``expected_parent_id``), so a concurrent edit
is refused with a message instead of being overwritten."""
from __future__ import annotations

from functools import partial
from typing import Any

import gradio as gr

from ..domain.enums import JobKind, MaskKind, ReviewStatus
from ..domain.records import MaskRevision
from ..services import AppContext, labeling, ui_support
from ..services import classes as class_svc
from ..services import images as image_svc
from ..services import jobs as job_svc
from ..services import masks as mask_svc
from ..services.runner import Launcher
from . import render
from .common import TabParts, class_choices, class_legend, esc, guarded, ok, progress_html

NEXT = ("**How:** *Start pseudo-labelling* drafts a mask for every tagged image without one. Then review "
        "the queue (least confident first): **A** accept, **R** reject, **N** next. To fix a mask, paint over "
        "it in the editor with a class colour (black = background, beige = unsure; the eraser removes your "
        "strokes) or click on the overlay to add positive/negative points for a class, then *Save "
        "correction*. When enough masks are accepted, go to **Train**.")
EMPTY_ITEM = (None, "The review queue is empty.", None, None, "", None, [], None)


def queue_line(ctx: AppContext, tag: str | None) -> str:
    waiting = len(mask_svc.review_queue(ctx, tag=tag or None))
    if waiting == 0:
        return "**No mask waits for review.** Start pseudo-labelling, or go to **Train**."
    return f"**{waiting} mask(s) wait for review** (lowest confidence first)."


def editor_value(ctx: AppContext, image_id: int, mask: Any) -> dict[str, Any]:
    """ImageEditor update: the photo tinted by the mask as background (strokes go on a clear layer on
    top), brushes in exactly the live class colours plus "unsure" and black = background."""
    classes = class_svc.list_classes(ctx)
    colors = [c.color for c in classes if not c.archived] + [render.VOID_HEX, render.BACKGROUND_HEX]
    picture = render.overlay(image_svc.read_image(ctx, image_id), mask, render.palette(classes))
    value = {"background": picture, "composite": None, "layers": []}
    return gr.update(value=value, brush=gr.Brush(colors=colors, default_color=colors[0], color_mode="fixed"))


def item_values(ctx: AppContext, rev: MaskRevision | None) -> tuple[Any, ...]:
    """(current, info, image, overlay, legend, editor, points, work mask) for one queue entry."""
    if rev is None:
        return EMPTY_ITEM
    record = image_svc.get_image(ctx, rev.image_id)
    image, mask = image_svc.read_image(ctx, rev.image_id), mask_svc.read_mask(ctx, rev.id)
    classes = class_svc.list_classes(ctx)
    conf = "–" if rev.confidence is None else f"{rev.confidence:.0%}"
    info = (f"**{esc(record.original_name)}** (image #{record.id}, tags {esc(', '.join(record.tags)) or 'none'}) · "
            f"confidence {conf} · {rev.kind.value} from {esc(rev.source or rev.author or 'unknown')} · "
            f"revision {rev.id}")
    current = {"image_id": rev.image_id, "mask_id": rev.id}
    return (current, info, image, render.overlay(image, mask, render.palette(classes)), class_legend(classes),
            editor_value(ctx, rev.image_id, mask), [], mask)


def show_next(ctx: AppContext, tag: str | None, skipped: list[int]) -> tuple[Any, ...]:
    """The first queue entry not skipped (skips reset once everything was skipped) + queue line + skips."""
    queue = mask_svc.review_queue(ctx, tag=tag or None)
    fresh = [r for r in queue if r.id not in skipped]
    if not fresh and queue:
        skipped, fresh = [], queue
    return (*item_values(ctx, fresh[0] if fresh else None), queue_line(ctx, tag), skipped)


@guarded(10)
def review(ctx: AppContext, action: str, current: dict | None, tag: str | None,
           skipped: list[int]) -> tuple[Any, ...]:
    """Accept / reject the shown revision, or skip it (``next``); then show the next entry."""
    if current is None:
        return ("Nothing to review here yet.", *show_next(ctx, tag, skipped))
    if action == "next":
        return ("Skipped; it stays in the queue.", *show_next(ctx, tag, [*skipped, current["mask_id"]]))
    status = ReviewStatus.ACCEPTED if action == "accept" else ReviewStatus.REJECTED
    mask_svc.set_review_status(ctx, current["mask_id"], status)
    return (ok(f"Revision {current['mask_id']} {status.value}."), *show_next(ctx, tag, skipped))


@guarded(10)
def save_correction(ctx: AppContext, current: dict | None, editor: dict | None, work_mask: Any,
                    tag: str | None, skipped: list[int]) -> tuple[Any, ...]:
    """Apply the brush strokes to the mask being edited (refined by clicks, if any) and save the
    result as a new accepted revision of the image."""
    if current is None or work_mask is None:
        return ("⚠️ Nothing to save: pick a mask from the queue first.", *[gr.skip()] * 10)
    record = image_svc.get_image(ctx, current["image_id"])
    strokes = (editor or {}).get("layers") or []
    mask = render.layers_to_mask(strokes, render.palette(class_svc.list_classes(ctx)), work_mask)
    rev = mask_svc.save_mask(ctx, record.id, mask, MaskKind.CORRECTED, ReviewStatus.ACCEPTED,
                             expected_parent_id=current["mask_id"], author="web", source="brush editor")
    return (ok(f"Saved the correction of {esc(record.original_name)} as revision {rev.id} (accepted)."),
            *show_next(ctx, tag, skipped))


@guarded(3)
def refine(ctx: AppContext, current: dict | None, points: list, class_id: int | None) -> tuple[Any, ...]:
    """Re-run click-to-refine from the saved revision with ``points``; returns the new overlay/editor."""
    if current is None or class_id is None:
        return "⚠️ Pick a mask from the queue and a class to refine first.", gr.skip(), gr.skip(), gr.skip()
    base = mask_svc.read_mask(ctx, current["mask_id"])
    pts = [(int(x), int(y), bool(p)) for x, y, p in points]
    mask = labeling.refine_click(ctx, current["image_id"], base, class_id, pts) if pts else base
    image = image_svc.read_image(ctx, current["image_id"])
    picture = render.draw_points(render.overlay(image, mask, render.palette(class_svc.list_classes(ctx))), pts)
    return (f"{len(pts)} point(s); *Save correction* keeps the result.", picture,
            editor_value(ctx, current["image_id"], mask), mask)


def click(ctx: AppContext, current: dict | None, points: list, class_id: int | None, polarity: str,
          evt: gr.SelectData) -> tuple[Any, ...]:
    """A click on the overlay adds a positive or negative point at (x, y) pixels and refines."""
    if current is None or class_id is None:
        return (*refine(ctx, current, points, class_id), points)
    new_points = [*points, (int(evt.index[0]), int(evt.index[1]), polarity == "positive")]
    return (*refine(ctx, current, new_points, class_id), new_points)


def undo(ctx: AppContext, current: dict | None, points: list, class_id: int | None) -> tuple[Any, ...]:
    """Drop the last point and refine again from the saved revision."""
    return (*refine(ctx, current, points[:-1], class_id), points[:-1])


@guarded(3)
def start_labeling(ctx: AppContext, runner: Launcher, redo_rejected: bool) -> tuple[Any, ...]:
    job = labeling.start_pseudo_labeling(ctx, runner, redo_rejected)
    return ok(f"Pseudo-labelling started (job {job.id})."), job.id, progress_html(job), gr.Timer(active=True)


def poll(ctx: AppContext, job_id: int | None, tag: str | None) -> tuple[Any, ...]:
    """Timer tick: the job's progress bar; the timer stops once the job has ended."""
    if job_id is None:
        return "", gr.Timer(active=False), queue_line(ctx, tag)
    job = job_svc.get_job(ctx, job_id)
    return progress_html(job), gr.Timer(active=not job.status.finished), queue_line(ctx, tag)


@guarded(0)
def cancel(ctx: AppContext, job_id: int | None) -> str:
    if job_id is None:
        return "No pseudo-labelling job to cancel."
    job_svc.request_cancel(ctx, job_id)
    return f"Cancelling job {job_id}; masks already made are kept."


def refresh(ctx: AppContext) -> tuple[Any, ...]:
    """On load/tab select: the latest labelling job (a reload re-attaches to it), tags, class choices."""
    job = ui_support.latest_job(ctx, JobKind.PSEUDO_LABEL)
    running = job is not None and not job.status.finished
    names = [c.name for c in class_svc.list_classes(ctx, include_archived=False)]
    choices = class_choices(class_svc.list_classes(ctx))
    return (job.id if job else None, progress_html(job), gr.Timer(active=running),
            gr.update(choices=[("all tags", ""), *names]), gr.update(choices=choices,
                                                                      value=choices[0][1] if choices else None))


def build_tab(ctx: AppContext, runner: Launcher) -> TabParts:
    """Widgets and handlers of the review tab."""
    with gr.Tab("Pseudo-label & review", id="review") as tab:
        gr.Markdown(NEXT)
        status = gr.Markdown(elem_id="review-status")
        with gr.Row():
            start_btn = gr.Button("Start pseudo-labelling", variant="primary", elem_id="pl-start")
            cancel_btn = gr.Button("Cancel", elem_id="pl-cancel")
            redo = gr.Checkbox(label="Also redo rejected pseudo-masks", value=False)
        job_html = gr.HTML(elem_id="pl-progress")
        job_id, timer = gr.State(None), gr.Timer(1.0, active=False)
        with gr.Row():
            queue_md = gr.Markdown(elem_id="review-queue")
            tag = gr.Dropdown(label="Only images tagged", choices=[("all tags", "")], value="")
        item_md = gr.Markdown(elem_id="review-item")
        legend = gr.HTML()
        with gr.Row():
            image = gr.Image(label="Image", type="numpy", format="png", interactive=False, height=360)
            overlay = gr.Image(label="Mask overlay (click to add a refine point)", type="numpy", format="png",
                               interactive=False, height=360, elem_id="review-overlay")
        with gr.Row():
            accept_btn = gr.Button("Accept (A)", variant="primary", elem_id="review-accept")
            reject_btn = gr.Button("Reject (R)", variant="stop", elem_id="review-reject")
            next_btn = gr.Button("Next (N)", elem_id="review-next")
        with gr.Row():
            refine_class = gr.Dropdown(label="Refine class", choices=[])
            polarity = gr.Radio(["positive", "negative"], value="positive", label="Next click adds a")
            undo_btn = gr.Button("Undo last point", size="sm")
        editor = gr.ImageEditor(label="Correct the mask: paint with a class colour (black = background)",
                                type="numpy", image_mode="RGBA", format="png", sources=(), transforms=(),
                                layers=gr.LayerOptions(allow_additional_layers=False),
                                brush=gr.Brush(colors=[render.VOID_HEX], color_mode="fixed"),
                                eraser=gr.Eraser(), height=560, elem_id="review-editor")
        save_btn = gr.Button("Save correction", variant="primary", elem_id="review-save")
        current, points, work_mask, skipped = gr.State(None), gr.State([]), gr.State(None), gr.State([])
    item = [current, item_md, image, overlay, legend, editor, points, work_mask, queue_md, skipped]
    for button, action in ((accept_btn, "accept"), (reject_btn, "reject"), (next_btn, "next")):
        button.click(partial(review, ctx, action), [current, tag, skipped], [status, *item])
    tag.change(partial(show_next, ctx), [tag, skipped], item)
    save_btn.click(partial(save_correction, ctx), [current, editor, work_mask, tag, skipped], [status, *item])
    refined = [status, overlay, editor, work_mask, points]

    def on_click(cur: dict | None, pts: list, class_id: int | None, pol: str, evt: gr.SelectData) -> tuple[Any, ...]:
        return click(ctx, cur, pts, class_id, pol, evt)  # a plain function: gradio injects evt by type hint

    overlay.select(on_click, [current, points, refine_class, polarity], refined)
    undo_btn.click(partial(undo, ctx), [current, points, refine_class], refined)
    start_btn.click(partial(start_labeling, ctx, runner), [redo], [status, job_id, job_html, timer])
    cancel_btn.click(partial(cancel, ctx), [job_id], [status])
    timer.tick(partial(poll, ctx), [job_id, tag], [job_html, timer, queue_md])
    tab.select(partial(show_next, ctx), [tag, skipped], item)
    return TabParts(tab, partial(refresh, ctx), [job_id, job_html, timer, tag, refine_class])
