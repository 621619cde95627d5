"""The "Start" tab: what to do next, a one-click demo project on an empty store, the store's classes and
model versions, and which CLIP/SAM weights pseudo-labelling uses (and how to add them)."""
from __future__ import annotations

from functools import partial
from typing import Any

import gradio as gr

from ..domain.errors import IncsegError
from ..services import AppContext, demo, labeling
from ..services import classes as class_svc
from ..services import images as image_svc
from ..services import versions as version_svc
from .common import TabParts, class_legend, esc, ok, problem

OverviewValues = tuple[str, str, list[list[Any]], list[list[Any]], Any]  # intro, legend, classes, versions, demo
CLASS_HEADERS = ["id", "name", "colour", "images", "masks", "introduced in version", "archived"]
VERSION_HEADERS = ["active", "id", "name", "parent", "step", "method", "classes", "status"]


def next_steps(n_classes: int, n_images: int, n_versions: int) -> str:
    """Markdown telling the user what to do next, given how far the store has got."""
    if n_classes == 0 and n_images == 0:
        return ("### Welcome to incseg\nThis store is empty. The workflow: **1. Classes** — name what you want "
                "segmented. **2. Images** — upload photos tagged with the classes they show. **3. Pseudo-label & "
                "review** — draft masks are made for you; accept, reject or correct them. **4. Train** — a model "
                "version learns the new classes. **5. Versions** — see what it learned and forgot; roll back any "
                "time. **6. Predict** — segment new photos.\n\nTo try it first, press **Create demo project**.")
    if n_images == 0:
        return "### Next: import images\nOpen **Images** and upload photos tagged with the classes they show."
    if n_versions == 0:
        return ("### Next: label and train\nOpen **Pseudo-label & review** to draft and check masks, then "
                "**Train** a first model version. Every version is kept; you can roll back to any of them.")
    return ("### Your store\nAdd classes and tagged images to teach the model more; **Versions** shows every "
            "version's report and rolls back.")


def overview_values(ctx: AppContext) -> OverviewValues:
    """(next-steps markdown, legend HTML, class rows, version rows, demo button update)."""
    summaries = class_svc.class_overview(ctx)
    versions = version_svc.list_versions(ctx)
    active = version_svc.active_version(ctx)
    class_rows = [[s.cls.id, s.cls.name, s.cls.color, s.image_count, s.mask_count,
                   s.cls.introduced_version_id or "", "yes" if s.cls.archived else ""] for s in summaries]
    version_rows = [["●" if active and v.id == active.id else "", v.id, v.name, v.parent_id or "", v.step, v.method,
                     len(v.class_ids) - 1, v.status.value] for v in reversed(versions)]
    n_images = image_svc.count_images(ctx)
    text = next_steps(len(summaries), n_images, len(versions))
    return text, class_legend([s.cls for s in summaries]), class_rows, version_rows, gr.update(visible=not summaries and not n_images)


def weights_markdown(ctx: AppContext) -> str:
    """The weight status lines as a Markdown list (paths are shown as code, never as HTML)."""
    return "\n".join(f"- {esc(line)}" for line in labeling.weight_status(ctx))


def create_demo(ctx: AppContext) -> tuple[Any, ...]:
    """One click: demo classes and tagged images in an empty store; then the refreshed overview."""
    try:
        message = ok(esc(demo.create_demo_project(ctx)))
    except IncsegError as exc:
        message = problem(exc)
    return (message, *overview_values(ctx))


def build_tab(ctx: AppContext) -> TabParts:
    """Widgets and handlers of the Start tab."""
    with gr.Tab("Start", id="start") as tab:
        intro = gr.Markdown(elem_id="start-intro")
        status = gr.Markdown(elem_id="start-status")
        demo_btn = gr.Button("Create demo project", variant="primary", visible=False, elem_id="demo-create")
        legend = gr.HTML()
        gr.Markdown("#### Classes")
        class_table = gr.Dataframe(headers=CLASS_HEADERS, interactive=False, wrap=True)
        gr.Markdown("#### Model versions (● = active)")
        version_table = gr.Dataframe(headers=VERSION_HEADERS, interactive=False, wrap=True)
        with gr.Accordion("Pseudo-labelling weights (CLIP / SAM)", open=False):
            weights = gr.Markdown(elem_id="weights-status")
    outputs = [intro, legend, class_table, version_table, demo_btn]
    demo_btn.click(partial(create_demo, ctx), outputs=[status, *outputs])
    return TabParts(tab, lambda: (*overview_values(ctx), weights_markdown(ctx)), [*outputs, weights])
