"""Review tab handlers: the first item opens by itself, x of y with previous/next, decisions move on and
can be undone, unsaved edits are never dropped, saves store exact ids, reopen, the editor component's
codec and server functions, the pseudo-labelling job and the status line saying how it ended."""
from __future__ import annotations

import base64
import subprocess
import sys
import zlib

import numpy as np
import pytest

from incseg_app.domain.enums import JobStatus, MaskKind, ReviewStatus
from incseg_app.services import classes, images, jobs, masks, review_editor
from incseg_app.ui import review_tab, review_view
from incseg_app.ui.mask_editor import MaskEditor
from incseg_app.ui.mask_editor.component import EditorState, pack_ids, unpack_ids
from store_helpers import label_png
from ui_helpers import SIZE, add_pseudo, ctx, filled, plain, runner, scene_mask  # noqa: F401

FILTERS = ("to_review", "", "likely_wrong")
SKIP = {"__type__": "update"}  # gr.skip(): the output is left as it is


def shown(values):
    """Named view of an item view (current, editor, position line, facts)."""
    return dict(zip(["current", "editor", "position", "facts"], values))


def edited(view, mask: np.ndarray) -> EditorState:
    cur = view["current"]
    return EditorState(cur["image_id"], cur["mask_id"], label_png(mask))


def test_the_first_item_opens_on_load_with_position_palette_and_photo(filled):
    ids = add_pseudo(filled, [0.9, 0.2, 0.5])
    job_id, _, timer, tags, warnings, *item = review_tab.refresh(filled, None, *FILTERS)
    view = shown(item)
    assert view["current"]["mask_id"] == ids[1] and "Item 1 of 3" in plain(view["position"])
    assert "train1.png" in view["facts"] and "confidence 20%" in view["facts"]
    editor = view["editor"]
    assert editor.mask_id == ids[1] and editor.photo[:2] == b"\xff\xd8"  # JPEG
    np.testing.assert_array_equal(editor.labels, scene_mask())
    assert [(c.name, c.key) for c in editor.classes] == [("sky", "1"), ("grass", "2"), ("background", "0"),
                                                         ("unsure", "X")]
    assert editor.default_class == 1  # the palette starts on the image's first tag
    again = review_tab.refresh(filled, view["current"], *FILTERS)
    assert all(v == {"__type__": "update"} for v in again[5:])  # an item on screen is left alone


def test_previous_next_and_unsaved_edits_block_moving_on(filled):
    ids = add_pseudo(filled, [0.1, 0.2, 0.3])
    view = shown(review_tab.at(filled, 0, *FILTERS))
    status, *rest = review_tab.go(filled, 1, view["current"], None, *FILTERS)
    assert shown(rest)["current"]["mask_id"] == ids[1] and "Item 2 of 3" in plain(shown(rest)["position"])
    status, *rest = review_tab.go(filled, -1, shown(rest)["current"], None, *FILTERS)
    assert shown(rest)["current"]["mask_id"] == ids[0]
    changed = scene_mask()
    changed[0, 0] = 2
    status, *rest = review_tab.go(filled, 1, view["current"], edited(view, changed), *FILTERS)
    assert "unsaved edits" in status and all(r == {"__type__": "update"} for r in rest)


def test_accept_moves_on_and_undo_restores_the_status(filled):
    ids = add_pseudo(filled, [0.1, 0.2])
    view = shown(review_tab.at(filled, 0, *FILTERS))
    status, *rest = review_tab.decide(filled, "accept", view["current"], None, [], *FILTERS)
    after, history = shown(rest[:4]), rest[4]
    assert "accepted" in status and masks.get_mask(filled, ids[0]).status == ReviewStatus.ACCEPTED
    assert after["current"]["mask_id"] == ids[1] and "Item 1 of 1" in plain(after["position"])
    status, *rest = review_tab.undo(filled, None, history, *FILTERS)
    assert "to review again" in status and masks.get_mask(filled, ids[0]).status == ReviewStatus.TO_REVIEW
    assert shown(rest[:4])["current"]["mask_id"] == ids[0] and rest[4] == []
    assert "No decision to undo" in review_tab.undo(filled, None, [], *FILTERS)[0]


def test_accept_with_edits_saves_them_as_the_correction_and_reject_refuses(filled):
    ids = add_pseudo(filled, [0.1])
    view = shown(review_tab.at(filled, 0, *FILTERS))
    changed = scene_mask()
    changed[:4, :4] = 255
    status, *_ = review_tab.decide(filled, "reject", view["current"], edited(view, changed), [], *FILTERS)
    assert "Revert your edits" in status and masks.get_mask(filled, ids[0]).status == ReviewStatus.TO_REVIEW
    status, *rest = review_tab.decide(filled, "accept", view["current"], edited(view, changed), [], *FILTERS)
    head = masks.head_mask(filled, view["current"]["image_id"])
    assert "Saved your correction" in status and head.kind == MaskKind.CORRECTED and head.parent_id == ids[0]
    np.testing.assert_array_equal(masks.read_mask(filled, head.id), changed)
    assert rest[4][-1]["kind"] == "save"


