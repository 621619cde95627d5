"""The whole workflow in a real headless Chromium on the tiny model, asserting on the page and on the
store: classes (the form resets) → upload (batch tags cleared) → pseudo-label (the first item opens by
itself) → review in the mask editor (number keys pick classes, the opacity slider changes the overlay,
a stroke saved at 50 % opacity stores exact class ids, reverting cannot save a draft as corrected,
undoing an accept restores the status, a reviewed mask can be reopened) → train two steps (the
default method is not finetune; the loss chart survives a reload) → versions (heatmap, roll back, the
pickers say which version is active).

Screenshots go to ``$CI_ARTIFACTS`` (or ``test-artifacts/``); the versions one is copied to
``assets/screenshots/`` for the README when ``INCSEG_UPDATE_SCREENSHOTS=1`` (the review and editor ones come from ``test_browser_screens``). Needs /usr/bin/chromium: skipped without it
unless ``CI`` is set.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from incseg_app.domain.enums import MaskKind, ReviewStatus, Split
from incseg_app.services import classes, images, job_metrics, masks, versions
from browser_steps import (ARGS, CHROMIUM, canvas_pixel, head_of_shown, image_point, pick, press, serve_app,
                           stroke)
from ui_helpers import SIZE, scene_mask, scene_png

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
LONG = 240_000  # ms: pseudo-labelling and training on 2 shared cores


@pytest.fixture
def app_url(tmp_path):
    yield from serve_app(tmp_path)


@pytest.fixture
def shots() -> Path:
    folder = Path(os.environ.get("CI_ARTIFACTS") or ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def create_classes_and_upload(page, ctx, files: list[str]) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Classes").click()
    colour = page.locator("#class-color")
    for name in ("sky", "grass"):
        before = colour.inner_html()
        page.locator("#class-name textarea, #class-name input").first.fill(name)
        page.locator("#class-prompts textarea").fill(f"a photo of {name}")
        page.locator("#class-create").click()
        expect(page.locator("#classes-status")).to_contain_text(f"Created class {name}")
        expect(page.locator("#class-prompts textarea")).to_have_value("")  # prompts never leak to the next class
        page.wait_for_function("b => document.querySelector('#class-color').innerHTML !== b", arg=before)
    assert [c.prompts for c in classes.list_classes(ctx)] == [("a photo of sky",), ("a photo of grass",)]
    expect(page.locator("#class-table")).to_contain_text("grass")
    page.get_by_role("tab", name="Images").click()
    for batch, split in ((files[:4], "train"), (files[4:], "val")):
        page.locator("#image-files input[type=file]").set_input_files(batch)
        for tag in ("sky", "grass"):
            pick(page, "upload-tags", tag)
        page.locator(f"#upload-split label:has-text('{split}')").click()
        page.locator("#images-import").click()
        expect(page.locator("#images-status")).to_contain_text(f"Imported {len(batch)} image(s) into {split}",
                                                               timeout=60_000)
        expect(page.locator("#upload-tags")).not_to_contain_text("sky")  # the batch tags were cleared
    expect(page.locator("#image-gallery")).to_contain_text("val5.png")
    assert [im.tags for im in images.list_images(ctx)] == [("sky", "grass")] * 6
    for record in images.list_images(ctx, split=Split.VAL):  # the val images come with reference masks
        masks.save_mask(ctx, record.id, scene_mask(), MaskKind.GROUND_TRUTH, ReviewStatus.ACCEPTED)


def label_and_open_first(page, ctx) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Pseudo-label & review").click()
    page.locator("#pl-start").click()
    expect(page.locator("#pl-progress")).to_contain_text("done", timeout=LONG)
    expect(page.locator("#review-status")).to_contain_text("Pseudo-labelling finished (job")  # no longer "started"
    expect(page.locator("#review-position")).to_contain_text("Item 1 of 4", timeout=30_000)  # no click needed
    expect(page.locator("[data-testid=editor-canvas]")).not_to_have_attribute("data-key", "", timeout=30_000)
    expect(page.locator("#review-item")).to_contain_text("waits for review")


def edit_and_save(page, ctx, shots: Path) -> None:
    """Number keys, the opacity slider, and a stroke saved at 50 % opacity stored as exact ids."""
    from playwright.sync_api import expect

    canvas = page.locator("[data-testid=editor-canvas]")
    grass, sky = classes.get_class(ctx, "grass"), classes.get_class(ctx, "sky")
    press(page, "2")
    expect(canvas).to_have_attribute("data-class", str(grass.id))
    expect(page.locator(f"[data-testid=class-{grass.id}]")).to_have_attribute("aria-checked", "true")
    press(page, "1")
    expect(canvas).to_have_attribute("data-class", str(sky.id))
    at = image_point(canvas, 0.5, 0.25)  # in the sky half, which the drafts label
    page.locator("[data-testid=opacity]").fill("100")
    expect(canvas).to_have_attribute("data-opacity", "100")
    strong = canvas_pixel(page, at)
    page.locator("[data-testid=opacity]").fill("0")
    expect(canvas).to_have_attribute("data-opacity", "0")
    clear = canvas_pixel(page, at)
    page.locator("[data-testid=opacity]").fill("50")
    expect(canvas).to_have_attribute("data-opacity", "50")
    half = canvas_pixel(page, at)
    assert strong != clear and half not in (strong, clear)  # the slider changes what the overlay shows

    shown = head_of_shown(page, ctx)
    press(page, "2")
    stroke(page, canvas, (0.2, 0.2), (0.8, 0.2))
    expect(canvas).to_have_attribute("data-dirty", "true")
    page.screenshot(path=str(shots / "e2e-editor.png"), full_page=False)
    before = canvas.get_attribute("data-key")
    page.locator("[data-testid=save]").click()
    expect(page.locator("#review-status")).to_contain_text("Saved your correction", timeout=30_000)
    # the next item's value can reach the editor after the status line: wait for it before drawing again
    expect(canvas).not_to_have_attribute("data-key", before, timeout=30_000)
    expect(canvas).to_have_attribute("data-busy", "false")
    head = masks.head_mask(ctx, shown.image_id)
    assert (head.kind, head.status, head.parent_id) == (MaskKind.CORRECTED, ReviewStatus.ACCEPTED, shown.id)
    saved, draft = masks.read_mask(ctx, head.id), masks.read_mask(ctx, shown.id)
    row = round(0.2 * SIZE)
    assert (saved[row, round(0.3 * SIZE):round(0.7 * SIZE)] == grass.id).all()  # exact ids, not blended colours
    assert set(np.unique(saved)) <= {0, sky.id, grass.id, 255}
    assert (saved != draft).any() and (saved[SIZE - 4:] == draft[SIZE - 4:]).all()  # only the stroke changed


def revert_accept_undo_reopen(page, ctx, shots: Path) -> None:
    from playwright.sync_api import expect

    canvas = page.locator("[data-testid=editor-canvas]")
    shown = head_of_shown(page, ctx)
    press(page, "2")  # grass across the sky half: a change whatever the draft says there
    stroke(page, canvas, (0.2, 0.3), (0.8, 0.3))
    expect(canvas).to_have_attribute("data-dirty", "true")
    page.locator("[data-testid=revert]").click()
    expect(canvas).to_have_attribute("data-dirty", "false")
    page.locator("[data-testid=save]").click()
    expect(page.locator("#review-status")).to_contain_text("Nothing changed")
    assert masks.head_mask(ctx, shown.image_id) == shown  # the draft was not stored as corrected

    page.screenshot(path=str(shots / "e2e-review.png"), full_page=True)
    press(page, "a")
    expect(page.locator("#review-status")).to_contain_text(f"Revision {shown.id} accepted")
    assert masks.get_mask(ctx, shown.id).status == ReviewStatus.ACCEPTED
    press(page, "u")
    expect(page.locator("#review-status")).to_contain_text(f"revision {shown.id} is to review again")
    assert masks.get_mask(ctx, shown.id).status == ReviewStatus.TO_REVIEW
    assert head_of_shown(page, ctx).id == shown.id  # the undone item is back on screen

    pick(page, "review-filter", "reviewed (any)")
    # the filter's reply re-renders the order control: wait for it before the next click
    expect(page.locator("#review-position")).to_contain_text("reviewed (any)")
    page.locator("#review-order label:has-text('image order')").click()
    expect(page.locator("#review-position")).to_contain_text("Item 1 of 3 · reviewed (any) · image order")
    reviewed = head_of_shown(page, ctx)  # the correction saved above (train images come before val ones)
    assert reviewed.kind == MaskKind.CORRECTED
    page.locator("#review-reopen").click()
    expect(page.locator("#review-status")).to_contain_text("waits for review again")
    assert masks.get_mask(ctx, reviewed.id).status == ReviewStatus.TO_REVIEW
    pick(page, "review-filter", "to review")
    expect(page.locator("#review-position")).to_contain_text("of 4")
    for left in range(3, -1, -1):
        press(page, "a")
        expect(page.locator("#review-position")).to_contain_text(f"of {left}" if left else "Nothing waits",
                                                                 timeout=30_000)


def train_two_steps(page, ctx, shots: Path) -> int:
    """Step 1 learns sky, step 2 grass, with the default method; returns the id of the first version."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Train").click()
    method = page.locator("#train-method input")
    expect(method).to_have_value(re.compile("recommended"))
    assert "finetune" not in method.input_value() and "forgets" not in method.input_value()
    pick(page, "train-new", "sky")
    expect(page.locator("#train-plan")).to_contain_text("Learns (new classes): sky")
    expect(page.locator("#train-plan")).to_contain_text("reviewed masks only")
    page.locator("#train-start").click()
    expect(page.locator("#train-done")).to_contain_text("is ready and active", timeout=LONG)
    expect(page.locator("#train-status")).to_contain_text("Training finished (job")  # no longer "started"
    first = versions.active_version(ctx)
    assert first.method not in ("finetune", "joint")
    page.locator("#train-new").get_by_role("button", name=re.compile("Remove|×")).first.click()
    expect(page.locator("#train-plan")).to_contain_text("Learns (new classes): grass")
    page.locator("#train-start").click()
    expect(page.locator("#train-done")).to_contain_text(f"Version v{first.id + 1} is ready", timeout=LONG)
    job = [j for j in job_metrics_jobs(ctx)][-1]
    assert len(job_metrics.loss_curve(ctx, job)) >= 2
    page.reload()
    page.get_by_role("tab", name="Train").click()
    expect(page.locator("#train-done")).to_contain_text(f"Version v{first.id + 1} is ready", timeout=30_000)
    expect(page.locator("#train-loss")).not_to_contain_text("No data", timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('#train-loss svg path, #train-loss canvas').length > 0")
    page.screenshot(path=str(shots / "train.png"), full_page=True)
    return first.id


def job_metrics_jobs(ctx) -> list[int]:
    from incseg_app.domain.enums import JobKind
    from incseg_app.services import jobs
    return sorted(j.id for j in jobs.list_jobs(ctx, JobKind.TRAIN))


def check_report_and_roll_back(page, first_id: int, shots: Path) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Versions").click()
    tree = page.locator("#version-tree")
    expect(tree).to_contain_text(f"v{first_id + 1} +grass")
    expect(tree).to_contain_text("(active)")
    expect(page.locator("#version-report")).to_contain_text("sky")
    expect(page.locator("#version-summary")).to_contain_text("Validated on reviewed masks only (ground truth: 2)")
    expect(page.locator("#version-report")).to_contain_text(re.compile(r"sky\s+\d+\.\d"))
    heat = page.locator("#version-heatmap table")
    expect(heat).to_contain_text("class")
    expect(heat).to_contain_text(f"v{first_id}")
    assert heat.bounding_box()["width"] > 150
    page.screenshot(path=str(shots / "versions.png"), full_page=True)
    pick(page, "version-pick", f"v{first_id} ")
    page.locator("#version-activate").click()
    expect(page.locator("#versions-status")).to_contain_text(f"Activate v{first_id}")
    page.locator("#version-confirm").click()
    expect(page.locator("#versions-status")).to_contain_text("is now the active version")
    expect(tree).to_contain_text(re.compile(rf"v{first_id} \+sky \([a-z]+\) \(active\)"))
    page.locator("#version-a input").click()
    expect(page.get_by_role("option", name=re.compile(rf"^v{first_id} .*\(active\)"))).to_be_visible()
    page.keyboard.press("Escape")


def test_curation_round_trip_in_chromium(app_url, shots, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, ctx = app_url
    files = []
    for i in range(6):
        path = tmp_path / f"{'val' if i >= 4 else 'scene'}{i}.png"
        path.write_bytes(scene_png(i))
        files.append(str(path))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 1000})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url)
        expect(page.locator("#start-intro")).to_contain_text("This store is empty", timeout=60_000)
        create_classes_and_upload(page, ctx, files)
        label_and_open_first(page, ctx)
        edit_and_save(page, ctx, shots)
        revert_accept_undo_reopen(page, ctx, shots)
        first_id = train_two_steps(page, ctx, shots)
        check_report_and_roll_back(page, first_id, shots)
        browser.close()
    assert versions.active_version(ctx).id == first_id
    assert not [e for e in errors if "CONTENT_LENGTH" in e.upper()]
    if os.environ.get("INCSEG_UPDATE_SCREENSHOTS"):  # the README's pictures change only when asked
        shutil.copyfile(shots / "versions.png", ROOT / "assets" / "screenshots" / "versions.png")  # review and editor: test_browser_screens
