"""``build_app(ctx)``: the Gradio Blocks of incseg; one module per tab, each with ``build_tab``."""
from __future__ import annotations

import gradio as gr

from ..services import AppContext
from . import overview_tab

TITLE = "incseg — continual segmentation curation"
THEME = gr.themes.Soft()
CSS = ".gradio-container {max-width: 1200px !important}"


def build_app(ctx: AppContext) -> gr.Blocks:
    """The app's Blocks for the store in ``ctx``; theme and CSS are given to ``launch`` (Gradio 6)."""
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"## {TITLE}\nStore: `{ctx.root}`")
        with gr.Tabs():
            _, (load_overview, overview_outputs) = overview_tab.build_tab(ctx)
        demo.load(load_overview, outputs=overview_outputs)
    return demo