def test_save_without_a_change_is_refused_and_stores_nothing(filled):
    ids = add_pseudo(filled, [0.1])
    view = shown(review_tab.at(filled, 0, *FILTERS))
    status, *_ = review_tab.save(filled, view["current"], None, [], *FILTERS)
    assert "Nothing changed" in status
    status, *_ = review_tab.save(filled, view["current"], edited(view, scene_mask()), [], *FILTERS)
    assert "nothing was changed" in status
    assert masks.head_mask(filled, view["current"]["image_id"]).id == ids[0]


def test_reopen_a_reviewed_mask_from_the_reviewed_filter(filled):
    ids = add_pseudo(filled, [0.1])
    masks.set_review_status(filled, ids[0], ReviewStatus.REJECTED)
    view = shown(review_tab.at(filled, 0, "rejected", "", "likely_wrong"))
    assert view["current"]["mask_id"] == ids[0]
    status, *rest = review_tab.reopen(filled, view["current"], [], "rejected", "", "likely_wrong")
    assert "waits for review again" in status and masks.get_mask(filled, ids[0]).status == ReviewStatus.TO_REVIEW
    assert "Not in this list" in plain(shown(rest[:4])["position"])  # still shown, though no longer "rejected"


def test_an_empty_queue_says_what_to_do(filled):
    view = shown(review_tab.at(filled, 0, *FILTERS))
    assert view["current"] is None and view["editor"] is None and "Nothing waits" in view["position"]


def test_editor_codec_round_trips_exact_ids_and_refuses_oversized_payloads():
    labels = np.random.default_rng(0).integers(0, 256, (37, 53), dtype=np.uint8)
    np.testing.assert_array_equal(unpack_ids(pack_ids(labels), 53, 37), labels)
    bomb = base64.b64encode(zlib.compress(bytes(10_000))).decode()
    with pytest.raises(ValueError, match="expected"):
        unpack_ids(bomb, 10, 10)
    with pytest.raises(ValueError, match="bad label map size"):
        unpack_ids(bomb, 100_000, 1)


def test_editor_value_and_server_functions(filled):
    add_pseudo(filled, [0.1])
    view = shown(review_tab.at(filled, 0, *FILTERS))
    editor = MaskEditor(refine_fn=review_tab.refine_fn(filled), render=False,
                        regions_fn=lambda image_id: review_editor.region_maps(filled, image_id))
    value = editor.postprocess(view["editor"])
    assert value["width"] == SIZE and value["photo"].startswith("data:image/jpeg;base64,")
    np.testing.assert_array_equal(unpack_ids(value["labels"], SIZE, SIZE), scene_mask())
    state = editor.preprocess({"image_id": value["image_id"], "mask_id": value["mask_id"],
                               "edit": {"png": base64.b64encode(label_png(scene_mask())).decode()}})
    assert state.dirty and state.edited_png.startswith(b"\x89PNG")
    out = editor.refine({"image_id": value["image_id"], "width": SIZE, "height": SIZE, "class_id": 2,
                         "points": [[10, 10, True]], "scale": "coarse", "labels": value["labels"]})
    assert unpack_ids(out["labels"], SIZE, SIZE)[10, 10] == 2
    assert "error" in editor.refine({"image_id": value["image_id"], "width": SIZE, "height": SIZE,
                                     "class_id": 99, "points": [[1, 1, True]], "labels": value["labels"]})
    maps = editor.regions({"image_id": value["image_id"]})
    assert set(maps) == {"fine", "medium", "coarse"}


def test_pseudo_labelling_job_then_the_first_item_opens(filled, runner):
    status, job_id, html, timer = review_tab.start_job(filled, runner, "label", False)
    assert status.startswith("✓") and timer.active
    assert runner.wait(job_id, timeout=300).status == JobStatus.DONE
    html, timer, line, warnings, *item = review_tab.poll(filled, job_id, status, None, None, *FILTERS)
    assert "100%" in html and not timer.active and line == f"✓ Pseudo-labelling finished (job {job_id})."
    view = shown(item)
    assert "Item 1 of 4" in plain(view["position"])  # the val images already had ground truth
    html, timer, line, warnings, *item = review_tab.poll(filled, job_id, line, view["current"], None, *FILTERS)
    assert line == SKIP and all(v == SKIP for v in item)  # an item on screen is not replaced


