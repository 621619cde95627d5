"""Review flow services: the paged, filtered, ordered queue; decisions and their undo; reopening;
saving an edit (never an unchanged draft); ranking drafts against the model."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from incseg_app.domain.enums import MaskKind, ReviewStatus
from incseg_app.domain.errors import ConflictError, ValidationError
from incseg_app.services import masks, review, review_editor
from incseg_app.services.review import QueueFilter
from incseg_app.storage.repositories import ReviewRepo
from store_helpers import label_png
from ui_helpers import SIZE, add_pseudo, ctx, filled, runner, scene_mask  # noqa: F401


def test_queue_is_most_likely_wrong_first_with_position_and_total(filled):
    ids = add_pseudo(filled, [0.9, 0.2, 0.5, 0.7])
    first = review.queue_item(filled, QueueFilter(), 0)
    assert (first.mask.id, first.position, first.total) == (ids[1], 0, 4)
    assert first.image.id == first.mask.image_id and len(first.upcoming) == 2
    third = review.queue_item(filled, QueueFilter(), 2)
    assert third.mask.id == ids[3] and third.position == 2
    assert review.queue_item(filled, QueueFilter(), 99).mask.id == ids[0]  # clamped to the last one
    by_image = review.queue_item(filled, QueueFilter(order="image"), 0)
    assert by_image.mask.id == ids[0]
    assert review.waiting_count(filled) == 4


def test_agreement_with_the_model_moves_a_confident_draft_forward(filled):
    ids = add_pseudo(filled, [0.9, 0.5])
    with filled.unit_of_work(write=True) as s:
        ReviewRepo(s).set_agreement([(ids[0], 0.1)], version_id=1)  # 0.9 × 0.1 < 0.5
    assert review.queue_item(filled, QueueFilter(), 0).mask.id == ids[0]


def test_filters_by_status_and_tag_and_locate(filled):
    ids = add_pseudo(filled, [0.3, 0.4, 0.5])
    review.decide(filled, ids[0], ReviewStatus.ACCEPTED)
    review.decide(filled, ids[1], ReviewStatus.REJECTED)
    assert review.queue_item(filled, QueueFilter("to_review"), 0).total == 1
    assert review.queue_item(filled, QueueFilter("rejected"), 0).mask.id == ids[1]
    accepted = review.queue_item(filled, QueueFilter("accepted"), 0)
    assert accepted.mask.id != ids[1] and accepted.total == 3  # two val ground truths + ids[0]
    assert review.queue_item(filled, QueueFilter("reviewed"), 0).total == 4
    assert review.queue_item(filled, QueueFilter("all", tag="sky"), 0).total == 5
    assert review.locate(filled, QueueFilter("all"), ids[2]).position >= 0
    assert review.locate(filled, QueueFilter("to_review"), ids[0]) is None
    with pytest.raises(ValidationError, match="unknown status"):
        review.queue_item(filled, QueueFilter("nope"), 0)


def test_undo_restores_the_status_and_a_changed_mask_refuses_undo(filled):
    ids = add_pseudo(filled, [0.3])
    decision = review.decide(filled, ids[0], ReviewStatus.ACCEPTED)
    assert masks.get_mask(filled, ids[0]).status == ReviewStatus.ACCEPTED
    back = review.undo(filled, review.Decision.from_dict(decision.to_dict()))
    assert back.status == ReviewStatus.TO_REVIEW
    with pytest.raises(ConflictError):
        review.undo(filled, decision)  # already undone: the status is no longer "accepted"


def test_reopen_puts_a_reviewed_mask_back_in_the_queue(filled):
    ids = add_pseudo(filled, [0.3])
    review.decide(filled, ids[0], ReviewStatus.REJECTED)
    review.reopen(filled, ids[0])
    assert masks.get_mask(filled, ids[0]).status == ReviewStatus.TO_REVIEW
    with pytest.raises(ValidationError, match="already waits"):
        review.reopen(filled, ids[0])


def test_save_edit_stores_exact_ids_and_refuses_an_unchanged_draft(filled):
    ids = add_pseudo(filled, [0.3])
    rev = masks.get_mask(filled, ids[0])
    with pytest.raises(ValidationError, match="nothing was changed"):
        review.save_edit(filled, rev.image_id, rev.id, label_png(scene_mask()))
    assert masks.head_mask(filled, rev.image_id).id == rev.id  # nothing was stored
    edited = scene_mask()
    edited[:5, :5] = 255
    edited[40:, :10] = 1
    decision = review.save_edit(filled, rev.image_id, rev.id, label_png(edited))
    head = masks.head_mask(filled, rev.image_id)
    assert (head.id, head.kind, head.status, head.parent_id) == (decision.mask_id, MaskKind.CORRECTED,
                                                                 ReviewStatus.ACCEPTED, rev.id)
    np.testing.assert_array_equal(masks.read_mask(filled, head.id), edited)
    restored = review.undo(filled, decision)  # a new revision with the draft's pixels and status
    assert restored.id > head.id and restored.status == ReviewStatus.TO_REVIEW and restored.kind == MaskKind.PSEUDO
    np.testing.assert_array_equal(masks.read_mask(filled, restored.id), scene_mask())


def test_a_stale_or_foreign_save_is_refused(filled):
    ids = add_pseudo(filled, [0.3, 0.4])
    rev = masks.get_mask(filled, ids[0])
    edited = scene_mask()
    edited[0, 0] = 0
    with pytest.raises(ValidationError, match="belongs to image"):
        review.save_edit(filled, rev.image_id + 1, rev.id, label_png(edited))
    masks.save_mask(filled, rev.image_id, scene_mask(), expected_parent_id=rev.id)
    with pytest.raises(ConflictError):
        review.save_edit(filled, rev.image_id, rev.id, label_png(edited))


def test_editor_photo_lines_up_with_the_mask(filled):
    add_pseudo(filled, [0.3])
    item = review.queue_item(filled, QueueFilter(), 0)
    photo = Image.open(io.BytesIO(review_editor.editor_photo(filled, item.image.id)))
    assert photo.format == "JPEG" and photo.size == (SIZE, SIZE)


def test_refine_changes_a_region_per_click_and_region_maps_nest(filled):
    add_pseudo(filled, [0.3])
    item = review.queue_item(filled, QueueFilter(), 0)
    empty = np.zeros((SIZE, SIZE), np.uint8)
    out = review_editor.refine(filled, item.image.id, empty, 1, [(10, 10, True)], "coarse")
    assert out[10, 10] == 1 and (out == 1).sum() >= 0.2 * (SIZE * SIZE // 2)  # a region, not a speck
    maps = review_editor.region_maps(filled, item.image.id)
    assert set(maps) == {"fine", "medium", "coarse"}
    assert len(np.unique(maps["coarse"])) <= len(np.unique(maps["fine"]))
    with pytest.raises(ValidationError, match="unknown click scale"):
        review_editor.refine(filled, item.image.id, empty, 1, [(1, 1, True)], "huge")


def test_agreement_is_the_mean_iou_over_known_classes():
    draft = np.array([[1, 1, 2, 2], [1, 1, 2, 255]], np.uint8)
    pred = np.array([[1, 1, 1, 1], [1, 1, 2, 2]], np.uint8)
    assert review_editor.agreement(draft, pred, {0, 1}) == pytest.approx(4 / 6)
    assert review_editor.agreement(draft, pred, {0}) is None


def test_score_drafts_needs_a_version(filled):
    add_pseudo(filled, [0.3])
    with pytest.raises(ValidationError, match="no model version"):
        review_editor.score_drafts(filled)


def test_ranking_drafts_against_the_model_is_a_job_that_stores_agreement(filled, runner):
    from incseg_app.domain.enums import JobStatus
    from incseg_app.services import training

    ids = add_pseudo(filled, [0.5, 0.6, 0.7, 0.8])
    training.train_step(filled, training.TrainRequest(method="finetune", epochs=1, batch_size=2))
    job = review_editor.start_scoring(filled, runner)
    done = runner.wait(job.id, timeout=300)
    assert done.status == JobStatus.DONE, done.error
    assert done.result["scored"] == 4
    with filled.unit_of_work() as s:
        scores = [ReviewRepo(s).agreement(i) for i in ids]
    assert all(0.0 <= v <= 1.0 for v in scores)
    first = review.queue_item(filled, QueueFilter(), 0)
    assert first.priority == pytest.approx(min(c * a for c, a in zip([0.5, 0.6, 0.7, 0.8], scores)))
