"""The Start tab (next steps, demo project, weights panel), the whole app, and launch settings."""
from __future__ import annotations

import logging

import gradio as gr
import pytest

from incseg_app.domain.errors import ValidationError
from incseg_app.services import classes, versions
from incseg_app.ui.app import LAUNCH, build_app
from incseg_app.ui.overview_tab import create_demo, overview_values, weights_markdown
from incseg_app.ui.server import resolve_launch
from store_helpers import store  # noqa: F401
from ui_helpers import ctx, plain  # noqa: F401


def test_empty_store_explains_the_workflow_and_offers_the_demo(store):
    text, legend, class_rows, version_rows, demo_button = overview_values(store)
    assert "store is empty" in text and "**1. Classes**" in text and "Create demo project" in text
    assert (legend, class_rows, version_rows) == ("", [], [])
    assert demo_button["visible"] is True


def test_classes_and_versions_with_active_marker(store):
    classes.create_class(store, "<b>car</b>", "#ff0000")
    v = versions.create_version(store, "base", [0, 1], "finetune")
    versions.mark_ready(store, v.id, store.blobs.put_bytes(b"ckpt"))
    versions.activate(store, v.id)
    text, legend, class_rows, version_rows, demo_button = overview_values(store)
    assert class_rows == [[1, "<b>car</b>", "#ff0000", 0, 0, v.id, ""]]
    assert "&lt;b&gt;car&lt;/b&gt;" in legend and "<b>car" not in legend  # user text is escaped
    assert version_rows == [["●", v.id, "base", "", 0, "finetune", 1, "ready"]]
    assert "Next: import images" in text and demo_button["visible"] is False


def test_demo_project_fills_an_empty_store_once(ctx):
    status, text, legend, class_rows, _, demo_button = create_demo(ctx)
    assert status.startswith("✓") and "Demo project ready" in plain(status)
    assert [r[1] for r in class_rows] == ["cat", "coffee cup", "rocket", "astronaut"]
    assert all(r[3] == 3 for r in class_rows) and demo_button["visible"] is False
    again = create_demo(ctx)[0]
    assert again.startswith("⚠") and "empty store" in plain(again)


def test_weights_panel_names_the_fallbacks_and_how_to_add_weights(ctx):
    text = plain(weights_markdown(ctx))
    assert "CLIP: not configured" in text and "SAM: not configured" in text
    assert "--sam-checkpoint" in text and text.startswith("- ")


def test_build_app_returns_blocks_with_every_tab(ctx):
    demo = build_app(ctx)
    assert isinstance(demo, gr.Blocks)
    labels = {b.label for b in demo.blocks.values() if isinstance(b, gr.Tab)}
    assert labels == {"Start", "Classes", "Images", "Pseudo-label & review", "Train", "Versions", "Predict"}
    assert "review-accept" in LAUNCH["js"] and LAUNCH["css"]


def test_launch_settings_default_to_loopback(monkeypatch, caplog):
    for key in ("INCSEG_HOST", "INCSEG_PORT", "INCSEG_AUTH", "INCSEG_AUTH_FILE"):
        monkeypatch.delenv(key, raising=False)
    assert resolve_launch() == ("127.0.0.1", 7860, None)
    monkeypatch.setenv("INCSEG_PORT", "9000")
    monkeypatch.setenv("INCSEG_AUTH", "ann:secret")
    assert resolve_launch(host="0.0.0.0") == ("0.0.0.0", 9000, [("ann", "secret")])
    monkeypatch.delenv("INCSEG_AUTH")
    with caplog.at_level(logging.WARNING):
        resolve_launch(host="0.0.0.0", port=1234)
    assert "without a login" in caplog.text
    with pytest.raises(ValidationError, match="user:pass"):
        resolve_launch(auth="nopassword")


def test_weights_panel_saves_checked_paths_and_names_only_flags_that_exist(ctx, tmp_path):
    from incseg_app.ui.overview_tab import WEIGHTS_HOW, save_weights
    from incseg_app.ui.server import ML_FLAGS

    status, *_ = save_weights(ctx, "ViT-B-16", "", str(tmp_path / "nope.pth"), "vit_b")
    assert status.startswith("⚠") and "not a file" in plain(status) and ctx.ml.labeling.sam_checkpoint == ""
    sam = tmp_path / "sam.pth"
    sam.write_bytes(b"weights")
    status, text = save_weights(ctx, "ViT-B-16", "", str(sam), "vit_b")
    assert status.startswith("✓") and ctx.ml.labeling.sam_checkpoint == str(sam) and "sam.pth" in plain(text)
    flags = {f for f, _, _ in ML_FLAGS}
    named = set(__import__("re").findall(r"--[a-z-]+", WEIGHTS_HOW + plain(weights_markdown(ctx))))
    assert named <= flags  # every flag the panel names exists on `python app.py`