def test_localisation_warnings_and_relabelling_from_corrections(filled, runner):
    ids = add_pseudo(filled, [0.1, 0.2, 0.3, 0.4])
    warnings = review_tab.refresh(filled, None, *FILTERS)[4]
    assert "'sky' is tagged on" in plain(warnings) and warnings.startswith("- ⚠")  # every image is tagged sky
    masks.set_review_status(filled, ids[0], ReviewStatus.ACCEPTED)  # (the val images' ground truth counts too)
    view = shown(review_tab.at(filled, 0, *FILTERS))
    status, job_id, html, timer = review_tab.start_job(filled, runner, "relabel", False)
    assert status.startswith("✓") and "Relabelling the drafts" in status
    assert runner.wait(job_id, timeout=300).status == JobStatus.DONE
    html, timer, line, warnings, *item = review_tab.poll(filled, job_id, status, view["current"], None, *FILTERS)
    assert line == f"✓ Relabelling the drafts from your corrections finished (job {job_id})."
    if masks.head_mask(filled, view["current"]["image_id"]).id != view["current"]["mask_id"]:
        assert shown(item)["current"]["mask_id"] != view["current"]["mask_id"]  # the replaced draft reloads


def ended_line(ctx, job_id: int, status: str | None) -> object:
    """The status line ``poll`` writes for ``job_id`` while the status line shows ``status``."""
    return review_tab.poll(ctx, job_id, status, None, None, *FILTERS)[2]


def test_a_finished_job_replaces_its_start_line_and_nothing_else(filled):
    job = jobs.create_job(filled, "pseudo_label")
    jobs.start_job(filled, job.id)
    assert ended_line(filled, job.id, review_tab.started("label", job.id)) == SKIP  # still running
    jobs.finish_job(filled, job.id)
    assert ended_line(filled, job.id, review_tab.started("label", job.id)) == \
        f"✓ Pseudo-labelling finished (job {job.id})."
    for other in ("✓ Revision 3 accepted. **U** undoes it.", review_tab.started("label", job.id + 1), "", None):
        assert ended_line(filled, job.id, other) == SKIP  # what another action wrote is never overwritten


def test_a_failed_job_says_why(filled):
    job = jobs.create_job(filled, "pseudo_label", {"from_corrections": True})
    jobs.start_job(filled, job.id)
    jobs.fail_job(filled, job.id, "no weights for <CLIP>")
    line = ended_line(filled, job.id, review_tab.started("relabel", job.id))
    assert line.startswith("⚠") and f"Relabelling the drafts from your corrections failed (job {job.id})" in line
    assert "no weights for &lt;CLIP&gt;" in line  # the reason, escaped


def test_a_cancelled_or_interrupted_job_says_so(filled):
    job = jobs.create_job(filled, "pseudo_label")
    jobs.start_job(filled, job.id)
    cancelling = review_tab.cancel(filled, job.id)
    jobs.cancel_job(filled, job.id)
    line = ended_line(filled, job.id, cancelling)  # the cancel line is the job's own too
    assert line == f"⚠ Pseudo-labelling was cancelled (job {job.id}); masks already made are kept."
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    gone = jobs.create_job(filled, "evaluate", owner=jobs.process_owner(child.pid))  # its process has died
    assert [j.status for j in jobs.interrupt_stale_jobs(filled)] == [JobStatus.INTERRUPTED]
    line = ended_line(filled, gone.id, review_tab.started("rank", gone.id))
    assert line.startswith("⚠ Ranking the drafts against the active model stopped") and "process running it" in line


def test_cancel_and_rank_refusals(filled, runner):
    job = jobs.create_job(filled, "pseudo_label")
    jobs.start_job(filled, job.id)
    assert "Cancelling" in review_tab.cancel(filled, job.id) and jobs.get_job(filled, job.id).cancel_requested
    status, *_ = review_tab.start_job(filled, runner, "rank", False)
    assert "no model version" in status


def test_class_names_are_escaped_in_the_review_view(ctx):
    classes.create_class(ctx, "<script>alert(1)</script>", "#ff0000")
    from ui_helpers import scene_png
    images.import_uploads(ctx, [("<b>x</b>.png", scene_png(1))], ["<script>alert(1)</script>"])
    masks.save_mask(ctx, 1, np.ones((SIZE, SIZE), np.uint8), MaskKind.PSEUDO, ReviewStatus.TO_REVIEW)
    view = shown(review_tab.at(ctx, 0, *FILTERS))
    assert "<b>" not in view["facts"] and "&lt;b&gt;" in view["facts"] and "&lt;script&gt;" in view["facts"]
    assert review_view.palette(ctx)[0].name == "<script>alert(1)</script>"  # the editor shows it as text
