"""Review tab handlers: queue order, accept/reject/next, brush corrections saved as new revisions
(with the optimistic-concurrency refusal), click-to-refine with undo, the pseudo-labelling job."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from incseg_app.domain.enums import JobStatus, MaskKind, ReviewStatus
from incseg_app.services import classes, jobs, masks
from incseg_app.ui import render, review_tab
from ui_helpers import SIZE, add_pseudo, ctx, filled, runner, scene_mask  # noqa: F401


def shown(values):
    """Named view of show_next's outputs."""
    keys = ["current", "info", "image", "overlay", "legend", "editor", "points", "work_mask", "queue", "skipped"]
    return dict(zip(keys, values))


def test_queue_shows_lowest_confidence_first_with_overlay_legend_and_editor(filled):
    ids = add_pseudo(filled, [0.9, 0.2, 0.5])
    view = shown(review_tab.show_next(filled, "", []))
    assert view["current"]["mask_id"] == ids[1]
    assert "confidence 20%" in view["info"] and "train1.png" in view["info"]
    assert "3 mask(s) wait for review" in view["queue"]
    assert view["image"].shape == (SIZE, SIZE, 3) and view["overlay"].shape == (SIZE, SIZE, 3)
    assert not np.array_equal(view["image"], view["overlay"])
    assert "sky" in view["legend"] and "#0000ff" in view["legend"]
    editor = view["editor"]
    assert editor["value"]["layers"] == []  # strokes go on a clear layer over the tinted photo
    np.testing.assert_array_equal(editor["value"]["background"], view["overlay"])
    assert editor["brush"].colors == ["#0000ff", "#00ff00", render.VOID_HEX, "#000000"]
    assert editor["brush"].color_mode == "fixed"


def test_accept_reject_and_next(filled):
    ids = add_pseudo(filled, [0.1, 0.2, 0.3])
    view = shown(review_tab.show_next(filled, "", []))
    status, *rest = review_tab.review(filled, "accept", view["current"], "", [])
    assert "accepted" in status and masks.get_mask(filled, ids[0]).status == ReviewStatus.ACCEPTED
    view = shown(rest)
    assert view["current"]["mask_id"] == ids[1]
    status, *rest = review_tab.review(filled, "next", view["current"], "", view["skipped"])
    view = shown(rest)
    assert view["current"]["mask_id"] == ids[2] and view["skipped"] == [ids[1]]
    status, *rest = review_tab.review(filled, "reject", view["current"], "", view["skipped"])
    assert masks.get_mask(filled, ids[2]).status == ReviewStatus.REJECTED
    view = shown(rest)  # only the skipped one is left: the skips reset and it comes back
    assert view["current"]["mask_id"] == ids[1] and view["skipped"] == []
    assert masks.get_mask(filled, ids[1]).status == ReviewStatus.TO_REVIEW


def test_empty_queue_says_so(filled):
    view = shown(review_tab.show_next(filled, "", []))
    assert view["current"] is None and "No mask waits" in view["queue"]


def painted_editor(view, class_color=(0, 255, 0)):
    """What the browser sends back after a stroke of ``class_color`` over the top-left 8×8 pixels: a
    clear layer with the stroke, its antialiased edge faint (below the paint threshold)."""
    layer = np.zeros((SIZE, SIZE, 4), np.uint8)
    layer[:8, :8] = (*class_color, 255)
    layer[8, :8] = (*class_color, 30)
    return {"background": view["image"], "layers": [layer], "composite": None}


def test_save_correction_is_a_new_accepted_revision(filled):
    ids = add_pseudo(filled, [0.3])
    view = shown(review_tab.show_next(filled, "", []))
    status, *_ = review_tab.save_correction(filled, view["current"], painted_editor(view), view["work_mask"],
                                                  "", [])
    assert status.startswith("✅")
    head = masks.head_mask(filled, view["current"]["image_id"])
    assert (head.parent_id, head.kind, head.status) == (ids[0], MaskKind.CORRECTED, ReviewStatus.ACCEPTED)
    expected = scene_mask()
    expected[:8, :8] = 2
    np.testing.assert_array_equal(masks.read_mask(filled, head.id), expected)
    assert masks.get_mask(filled, ids[0]).kind == MaskKind.PSEUDO  # the old revision is kept


