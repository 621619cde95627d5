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
.gradio-container {max-width: 1400px !important}
.incseg-legend {display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 4px 0}
.incseg-chip {display: inline-flex; align-items: center; gap: 6px}
.incseg-swatch {display: inline-block; width: 14px; height: 14px; border: 1px solid #888}
.incseg-job progress {width: 60%; vertical-align: middle}
#image-gallery .caption-label {white-space: normal; max-width: 96%; opacity: 0.92; font-size: 12px; line-height: 1.3}
.incseg-heat {border-collapse: collapse; font-size: 15px; margin: 8px 0; min-width: 420px}
.incseg-heat caption {text-align: left; font-weight: 600; padding-bottom: 4px}
.incseg-heat th, .incseg-heat td {border: 1px solid #d4d4d8; padding: 6px 14px; text-align: right; min-width: 64px}
.incseg-heat th {background: #f4f4f5; text-align: left}
"""
# Review keys press the review buttons unless the user is typing in a field: A accept, R reject,
# N or → next, ← previous, U undo the last decision. (The mask editor handles its own keys.)
SHORTCUTS_JS = """
() => {
  const ids = {a: 'review-accept', r: 'review-reject', n: 'review-next', arrowright: 'review-next',
               arrowleft: 'review-prev', u: 'review-undo'};
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
    const id = ids[e.key.toLowerCase()];
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
            demo.load(parts.refresh, inputs=parts.inputs, outputs=parts.outputs)
            parts.tab.select(parts.refresh, inputs=parts.inputs, outputs=parts.outputs)
    return demo
