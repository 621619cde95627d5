"""Image service: import files/folders/zips/uploads, duplicates, filters, tags, split, pixels."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest

from incseg_app.domain.enums import ReviewStatus, Split
from incseg_app.domain.errors import NotFoundError, ValidationError
from incseg_app.services import classes, images, masks
from store_helpers import image_bytes, snapshot, store, write  # noqa: F401


@pytest.fixture
def tagged(store):
    classes.create_class(store, "car")
    classes.create_class(store, "tree")
    return store


def test_import_files_folder_and_zip(tagged, tmp_path):
    f1 = write(tmp_path / "one.png", image_bytes(10, 8, 1))
    folder = tmp_path / "folder"
    write(folder / "a.jpg", image_bytes(12, 9, 2, "JPEG"))
    write(folder / "sub" / "b.png", image_bytes(7, 5, 3))
    write(folder / "notes.txt", b"not an image")
    write(folder / ".hidden.png", b"editor swap file")
    archive = tmp_path / "pack.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("z/c.png", image_bytes(6, 6, 4))
        zf.writestr("readme.md", b"hi")
        zf.writestr("__MACOSX/z/._c.png", b"apple double metadata")
    progress = []
    r = images.import_images(tagged, [f1, folder, archive], tags=["car"], split=Split.VAL,
                             progress=lambda f, m: progress.append(f))
    names = sorted(i.original_name for i in r.imported)
    assert names == ["a.jpg", "one.png", "sub/b.png", "z/c.png"]
    assert sorted(r.ignored) == [".hidden.png", "notes.txt", "pack.zip:__MACOSX/z/._c.png", "pack.zip:readme.md"]
    assert all(i.tags == ("car",) and i.split == Split.VAL for i in r.imported)
    assert {(i.original_name, i.width, i.height) for i in r.imported} >= {("a.jpg", 12, 9), ("sub/b.png", 7, 5)}
    assert progress[-1] == 1.0 and progress == sorted(progress)
    for rec in r.imported:
        assert tagged.blobs.exists(rec.sha256)


def test_duplicate_content_is_stored_once_and_tags_merge(tagged):
    data = image_bytes(9, 9, 5)
    first = images.import_uploads(tagged, [("x.png", data)], ["car"]).imported[0]
    again = images.import_uploads(tagged, [("copy.png", data), ("copy2.png", data)], ["tree"])
    assert again.imported == []
    assert [d.id for d in again.duplicates] == [first.id, first.id]
    assert images.get_image(tagged, first.id).tags == ("car", "tree")
    assert images.count_images(tagged) == 1


def test_skip_invalid_reports_and_imports_the_rest(tagged):
    r = images.import_uploads(tagged, [("good.png", image_bytes(5, 5)), ("bad.png", b"garbage")], skip_invalid=True)
    assert [i.original_name for i in r.imported] == ["good.png"]
    assert r.skipped == [("bad.png", "not an image (content is not a readable image format)")]


def test_list_filters_by_tag_split_and_review_status(tagged):
    r = images.import_uploads(tagged, [(f"{i}.png", image_bytes(4, 4, i)) for i in range(4)], ["car"])
    a, b, c, d = r.imported
    images.set_tags(tagged, b.id, ["tree"])
    images.set_split(tagged, c.id, Split.VAL)
    masks.save_mask(tagged, a.id, np.zeros((4, 4), np.uint8), status=ReviewStatus.TO_REVIEW)
    rev = masks.save_mask(tagged, d.id, np.zeros((4, 4), np.uint8), status=ReviewStatus.TO_REVIEW)
    masks.accept_mask(tagged, rev.id)
    ids = lambda recs: [x.id for x in recs]  # noqa: E731
    assert ids(images.list_images(tagged, tag="car")) == [a.id, c.id, d.id]
    assert ids(images.list_images(tagged, tag="tree")) == [b.id]
    assert ids(images.list_images(tagged, split=Split.VAL)) == [c.id]
    assert ids(images.list_images(tagged, status=ReviewStatus.TO_REVIEW)) == [a.id]
    assert ids(images.list_images(tagged, status=ReviewStatus.ACCEPTED)) == [d.id]
    assert ids(images.list_images(tagged, has_mask=False)) == [b.id, c.id]
    assert ids(images.list_images(tagged, limit=2, offset=1)) == [b.id, c.id]
    with pytest.raises(ValidationError, match="unknown tag 'plane'"):
        images.list_images(tagged, tag="plane")


def test_set_tags_validates_and_set_split(tagged):
    rec = images.import_uploads(tagged, [("a.png", image_bytes(4, 4))]).imported[0]
    assert images.set_tags(tagged, rec.id, ["tree", "car"]).tags == ("car", "tree")
    before = snapshot(tagged)
    with pytest.raises(ValidationError, match="unknown tag 'plane'"):
        images.set_tags(tagged, rec.id, ["car", "plane"])
    classes.archive_class(tagged, "tree")
    with pytest.raises(ValidationError, match="archived"):
        images.set_tags(tagged, rec.id, ["tree"])
    classes.archive_class(tagged, "tree", archived=False)
    assert snapshot(tagged) == before
    assert images.set_split(tagged, rec.id, Split.VAL).split == Split.VAL
    with pytest.raises(NotFoundError, match="no image with id 999"):
        images.set_split(tagged, 999, Split.VAL)


def test_read_image_returns_original_pixels(tagged):
    data = image_bytes(6, 4, 7)
    rec = images.import_uploads(tagged, [("a.png", data)]).imported[0]
    arr = images.read_image(tagged, rec.id)
    assert arr.shape == (4, 6, 3) and arr.dtype == np.uint8
    expected = np.random.default_rng(7).integers(0, 255, (4, 6, 3), dtype=np.uint8)
    assert np.array_equal(arr, expected)
    assert images.image_bytes(tagged, rec.id) == data
