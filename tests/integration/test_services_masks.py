"""Mask service: revisions, optimistic concurrency, review, queue, labelled masks."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from incseg_app.domain.enums import MaskKind, ReviewStatus, Split
from incseg_app.domain.errors import ConflictError, NotFoundError, ValidationError
from incseg_app.services import classes, images, masks
from store_helpers import image_bytes, label_png, store  # noqa: F401


@pytest.fixture
def two_images(store):
    classes.create_class(store, "car")
    classes.create_class(store, "tree")
    recs = images.import_uploads(store, [("a.png", image_bytes(8, 6, 1)), ("b.png", image_bytes(8, 6, 2))],
                                 ["car"]).imported
    return store, recs


def test_every_save_is_a_new_revision_with_parent(two_images):
    store, (a, _) = two_images
    m1 = np.zeros((6, 8), np.uint8)
    m1[:2] = 1
    r1 = masks.save_mask(store, a.id, m1, kind=MaskKind.PSEUDO, status=ReviewStatus.TO_REVIEW, confidence=0.4,
                         source="clip+sam", author="job")
    m2 = m1.copy()
    m2[5, 7] = 2
    m2[0, 0] = 255
    r2 = masks.save_mask(store, a.id, m2, expected_parent_id=r1.id, author="ann", source="brush")
    assert (r1.parent_id, r2.parent_id) == (None, r1.id)
    assert (r2.kind, r2.status, r2.author, r2.source) == (MaskKind.CORRECTED, ReviewStatus.ACCEPTED, "ann", "brush")
    assert np.array_equal(masks.read_mask(store, r1.id), m1)  # nothing overwritten
    assert np.array_equal(masks.read_mask(store, r2.id), m2)
    assert [r.id for r in masks.mask_history(store, a.id)] == [r1.id, r2.id]
    assert masks.head_mask(store, a.id).id == r2.id
    assert masks.mask_class_pixels(store, r2.id) == {1: 15, 2: 1}
    assert masks.get_mask(store, r1.id).confidence == pytest.approx(0.4)


def test_stale_save_is_refused_and_nothing_lost(two_images):
    store, (a, _) = two_images
    base = masks.save_mask(store, a.id, np.zeros((6, 8), np.uint8))
    mine = masks.save_mask(store, a.id, np.ones((6, 8), np.uint8), expected_parent_id=base.id)
    with pytest.raises(ConflictError, match="changed by someone else"):
        masks.save_mask(store, a.id, np.full((6, 8), 2, np.uint8), expected_parent_id=base.id)
    with pytest.raises(ConflictError):
        masks.save_mask(store, a.id, np.zeros((6, 8), np.uint8))  # "no mask yet" is stale too
    assert masks.head_mask(store, a.id).id == mine.id
    assert len(masks.mask_history(store, a.id)) == 2
    forced = masks.save_mask(store, a.id, np.zeros((6, 8), np.uint8), force=True)
    assert forced.parent_id == mine.id


def test_concurrent_saves_on_same_parent_one_wins(two_images):
    store, (a, _) = two_images
    base = masks.save_mask(store, a.id, np.zeros((6, 8), np.uint8))
    outcomes: list[str] = []

    def save(value: int) -> None:
        try:
            masks.save_mask(store, a.id, np.full((6, 8), value, np.uint8), expected_parent_id=base.id)
            outcomes.append("saved")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(v,)) for v in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "saved"]
    assert len(masks.mask_history(store, a.id)) == 2


def test_accept_reject_only_on_head(two_images):
    store, (a, _) = two_images
    r1 = masks.save_mask(store, a.id, np.zeros((6, 8), np.uint8), kind=MaskKind.PSEUDO, status=ReviewStatus.TO_REVIEW)
    assert masks.reject_mask(store, r1.id).status == ReviewStatus.REJECTED
    assert masks.accept_mask(store, r1.id).status == ReviewStatus.ACCEPTED
    r2 = masks.save_mask(store, a.id, np.zeros((6, 8), np.uint8), expected_parent_id=r1.id)
    with pytest.raises(ConflictError, match=f"newest is {r2.id}"):
        masks.accept_mask(store, r1.id)
    with pytest.raises(NotFoundError):
        masks.accept_mask(store, 999)


def test_review_queue_lowest_confidence_first(two_images):
    store, (a, b) = two_images
    c = images.import_uploads(store, [("c.png", image_bytes(8, 6, 3))], ["tree"]).imported[0]
    zeros = np.zeros((6, 8), np.uint8)
    ra = masks.save_mask(store, a.id, zeros, MaskKind.PSEUDO, ReviewStatus.TO_REVIEW, confidence=0.9)
    rb = masks.save_mask(store, b.id, zeros, MaskKind.PSEUDO, ReviewStatus.TO_REVIEW, confidence=0.2)
    rc = masks.save_mask(store, c.id, zeros, MaskKind.PSEUDO, ReviewStatus.TO_REVIEW, confidence=0.5)
    assert [r.id for r in masks.review_queue(store)] == [rb.id, rc.id, ra.id]
    assert [r.id for r in masks.review_queue(store, limit=1)] == [rb.id]
    assert [r.id for r in masks.review_queue(store, tag="tree")] == [rc.id]
    masks.accept_mask(store, rb.id)
    assert [r.id for r in masks.review_queue(store)] == [rc.id, ra.id]
    with pytest.raises(ValidationError, match="must be in \\[0, 1\\]"):
        masks.save_mask(store, a.id, zeros, confidence=1.5, expected_parent_id=ra.id)


def test_labelled_masks_by_status_and_split(two_images):
    store, (a, b) = two_images
    images.set_split(store, b.id, Split.VAL)
    zeros = np.zeros((6, 8), np.uint8)
    ra = masks.save_mask(store, a.id, zeros)
    rb = masks.save_mask(store, b.id, zeros, MaskKind.PSEUDO, ReviewStatus.TO_REVIEW)
    assert [r.id for r in masks.labelled_masks(store)] == [ra.id]
    both = (ReviewStatus.ACCEPTED, ReviewStatus.TO_REVIEW)
    assert [r.id for r in masks.labelled_masks(store, statuses=both)] == [ra.id, rb.id]
    assert [r.id for r in masks.labelled_masks(store, Split.VAL, both)] == [rb.id]
    assert masks.head_masks(store) == {a.id: masks.get_mask(store, ra.id), b.id: masks.get_mask(store, rb.id)}


def test_import_mask_file(two_images):
    store, (a, _) = two_images
    label = np.zeros((6, 8), np.uint8)
    label[3:, :] = 2
    rev = masks.import_mask_file(store, a.id, label_png(label), "a_label.png")
    assert (rev.kind, rev.status) == (MaskKind.GROUND_TRUTH, ReviewStatus.ACCEPTED)
    assert np.array_equal(masks.read_mask(store, rev.id), label)
