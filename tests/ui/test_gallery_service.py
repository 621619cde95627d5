"""Gallery services: pages, immutable thumbnails, bulk tag edits, delete into the trash, restore, purge."""
from __future__ import annotations

import os

import numpy as np
import pytest

from incseg_app.domain.enums import MaskKind, ReviewStatus, Split
from incseg_app.domain.errors import ConflictError, ValidationError
from incseg_app.services import gallery, images, masks, training
from ui_helpers import add_pseudo, ctx, filled  # noqa: F401


def test_pages_say_whether_more_follow(filled):
    page = gallery.gallery_page(filled, limit=4)
    assert len(page.items) == 4 and page.has_more
    rest = gallery.gallery_page(filled, offset=4, limit=4)
    assert len(rest.items) == 2 and not rest.has_more
    assert {r.id for r, _ in page.items}.isdisjoint({r.id for r, _ in rest.items})
    assert all(head is not None for r, head in rest.items if r.split == Split.VAL)


def test_thumbnails_are_written_once_and_never_rewritten(filled, tmp_path):
    record = images.list_images(filled)[0]
    path = gallery.thumbnail_file(filled, record, tmp_path / "thumbs")
    first = os.stat(path)
    again = gallery.thumbnail_file(filled, record, tmp_path / "thumbs")
    assert again == path and os.stat(again).st_mtime_ns == first.st_mtime_ns and os.stat(again).st_ino == first.st_ino
    assert path.name.startswith(record.sha256) and not list((tmp_path / "thumbs").glob(".*"))  # no temp left


def test_bulk_tag_edit_adds_and_removes_in_one_go(filled):
    ids = [r.id for r in images.list_images(filled, split=Split.TRAIN)]
    assert gallery.edit_tags(filled, ids[:2], remove=["grass"]) == 2
    assert [images.get_image(filled, i).tags for i in ids[:3]] == [("sky",), ("sky",), ("sky", "grass")]
    assert gallery.edit_tags(filled, ids[:2], add=["grass"], remove=["sky"]) == 2
    assert images.get_image(filled, ids[0]).tags == ("grass",)
    with pytest.raises(ValidationError, match="unknown tag"):
        gallery.edit_tags(filled, ids, add=["nope"])
    with pytest.raises(ValidationError, match="select at least one"):
        gallery.edit_tags(filled, [], add=["sky"])


def test_deleted_images_leave_lists_and_training_but_keep_their_masks_until_a_purge(filled):
    ids = add_pseudo(filled, [0.3, 0.4])
    target = masks.get_mask(filled, ids[0]).image_id
    confidence = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    draft = masks.save_mask(filled, target, np.ones((64, 64), np.uint8), MaskKind.PSEUDO, ReviewStatus.TO_REVIEW,
                            expected_parent_id=ids[0], confidence_map=confidence)
    masks.save_mask(filled, target, np.ones((64, 64), np.uint8), expected_parent_id=draft.id)
    n_before = len(images.list_images(filled))
    (trash_id,) = gallery.delete_images(filled, [target])
    assert len(images.list_images(filled)) == n_before - 1
    assert target not in {e.image.id for e in training.plan_step(filled, method="finetune", with_entries=True).entries}
    assert gallery.trash_entries(filled)[0][:2] == (trash_id, target)
    restored = gallery.restore_image(filled, trash_id)
    history = masks.mask_history(filled, restored.id)
    assert [m.kind.value for m in history] == ["pseudo", "pseudo", "corrected"]
    assert history[2].parent_id == history[1].id and history[1].parent_id == history[0].id
    np.testing.assert_allclose(masks.read_confidence(filled, history[1].id), confidence, atol=1 / 255)
    assert restored.tags == ("sky", "grass") and gallery.trash_entries(filled) == []
    (trash_id,) = gallery.delete_images(filled, [restored.id])
    shas = {restored.sha256, history[1].confidence_sha256} | {m.sha256 for m in history}
    assert all(filled.blobs.exists(s) for s in shas)  # kept while in the trash
    assert gallery.purge_trash(filled) >= 2
    assert not filled.blobs.exists(restored.sha256) and gallery.trash_entries(filled) == []


def test_restore_refuses_when_the_image_was_imported_again(filled):
    record = images.list_images(filled)[0]
    (trash_id,) = gallery.delete_images(filled, [record.id])
    images.import_uploads(filled, [("again.png", filled.blobs.get_bytes(record.sha256))], ["sky"])
    with pytest.raises(ConflictError, match="imported again"):
        gallery.restore_image(filled, trash_id)
