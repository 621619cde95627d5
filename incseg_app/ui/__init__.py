"""Gradio web UI: ``build_app(ctx)`` opens one tab module per area; handlers call services only."""
