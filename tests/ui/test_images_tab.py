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


def test_upload_applies_tags_and_split_to_the_batch(tagged, tmp_path):
    ctx, files = tagged
    bad = str(write(tmp_path / "notes.png", b"not an image"))
    status, pictures, ids, count = images_tab.upload(ctx, files + [bad], ["car"], "val", progress=no_progress)
    assert "Imported 3 image(s) into **val**" in status and "skipped notes.png" in status
    assert len(pictures) == 3 and count == "3 image(s) shown"
    assert pictures[0][0].shape[2] == 3 and "img0.png · val · no mask · car" in pictures[0][1]
    assert [(r.split, r.tags) for r in images.list_images(ctx)] == [(Split.VAL, ("car",))] * 3


def test_upload_zip_and_unknown_tag(tagged, tmp_path):
    ctx, files = tagged
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in files:
            zf.write(f, arcname=f"sub/{f.rsplit('/', 1)[-1]}")
    status, *_ = images_tab.upload(ctx, [str(archive)], ["car", "tree"], "train", progress=no_progress)
    assert "Imported 3 image(s)" in status
    status, *rest = images_tab.upload(ctx, files, ["boat"], "train", progress=no_progress)
    assert status.startswith("⚠️") and "unknown tag 'boat'" in status


def test_upload_without_files_says_what_to_do(tagged):
    status, *_ = images_tab.upload(tagged[0], None, [], "train", progress=no_progress)
    assert "Choose or drop" in status


def test_gallery_filters_by_tag_split_and_status(tagged):
    ctx, files = tagged
    images_tab.upload(ctx, files[:2], ["car"], "train", progress=no_progress)
    images_tab.upload(ctx, files[2:], ["tree"], "val", progress=no_progress)
    first = images.list_images(ctx)[0]
    masks.save_mask(ctx, first.id, np.zeros((24, 32), np.uint8), status=ReviewStatus.TO_REVIEW)
    assert len(images_tab.gallery_values(ctx, "car", "any", "any")[1]) == 2
    assert len(images_tab.gallery_values(ctx, "any", "val", "any")[1]) == 1
    assert images_tab.gallery_values(ctx, "any", "any", "to_review")[1] == [first.id]
    assert len(images_tab.gallery_values(ctx, "any", "any", "no mask")[1]) == 2


def test_select_and_save_per_image_tags_and_split(tagged):
    ctx, files = tagged
    _, _, ids, _ = images_tab.upload(ctx, files, ["car"], "train", progress=no_progress)
    picked, tags, split, info = images_tab.select_image(ctx, ids, SimpleNamespace(index=1))
    assert (picked, tags, split) == (ids[1], ["car"], "train") and "img1.png" in info
    status, _, listed, _ = images_tab.save_image(ctx, picked, ["tree", "car"], "val", "tree", "any", "any")
    assert status.startswith("✅") and listed == [picked]
    assert images.get_image(ctx, picked).split == Split.VAL
    assert "Click an image" in images_tab.save_image(ctx, None, [], "train", "any", "any", "any")[0]


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
    assert status.startswith("⚠️") and "outside the folders" in status
    assert images.count_images(store) == 0
