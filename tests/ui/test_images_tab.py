"""Images tab handlers: tagged batch upload (files and zip), bad files listed, gallery filters,
per-image tag/split edits, dataset import (zip upload and an allowed folder only)."""
from __future__ import annotations

import zipfile
from types import SimpleNamespace

import numpy as np
import pytest

from incseg_app.domain.enums import ReviewStatus, Split
from incseg_app.services import classes, images, masks
from incseg_app.ui import images_tab
from store_helpers import image_bytes, label_png, store, write  # noqa: F401


def no_progress(*_args, **_kwargs):
    return None


@pytest.fixture
def tagged(store, tmp_path):
    classes.create_class(store, "car", "#ff0000")
    classes.create_class(store, "tree", "#00ff00")
    files = [str(write(tmp_path / f"img{i}.png", image_bytes(seed=i))) for i in range(3)]
    return store, files


FILTERS = ("any", "any", "any", 0)


def test_upload_applies_tags_and_split_and_clears_the_batch_tags(tagged, tmp_path):
    ctx, files = tagged
    bad = str(write(tmp_path / "notes.png", b"not an image"))
    status, pictures, ids, line, page, files_box, tags_box = images_tab.upload(
        ctx, files + [bad], ["car"], "val", *FILTERS, progress=no_progress)
    assert "Imported 3 image(s) into **val**" in status and "skipped notes.png" in status
    assert len(pictures) == 3 and line == "Images 1–3" and (files_box, tags_box) == (None, [])
    path, caption = pictures[0]
    assert path.endswith(".jpg") and caption == f"#{ids[0]} img0.png · val · no mask"
    assert [(r.split, r.tags) for r in images.list_images(ctx)] == [(Split.VAL, ("car",))] * 3


def test_a_failed_import_is_not_headed_as_a_success(tagged, tmp_path):
    ctx, _ = tagged
    bad = str(write(tmp_path / "notes.png", b"not an image"))
    status, *_ = images_tab.upload(ctx, [bad], ["car"], "train", *FILTERS, progress=no_progress)
    assert status.startswith("⚠ Nothing was imported") and "Imported" not in status


def test_upload_zip_and_unknown_tag(tagged, tmp_path):
    ctx, files = tagged
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in files:
            zf.write(f, arcname=f"sub/{f.rsplit('/', 1)[-1]}")
    status, *_ = images_tab.upload(ctx, [str(archive)], ["car", "tree"], "train", *FILTERS, progress=no_progress)
    assert "Imported 3 image(s)" in status
    status, *rest = images_tab.upload(ctx, files, ["boat"], "train", *FILTERS, progress=no_progress)
    assert status.startswith("⚠") and "unknown tag 'boat'" in status


def test_upload_without_files_says_what_to_do(tagged):
    status, *_ = images_tab.upload(tagged[0], None, [], "train", *FILTERS, progress=no_progress)
    assert "Choose or drop" in status


def test_gallery_filters_and_pages(tagged, monkeypatch):
    ctx, files = tagged
    images_tab.upload(ctx, files[:2], ["car"], "train", *FILTERS, progress=no_progress)
    images_tab.upload(ctx, files[2:], ["tree"], "val", *FILTERS, progress=no_progress)
    first = images.list_images(ctx)[0]
    masks.save_mask(ctx, first.id, np.zeros((24, 32), np.uint8), status=ReviewStatus.TO_REVIEW)
    values = images_tab.gv.page_values
    assert len(values(ctx, "car", "any", "any", 0)[1]) == 2
    assert len(values(ctx, "any", "val", "any", 0)[1]) == 1
    assert values(ctx, "any", "any", "to_review", 0)[1] == [first.id]
    assert len(values(ctx, "any", "any", "no mask", 0)[1]) == 2
    monkeypatch.setattr(images_tab.gv.gallery, "PAGE_SIZE", 2)
    pictures, ids, line, page = values(ctx, "any", "any", "any", 1)
    assert len(ids) == 1 and page == 1 and line == "Images 3–3"
    assert values(ctx, "any", "any", "any", 5)[3] == 1  # past the end: the last page


def test_selection_bulk_tags_split_and_delete_to_the_trash(tagged):
    ctx, files = tagged
    _, _, ids, *_ = images_tab.upload(ctx, files, ["car"], "train", *FILTERS, progress=no_progress)
    chosen, line = images_tab.pick(ids, [], SimpleNamespace(index=1))
    chosen, line = images_tab.pick(ids, chosen, SimpleNamespace(index=2))
    assert chosen == ids[1:] and "2 selected" in line
    assert images_tab.pick(ids, chosen, SimpleNamespace(index=2))[0] == [ids[1]]  # a second click unselects
    status, *_ = images_tab.edit_tags(ctx, chosen, ["tree"], ["car"], *FILTERS)
    assert status.startswith("✓") and [images.get_image(ctx, i).tags for i in ids] == [("car",), ("tree",), ("tree",)]
    status, *_ = images_tab.set_split(ctx, chosen, "val", *FILTERS)
    assert [images.get_image(ctx, i).split for i in ids] == [Split.TRAIN, Split.VAL, Split.VAL]
    assert "Select images first" in images_tab.ask_delete([])[0]
    question, row = images_tab.ask_delete(chosen)
    assert row["visible"] and "2 image(s)" in question and images.count_images(ctx) == 3  # asking deletes nothing
    status, pictures, shown, *_, selection, line, trash = images_tab.delete(ctx, chosen, *FILTERS)
    assert status.startswith("✓") and shown == [ids[0]] and selection == [] and len(trash) == 2
    status, *_, trash = images_tab.restore(ctx, trash[0][0], *FILTERS)
    assert "Restored" in status and len(trash) == 1 and images.count_images(ctx) == 2
    assert "Tick the box" in images_tab.purge(ctx, False)[0] and len(images_tab.trash_rows(ctx)) == 1
    assert images_tab.purge(ctx, True)[1] == []


def _voc_folder(root):
    write(root / "JPEGImages" / "a.png", image_bytes(w=16, h=8, seed=3))
    mask = np.zeros((8, 16), np.uint8)
    mask[:, :4] = 7  # VOC id 7 = car
    write(root / "SegmentationClass" / "a.png", label_png(mask))
    return root


def test_dataset_import_from_allowed_folder_and_zip(store, tmp_path, monkeypatch):
    folder = _voc_folder(tmp_path / "voc")
    monkeypatch.setenv("INCSEG_IMPORT_DIRS", str(tmp_path))
    status = images_tab.import_dataset(store, str(folder), None, "", progress=no_progress)
    assert "1 new image(s) and 1 ground-truth mask(s)" in status and "car" in status
    archive = tmp_path / "voc.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in folder.rglob("*.png"):
            zf.write(p, arcname=f"voc/{p.relative_to(folder)}")
    assert "0 new image(s)" in images_tab.import_dataset(store, "", str(archive), "val", progress=no_progress)


def test_dataset_folder_outside_allowed_roots_is_refused(store, tmp_path, monkeypatch):
    folder = _voc_folder(tmp_path / "voc")
    monkeypatch.setenv("INCSEG_IMPORT_DIRS", str(tmp_path / "elsewhere"))
    status = images_tab.import_dataset(store, str(folder), None, "", progress=no_progress)
    assert status.startswith("⚠") and "outside the folders" in status
    assert images.count_images(store) == 0
