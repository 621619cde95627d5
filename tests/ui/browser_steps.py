"""Playwright steps shared by the browser tests: launching, Gradio dropdowns, keys, and drawing on the
mask editor's canvas in image coordinates."""
from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from incseg_app.domain.records import MaskRevision
from incseg_app.services import AppContext, StoreSettings, masks, open_store
from incseg_app.services.ml_settings import tiny_settings
from incseg_app.services.runner import JobRunner
from incseg_app.ui.app import LAUNCH, build_app
from ui_helpers import SIZE

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pick(page, field: str, text: str) -> None:
    """Choose ``text`` in the Gradio dropdown with elem_id ``field``."""
    page.locator(f"#{field} input").click()
    page.get_by_role("option", name=re.compile(re.escape(text))).first.click()


def press(page, key: str) -> None:
    """A key press with the focus on no field (so page shortcuts see it)."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press(key)


def settled_box(canvas) -> dict:
    """The canvas's box once the page layout has stopped moving (two equal readings 100 ms apart)."""
    box = canvas.bounding_box()
    for _ in range(50):
        canvas.page.wait_for_timeout(100)
        again = canvas.bounding_box()
        if again == box:
            return box
        box = again
    return box


def image_point(canvas, fx: float, fy: float, width: int = SIZE, height: int = SIZE) -> tuple[float, float]:
    """Page coordinates of the image point (fx·width, fy·height) while the editor shows the whole image."""
    box = settled_box(canvas)
    s = min(box["width"] / width, box["height"] / height)
    left = box["x"] + (box["width"] - width * s) / 2
    top = box["y"] + (box["height"] - height * s) / 2
    return left + fx * width * s, top + fy * height * s


def canvas_pixel(page, at: tuple[float, float]) -> tuple[int, int, int]:
    """RGB the editor canvas shows at page point ``at`` (after the next two frames are drawn)."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return tuple(page.evaluate(
        """([x, y]) => { const c = document.querySelector('[data-testid=editor-canvas]');
            const r = c.getBoundingClientRect(); const d = window.devicePixelRatio || 1;
            return Array.from(c.getContext('2d').getImageData(Math.round((x - r.left) * d),
                                                               Math.round((y - r.top) * d), 1, 1).data).slice(0, 3); }""",
        list(at)))


def stroke(page, canvas, start: tuple[float, float], end: tuple[float, float]) -> None:
    """A brush stroke from image fraction ``start`` to ``end``."""
    page.locator("[data-testid=tool-brush]").click()
    x0, y0 = image_point(canvas, *start)
    x1, y1 = image_point(canvas, *end)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=10)
    page.mouse.up()


def head_of_shown(page, ctx: AppContext) -> MaskRevision:
    """The mask revision the editor shows (from its ``data-key`` "image:mask:nonce")."""
    key = page.locator("[data-testid=editor-canvas]").get_attribute("data-key")
    return masks.get_mask(ctx, int(key.split(":")[1]))


def serve_app(tmp_path: Path) -> Iterator[tuple[str, AppContext]]:
    """The app on a fresh store (tiny model) at a free local port: yields (url, store); for a fixture.
    Skips without Chromium or Playwright, and fails on CI, where ``.ci/run`` installs Chromium."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI (.ci/run installs it)")
        pytest.skip(f"{CHROMIUM} is not installed (set CI=1 to make this a failure)")
    pytest.importorskip("playwright.sync_api")
    ctx = open_store(tmp_path / "store", StoreSettings(), ml=tiny_settings())
    demo = build_app(ctx, JobRunner(ctx, heartbeat_s=5.0, min_interval_s=0.2))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **LAUNCH)
    yield f"http://127.0.0.1:{port}/", ctx
    demo.close()
    ctx.close()
