"""The "Overview" tab: the store's classes (colours, counts) and model versions, and what to do next."""
from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import gradio as gr

from ..services import AppContext
from ..services import classes as class_svc
from ..services import images as image_svc
from ..services import versions as version_svc

OverviewValues = tuple[str, str, list[list[Any]], list[list[Any]]]  # intro, legend, classes, versions
CLASS_HEADERS = ["id", "name", "colour", "images", "masks", "introduced in version", "archived"]
VERSION_HEADERS = ["active", "id", "name", "parent", "step", "method", "classes", "status"]


def next_steps(n_classes: int, n_images: int, n_versions: int) -> str:
    """Markdown telling the user what to do next, given how far the store has got."""
    if n_classes == 0 and n_images == 0:
        return ("### Welcome to incseg\nThis store is empty. Start by **creating classes** (e.g. "
                "`incseg classes add car`) or **importing a dataset** with masks "
                "(`incseg dataset import PATH`), then import images tagged with your classes.")
    if n_images == 0:
        return "### Next: import images\nTag them with the classes they show: `incseg images import FOLDER --tag NAME`."
    if n_versions == 0:
        return ("### Next: label and train\nReview or correct masks, then train a first model version. "
                "Every version is kept; you can roll back to any of them.")
    return "### Your store\nPick a version below to see its classes; activate an older one to roll back."


def legend_html(summaries: list[class_svc.ClassSummary]) -> str:
    """Colour swatches with escaped class names (names are user text: never trusted as HTML)."""
    chips = [f'<span style="display:inline-block;margin:2px 8px 2px 0">'
             f'<span style="display:inline-block;width:12px;height:12px;background:{s.cls.color};'
             f'border:1px solid #888;vertical-align:middle"></span> {html.escape(s.cls.name)}</span>'
             for s in summaries if not s.cls.archived]
    return "<div>" + "".join(chips) + "</div>" if chips else ""


def overview_values(ctx: AppContext) -> OverviewValues:
    """(next-steps markdown, legend HTML, class rows, version rows) for the tab's widgets."""
    summaries = class_svc.class_overview(ctx)
    versions = version_svc.list_versions(ctx)
    active = version_svc.active_version(ctx)
    class_rows = [[s.cls.id, s.cls.name, s.cls.color, s.image_count, s.mask_count,
                   s.cls.introduced_version_id or "", "yes" if s.cls.archived else ""] for s in summaries]
    version_rows = [["●" if active and v.id == active.id else "", v.id, v.name, v.parent_id or "", v.step, v.method,
                     len(v.class_ids) - 1, v.status.value] for v in reversed(versions)]
    text = next_steps(len(summaries), image_svc.count_images(ctx), len(versions))
    return text, legend_html(summaries), class_rows, version_rows


def build_tab(ctx: AppContext) -> tuple[gr.Tab, tuple[Callable[[], OverviewValues], list[Any]]]:
    """Create the tab's widgets; returns (tab, refresh function) so the app can refresh on load."""
    with gr.Tab("Overview") as tab:
        intro = gr.Markdown()
        legend = gr.HTML()
        gr.Markdown("#### Classes")
        class_table = gr.Dataframe(headers=CLASS_HEADERS, interactive=False, wrap=True)
        gr.Markdown("#### Model versions (● = active)")
        version_table = gr.Dataframe(headers=VERSION_HEADERS, interactive=False, wrap=True)
        refresh = gr.Button("Refresh", size="sm")
    outputs = [intro, legend, class_table, version_table]

    def load() -> OverviewValues:
        return overview_values(ctx)

    refresh.click(load, outputs=outputs)
    return tab, (load, outputs)
