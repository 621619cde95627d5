"""``build_app(ctx)``: the Gradio Blocks of incseg — one module per tab, each with ``build_tab``.

Every tab hands back a refresh function that runs on page load and whenever the tab is selected, so
classes created in one tab appear in the others' pickers. ``LAUNCH`` holds what Gradio 6 takes at
``launch()`` (theme, CSS, the review keyboard shortcuts).
"""
from __future__ import annotations

from typing import Any

import gradio as gr

from ..services import AppContext
from ..services.job_process import ProcessJobRunner
from ..services.runner import Launcher
from . import (classes_tab, images_tab, overview_tab, predict_tab, review_tab, train_tab,
               versions_tab)

TITLE = "incseg — continual segmentation curation"
THEME = gr.themes.Soft()
CSS = """
.gradio-container {max-width: 1280px !important}
.incseg-legend {display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 4px 0}
.incseg-chip {display: inline-flex; align-items: center; gap: 6px}
.incseg-swatch {display: inline-block; width: 14px; height: 14px; border: 1px solid #888}
.incseg-job progress {width: 60%; vertical-align: middle}
"""
# A, R and N press the review buttons unless the user is typing in a field.
SHORTCUTS_JS = """
() => {
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) return;
    const id = {a: 'review-accept', r: 'review-reject', n: 'review-next'}[e.key.toLowerCase()];
    const button = id && document.getElementById(id);
    if (!button || button.offsetParent === null) return;
    e.preventDefault();
    button.click();
  });
}
"""
LAUNCH: dict[str, Any] = {"theme": THEME, "css": CSS, "js": SHORTCUTS_JS}


def build_app(ctx: AppContext, runner: Launcher | None = None) -> gr.Blocks:
    """The app's Blocks for the store in ``ctx``; jobs run on ``runner`` (default: each in a child
    process, so a crash or an out-of-memory kill in a job never takes the server down)."""
    runner = runner or ProcessJobRunner(ctx)
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"## {TITLE}")
        with gr.Tabs():
            tabs = [overview_tab.build_tab(ctx), classes_tab.build_tab(ctx), images_tab.build_tab(ctx),
                    review_tab.build_tab(ctx, runner), train_tab.build_tab(ctx, runner),
                    versions_tab.build_tab(ctx), predict_tab.build_tab(ctx)]
        for parts in tabs:
            demo.load(parts.refresh, outputs=parts.outputs)
            parts.tab.select(parts.refresh, outputs=parts.outputs)
    return demo
