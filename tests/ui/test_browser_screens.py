"""The review screen on real photos, in headless Chromium: the one-click demo project (scikit-image's
public-domain / CC0 sample photos), pseudo-labelling, the first draft of a tag opening by itself, and
click-to-refine in the mask editor changing a region of the photo. Its screenshots of the review
screen and the editor go to ``assets/screenshots/`` for the README when ``INCSEG_UPDATE_SCREENSHOTS=1`` (the versions one comes from
``test_browser_e2e``). Needs /usr/bin/chromium: skipped without it unless ``CI`` is set."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from incseg_app.services import classes, masks
from browser_steps import ARGS, CHROMIUM, head_of_shown, image_point, pick, press, serve_app

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
LONG = 300_000  # ms


@pytest.fixture
def served(tmp_path):
    yield from serve_app(tmp_path)


def test_review_screen_on_the_demo_photos(served, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, ctx = served
    shots = Path(os.environ.get("CI_ARTIFACTS") or ROOT / "test-artifacts")
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 1050})
        page.goto(url)
        page.locator("#demo-create").click()
        expect(page.locator("#start-status")).to_contain_text("Demo project ready", timeout=60_000)
        page.get_by_role("tab", name="Pseudo-label & review").click()
        page.locator("#pl-start").click()
        expect(page.locator("#pl-progress")).to_contain_text("done", timeout=LONG)
        expect(page.locator("#review-position")).to_contain_text("Item 1 of 12", timeout=30_000)
        pick(page, "review-tag", "astronaut")
        expect(page.locator("#review-position")).to_contain_text("Item 1 of 3")
        canvas = page.locator("[data-testid=editor-canvas]")
        shown = head_of_shown(page, ctx)
        height, width = masks.read_mask(ctx, shown.id).shape
        page.screenshot(path=str(shots / "review.png"), full_page=True)

        astronaut = classes.get_class(ctx, "astronaut")
        press(page, "4")
        expect(canvas).to_have_attribute("data-class", str(astronaut.id))
        page.locator("[data-testid=tool-clicks]").click()
        before = masks.read_mask(ctx, shown.id)
        for fx, fy in ((0.45, 0.6), (0.3, 0.85)):  # the suit
            page.mouse.click(*image_point(canvas, fx, fy, width, height))
            expect(canvas).to_have_attribute("data-busy", "false", timeout=30_000)
        expect(canvas).to_have_attribute("data-dirty", "true")
        page.locator("#review-editor").screenshot(path=str(shots / "editor.png"))
        page.locator("[data-testid=save]").click()
        expect(page.locator("#review-status")).to_contain_text("Saved your correction", timeout=30_000)
        saved = masks.read_mask(ctx, masks.head_mask(ctx, shown.image_id).id)
        changed = (saved == astronaut.id) & (before != astronaut.id)
        assert changed.sum() > 0.02 * width * height  # two clicks painted a region, not a speck
        browser.close()
    if os.environ.get("INCSEG_UPDATE_SCREENSHOTS"):  # the README's pictures change only when asked
        for name in ("review.png", "editor.png"):
            shutil.copyfile(shots / name, ROOT / "assets" / "screenshots" / name)
