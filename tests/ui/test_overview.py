"""The first screen: classes and versions from the store, next steps, launch settings."""
from __future__ import annotations

import logging

import gradio as gr
import pytest

from incseg_app.domain.errors import ValidationError
from incseg_app.services import classes, versions
from incseg_app.ui.app import build_app
from incseg_app.ui.overview_tab import overview_values
from incseg_app.ui.server import resolve_launch
from store_helpers import store  # noqa: F401


def test_empty_store_says_what_to_do(store):
    text, legend, class_rows, version_rows = overview_values(store)
    assert "store is empty" in text and "incseg classes add" in text
    assert (legend, class_rows, version_rows) == ("", [], [])


def test_classes_and_versions_with_active_marker(store):
    classes.create_class(store, "<b>car</b>", "#ff0000")
    v = versions.create_version(store, "base", [0, 1], "finetune")
    versions.mark_ready(store, v.id, store.blobs.put_bytes(b"ckpt"))
    versions.activate(store, v.id)
    text, legend, class_rows, version_rows = overview_values(store)
    assert class_rows == [[1, "<b>car</b>", "#ff0000", 0, 0, v.id, ""]]
    assert "&lt;b&gt;car&lt;/b&gt;" in legend and "<b>car" not in legend  # user text is escaped
    assert version_rows == [["●", v.id, "base", "", 0, "finetune", 1, "ready"]]
    assert "Next: import images" in text


def test_build_app_returns_blocks(store):
    assert isinstance(build_app(store), gr.Blocks)


def test_launch_settings_default_to_loopback(monkeypatch, caplog):
    for key in ("INCSEG_HOST", "INCSEG_PORT", "INCSEG_AUTH"):
        monkeypatch.delenv(key, raising=False)
    assert resolve_launch() == ("127.0.0.1", 7860, None)
    monkeypatch.setenv("INCSEG_PORT", "9000")
    monkeypatch.setenv("INCSEG_AUTH", "ann:secret")
    assert resolve_launch(host="0.0.0.0") == ("0.0.0.0", 9000, ("ann", "secret"))
    monkeypatch.delenv("INCSEG_AUTH")
    with caplog.at_level(logging.WARNING):
        resolve_launch(host="0.0.0.0", port=1234)
    assert "without a login" in caplog.text
    with pytest.raises(ValidationError, match="user:pass"):
        resolve_launch(auth="nopassword")
