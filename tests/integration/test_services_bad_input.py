"""Issue 2's bad-input list: each case raises a clear error naming the file and the reason, and leaves
the store (every DB row and every blob file) exactly as it was."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from incseg_app.domain.errors import BadFileError, DuplicateError, ValidationError
from incseg_app.services import classes, datasets, images, masks
from store_helpers import bomb_png, busy, image_bytes, label_png, snapshot, store, write  # noqa: F401

GOOD = image_bytes(16, 12, 1)



def _folder_with(tmp: Path, name: str, data: bytes) -> Path:
    """A folder whose first file is good (so a blob is written before the bad one is seen)."""
    folder = tmp / "upload"
    write(folder / "a_good.png", GOOD)
    write(folder / name, data)
    return folder


def _zip(tmp: Path, entries: dict[str, bytes]) -> Path:
    path = tmp / "pack.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _dataset(tmp: Path, label: np.ndarray, names=("background", "car", "road")) -> Path:
    root = tmp / "ds"
    write(root / "images" / "a.png", image_bytes(16, 12, 5))
    write(root / "labels" / "a.png", label_png(np.zeros((12, 16), np.uint8)))
    write(root / "images" / "b.png", image_bytes(16, 12, 6))
    write(root / "labels" / "b.png", label_png(label))
    (root / "classes.json").write_text(json.dumps({"classes": list(names), "background_index": 0}))
    return root


CASES = {
    "corrupt": (lambda ctx, tmp: images.import_images(ctx, [_folder_with(tmp, "b_bad.jpg",
                                                                          image_bytes(40, 40, fmt="JPEG")[:200])]),
                BadFileError, "b_bad.jpg: the image is corrupt or truncated"),
    "empty": (lambda ctx, tmp: images.import_images(ctx, [_folder_with(tmp, "b_empty.png", b"")]),
              BadFileError, "b_empty.png: the file is empty"),
    "non-image": (lambda ctx, tmp: images.import_images(ctx, [_folder_with(tmp, "b_text.png", b"hello world")]),
                  BadFileError, "b_text.png: not an image"),
    "bomb": (lambda ctx, tmp: images.import_images(ctx, [_folder_with(tmp, "b_bomb.png", bomb_png())]),
             BadFileError, "b_bomb.png: .*decompression bomb"),
    "mask-size": (lambda ctx, tmp: masks.save_mask(ctx, 1, np.zeros((5, 5), np.uint8), expected_parent_id=1),
                  BadFileError, "mask for seed.png: mask is 5x5 but its image is 16x12"),
    "mask-file-size": (lambda ctx, tmp: masks.import_mask_file(ctx, 1, label_png(np.zeros((3, 3))), "m.png"),
                       BadFileError, "m.png: mask is 3x3 but its image is 16x12"),
    "mask-unknown-id": (lambda ctx, tmp: masks.save_mask(ctx, 1, np.full((12, 16), 42, np.uint8),
                                                         expected_parent_id=1),
                        BadFileError, "mask for seed.png: unknown class id\\(s\\) 42"),
    "dataset-label-size": (lambda ctx, tmp: datasets.import_dataset(ctx, _dataset(tmp, np.zeros((4, 4), np.uint8))),
                           BadFileError, "labels/b.png: label is 4x4 but image b.png is 16x12"),
    "dataset-unknown-id": (lambda ctx, tmp: datasets.import_dataset(ctx, _dataset(tmp, np.full((12, 16), 9, np.uint8))),
                           BadFileError, "labels/b.png: unknown class id\\(s\\) 9"),
    "duplicate-class": (lambda ctx, tmp: classes.create_class(ctx, "Car"), DuplicateError, "'car' already exists"),
    "empty-class": (lambda ctx, tmp: classes.create_class(ctx, " "), ValidationError, "cannot be empty"),
    "unknown-tag": (lambda ctx, tmp: images.import_uploads(ctx, [("x.png", GOOD)], ["car", "zebra"]),
                    ValidationError, "unknown tag 'zebra'"),
    "dotdot-name": (lambda ctx, tmp: images.import_uploads(ctx, [("ok.png", GOOD), ("../../x.png", GOOD)]),
                    BadFileError, r"\.\./\.\./x\.png: .*'\.\./'"),
    "absolute-name": (lambda ctx, tmp: images.import_uploads(ctx, [("/etc/x.png", GOOD)]),
                      BadFileError, "/etc/x.png: absolute"),
    "zip-slip-images": (lambda ctx, tmp: images.import_images(ctx, [_zip(tmp, {"ok.png": GOOD, "../evil.png": GOOD})]),
                        BadFileError, r"pack.zip:\.\./evil\.png"),
    "zip-slip-dataset": (lambda ctx, tmp: datasets.import_dataset(ctx, _zip(tmp, {"images/a.png": GOOD,
                                                                                   "/abs/evil.png": GOOD})),
                         BadFileError, "pack.zip:/abs/evil.png: absolute"),
    "zip-corrupt-entry": (lambda ctx, tmp: images.import_images(ctx, [_zip(tmp, {"a.png": GOOD, "b.png": b"xx"})]),
                          BadFileError, "b.png: not an image"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_and_store_unchanged(busy, tmp_path, case):
    action, error, message = CASES[case]
    before = snapshot(busy)
    with pytest.raises(error, match=message):
        action(busy, tmp_path)
    assert snapshot(busy) == before
    assert not (tmp_path.parent / "evil.png").exists()


def test_failure_while_writing_rows_removes_the_new_blobs(busy, monkeypatch):
    """A failure after blobs were written (e.g. the DB insert) still leaves no new blob behind."""
    from incseg_app.storage.repositories import ImageRepo

    def broken_add(self, *a, **k):
        raise RuntimeError("database went away")
    monkeypatch.setattr(ImageRepo, "add_many", broken_add)
    before = snapshot(busy)
    with pytest.raises(RuntimeError):
        images.import_uploads(busy, [("new.png", image_bytes(8, 8, 99))])
    assert snapshot(busy) == before


def test_blob_shared_with_existing_rows_is_kept_on_failure(busy):
    """Cleanup never deletes a blob that an existing row points at."""
    seed_sha = images.get_image(busy, 1).sha256
    with pytest.raises(BadFileError):
        images.import_uploads(busy, [("again.png", image_bytes(16, 12, 0)), ("bad.png", b"")])
    assert busy.blobs.exists(seed_sha)
