"""The "Start" tab: what to do next, a one-click demo project on an empty store, the store's classes and
model versions, and the CLIP/SAM weights pseudo-labelling uses — shown, and settable for this store."""
from __future__ import annotations

from functools import partial
from typing import Any

import gradio as gr

from ..domain.errors import IncsegError
from ..services import AppContext, demo, labeling
from ..services import classes as class_svc
from ..services import images as image_svc
from ..services import versions as version_svc
from ..services import weights_settings as weights
from .common import TabParts, class_legend, esc, guarded, ok, problem

OverviewValues = tuple[str, str, list[list[Any]], list[list[Any]], Any]  # intro, legend, classes, versions, demo
CLASS_HEADERS = ["id", "name", "colour", "images", "masks", "introduced in version", "archived"]
VERSION_HEADERS = ["active", "id", "name", "parent", "step", "method", "classes", "status"]
WEIGHTS_HOW = ("Set the files below (they are checked and saved with this store, and every process that opens "
               "it uses them), or start the app with `python app.py --clip-model ViT-B-16 --clip-pretrained FILE "
               "--sam-checkpoint FILE --sam-model-type vit_b` (or the `INCSEG_CLIP_PRETRAINED`, "
               "`INCSEG_SAM_CHECKPOINT` … variables), which win over the saved values. Leave a path empty to use "
               "the fallback. Nothing is ever downloaded.")


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


def weight_fields(ctx: AppContext) -> tuple[str, str, str, str]:
    w = weights.current_weights(ctx)
    return w.clip_model, w.clip_pretrained, w.sam_checkpoint, w.sam_model_type


@guarded(1)
def save_weights(ctx: AppContext, clip_model: str, clip_file: str, sam_file: str, sam_type: str) -> tuple[Any, ...]:
    """Check and save the weight files for this store; the status lines then say what runs."""
    weights.set_weights(ctx, weights.WeightPaths(clip_model or "", clip_file or "", sam_file or "", sam_type or ""))
    return ok("Saved: pseudo-labelling and click-to-refine use these files from now on."), weights_markdown(ctx)


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
        with gr.Accordion("Pseudo-labelling weights (CLIP / SAM)", open=False, elem_id="weights-panel"):
            weights_md = gr.Markdown(elem_id="weights-status")
            gr.Markdown(WEIGHTS_HOW)
            with gr.Row():
                clip_model = gr.Textbox(label="CLIP architecture (open_clip name)", elem_id="weights-clip-model")
                clip_file = gr.Textbox(label="CLIP weights file on the server", elem_id="weights-clip-file")
            with gr.Row():
                sam_file = gr.Textbox(label="SAM checkpoint file on the server", elem_id="weights-sam-file")
                sam_type = gr.Dropdown(list(weights.SAM_TYPES), label="SAM model type", elem_id="weights-sam-type")
            save_btn = gr.Button("Check and save", size="sm", elem_id="weights-save")
            weights_status = gr.Markdown(elem_id="weights-saved")
    outputs = [intro, legend, class_table, version_table, demo_btn]
    fields = [clip_model, clip_file, sam_file, sam_type]
    demo_btn.click(partial(create_demo, ctx), outputs=[status, *outputs])
    save_btn.click(partial(save_weights, ctx), fields, [weights_status, weights_md])
    return TabParts(tab, lambda: (*overview_values(ctx), weights_markdown(ctx), *weight_fields(ctx)),
                    [*outputs, weights_md, *fields])