def test_stale_save_is_refused_and_nothing_is_lost(filled):
    add_pseudo(filled, [0.3])
    view = shown(review_tab.show_next(filled, "", []))
    other = masks.save_mask(filled, view["current"]["image_id"], scene_mask(),
                            expected_parent_id=view["current"]["mask_id"])  # another browser saved first
    status, *rest = review_tab.save_correction(filled, view["current"], painted_editor(view), view["work_mask"],
                                                  "", [])
    assert status.startswith("⚠️") and "changed by someone else" in status
    assert all(r == {"__type__": "update"} for r in rest)
    assert masks.head_mask(filled, view["current"]["image_id"]).id == other.id


def test_background_and_unsure_brushes_and_a_resized_canvas():
    colors = {0: (0, 0, 0), 1: (0, 0, 255), 2: (0, 255, 0), 255: render.VOID_RGB}
    base = scene_mask()
    layer = np.zeros((2 * SIZE, 2 * SIZE, 4), np.uint8)  # the canvas came back at twice the size
    layer[:8, :8] = (0, 0, 0, 255)  # background brush
    layer[120:, 120:] = (*render.VOID_RGB, 255)  # "unsure" brush
    layer[70:74, :8] = (10, 240, 20, 255)  # a slightly-off green is still grass
    out = render.layers_to_mask([layer], colors, base)
    assert (out[:4, :4] == 0).all() and (out[60:, 60:] == 255).all() and (out[35:37, :4] == 2).all()
    assert (out[10:30, 10:] == 1).all() and (out[40:58] == 2).all()  # unpainted pixels keep the base


def test_click_to_refine_and_undo(filled):
    add_pseudo(filled, [0.3])
    view = shown(review_tab.show_next(filled, "", []))
    cur = view["current"]
    status, picture, editor, mask, points = review_tab.click(filled, cur, [], 1, "positive",
                                                             SimpleNamespace(index=(10, 50)))
    assert points == [(10, 50, True)] and "1 point(s)" in status
    assert mask[50, 10] == 1 and (mask != scene_mask()).any()  # the clicked region became sky
    assert tuple(picture[50, 10]) == (0, 220, 0)  # the positive point is drawn
    assert not np.array_equal(editor["value"]["background"], view["overlay"])  # the editor shows it
    status, picture, editor, mask, points = review_tab.undo(filled, cur, points, 1)
    assert points == [] and np.array_equal(mask, scene_mask())


def test_click_needs_a_mask_and_a_class(filled):
    status, *_, points = review_tab.click(filled, None, [], 1, "positive", SimpleNamespace(index=(1, 1)))
    assert "Pick a mask" in status and points == []


def test_pseudo_labelling_job_progress_and_reattach(filled, runner):
    status, job_id, html, timer = review_tab.start_labeling(filled, runner, False)
    assert status.startswith("✅") and timer.active
    job = runner.wait(job_id, timeout=300)
    assert job.status == JobStatus.DONE
    html, timer, queue = review_tab.poll(filled, job_id, "")
    assert "100%" in html and "done" in html and not timer.active
    assert "4 mask(s) wait for review" in queue  # the val images already had ground truth
    again = review_tab.refresh(filled)
    assert again[0] == job_id and not again[2].active
    assert review_tab.cancel(filled, None) == "No pseudo-labelling job to cancel."


def test_refresh_reattaches_to_a_running_job(filled):
    job = jobs.create_job(filled, "pseudo_label")
    jobs.start_job(filled, job.id)
    job_id, html, timer, tag, refine_class = review_tab.refresh(filled)
    assert job_id == job.id and timer.active and "running" in html
    assert refine_class["choices"] == [("sky", 1), ("grass", 2)]
    assert "Cancelling" in review_tab.cancel(filled, job.id) and jobs.get_job(filled, job.id).cancel_requested


def test_class_names_are_escaped_in_the_review_view(ctx):
    classes.create_class(ctx, "<script>alert(1)</script>", "#ff0000")
    from ui_helpers import scene_png
    from incseg_app.services import images
    images.import_uploads(ctx, [("<b>x</b>.png", scene_png(1))], ["<script>alert(1)</script>"])
    masks.save_mask(ctx, 1, np.ones((SIZE, SIZE), np.uint8), MaskKind.PSEUDO, ReviewStatus.TO_REVIEW)
    view = shown(review_tab.show_next(ctx, "", []))
    assert "<script>" not in view["info"] and "<script>" not in view["legend"]
    assert "&lt;script&gt;" in view["legend"] and "&lt;b&gt;" in view["info"]
