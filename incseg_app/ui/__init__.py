"""Gradio web UI: ``build_app(ctx)`` opens one tab module per area; handlers call services only.

Gradio reads ``GRADIO_TEMP_DIR`` when it is imported, so the owner-only upload cache is chosen here,
before any tab module imports it (``services.access.gradio_cache_dir``)."""
from ..services.access import gradio_cache_dir

gradio_cache_dir()
