"""Hostile and damaged zip archives (issue 15): bombs are refused from the zip directory before a byte
is extracted, every path reads an archive with one open, damaged entries give a message, and the
temp folder of a dataset zip is gone however the import ends."""
from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from incseg_app.domain.errors import BadFileError
from incseg_app.services import StoreSettings, archives, classes, datasets, images, open_store
from incseg_app.services.tempdirs import DATASET_PREFIX
from store_helpers import image_bytes, label_png, snapshot, store  # noqa: F401

W, H = 16, 12
MiB = 1 << 20


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """The system temp folder, redirected so leftovers of this test alone are visible."""
    folder = tmp_path / "systmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def extractions(monkeypatch) -> list[str]:
    """Names of every zip entry written to disk."""
    written: list[str] = []
    real = archives._stream_member

    def spy(zf, info, dest, archive):
        written.append(info.filename)
        return real(zf, info, dest, archive)
    monkeypatch.setattr(archives, "_stream_member", spy)
    return written


def _dataset_zip(path: Path, n: int = 2, extra: dict[str, bytes] | None = None,
                 compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        zf.writestr("ds/classes.json", json.dumps({"classes": ["background", "car"], "background_index": 0}))
        for k in range(n):
            zf.writestr(f"ds/images/{k}.png", image_bytes(W, H, k))
            zf.writestr(f"ds/labels/{k}.png", label_png(np.ones((H, W), np.uint8)))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def test_dataset_zip_bomb_is_refused_from_its_directory_before_a_byte_is_written(store, tmp_path, private_tmp,
                                                                                  extractions):
    """Issue 15 #2: a 2.4 MB zip that unpacks to 2.4 GB was extracted into /tmp and imported. Here a
    ~60 kB zip holding a 60 MB label is refused by its compression ratio alone."""
    bomb = _dataset_zip(tmp_path / "bomb.zip", extra={"ds/labels/zz-huge.png": bytes(60 * MiB)})
    assert bomb.stat().st_size < MiB
    before = snapshot(store)
    with pytest.raises(BadFileError, match=r"bomb.zip:ds/labels/zz-huge.png: compressed [\d,]+:1, over the limit "
                                           r"of 100:1 \(possible zip bomb\)"):
        datasets.import_dataset(store, bomb)
    assert extractions == [] and list(private_tmp.iterdir()) == []
    assert snapshot(store) == before


@pytest.mark.parametrize("limit, entries, message", [
    ({"max_zip_bytes": 3 * MiB}, {f"ds/images/big{k}.bmp": np.random.default_rng(k).bytes(MiB) for k in range(4)},
     r"bomb.zip: unpacks to 0.00 GiB, over the limit of 0.0 GiB"),
    ({"max_file_bytes": MiB // 2}, {"ds/images/big.bmp": np.random.default_rng(0).bytes(MiB)},
     r"bomb.zip:ds/images/big.bmp: 1.0 MiB is over the 0 MiB limit per file"),
    ({"max_zip_entries": 5}, {}, r"bomb.zip: 7 entries is over the limit of 5"),
    ({"max_zip_ratio": 2.0}, {"ds/notes.txt": b"a" * (3 * MiB)}, r"bomb.zip:ds/notes.txt: compressed [\d,]+:1"),
])
def test_each_directory_limit_refuses_before_extraction(tmp_path, private_tmp, extractions, limit, entries, message):
    ctx = open_store(tmp_path / "s", StoreSettings(**limit))
    try:
        with pytest.raises(BadFileError, match=message):
            datasets.import_dataset(ctx, _dataset_zip(tmp_path / "bomb.zip", 3 if not entries else 2, entries))
        assert extractions == [] and list(private_tmp.iterdir()) == []
    finally:
        ctx.close()


def test_whole_archive_ratio_is_checked_even_when_every_entry_is_small(tmp_path, extractions):
    """Many entries just under 1 MiB of zeros each: no single entry is checked, the total is."""
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for k in range(40):
            zf.writestr(f"z{k}.png", bytes(MiB - 1))
    ctx = open_store(tmp_path / "s", StoreSettings())
    try:
        with pytest.raises(BadFileError, match=r"many.zip: unpacks [\d,]+ times larger than it is"):
            images.import_images(ctx, [archive])
        with pytest.raises(BadFileError, match="many.zip: unpacks"):
            archives.extract_zip(archive, tmp_path / "out", StoreSettings().zip_limits)
        assert extractions == []
    finally:
        ctx.close()


def test_an_image_zip_is_opened_once_and_imports_like_the_folder(store, tmp_path, monkeypatch):
    """Issue 15 #4: the zip import re-opened the archive for every entry (quadratic)."""
    classes.create_class(store, "car")
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for k in range(60):
            zf.writestr(f"photos/{k:02d}.png", image_bytes(8, 6, k))
        zf.writestr("photos/readme.txt", b"not an image")
    opened: list[str] = []
    real_init = zipfile.ZipFile.__init__

    def counting_init(self, file, *args, **kwargs):
        opened.append(str(file))
        real_init(self, file, *args, **kwargs)
    monkeypatch.setattr(zipfile.ZipFile, "__init__", counting_init)
    report = images.import_images(store, [archive], tags=["car"])
    assert len(report.imported) == 60 and report.ignored == ["photos.zip:photos/readme.txt"]
    assert opened == [str(archive)]


def test_a_damaged_entry_is_named_and_nothing_is_imported(store, tmp_path):
    archive = tmp_path / "damaged.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.png", image_bytes(8, 6, 1))
        zf.writestr("b.png", image_bytes(32, 24, 2))
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("b.png")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for k in range(start + 10, start + 40):
        data[k] ^= 0xFF  # flip bytes inside b.png's compressed data
    archive.write_bytes(bytes(data))
    before = snapshot(store)
    with pytest.raises(BadFileError, match=r"damaged.zip:b.png: cannot be read: the archive is damaged"):
        images.import_images(store, [archive])
    assert snapshot(store) == before
    with pytest.raises(BadFileError, match=r"damaged.zip:b.png: cannot be extracted"):
        archives.extract_zip(archive, tmp_path / "out", StoreSettings().zip_limits)


def test_dataset_zip_temp_folder_is_removed_on_success_error_and_interrupt(store, tmp_path, private_tmp):
    good = _dataset_zip(tmp_path / "good.zip")
    assert datasets.import_dataset(store, good).images == 2
    bad = _dataset_zip(tmp_path / "bad.zip", extra={"ds/images/9.png": image_bytes(W, H, 9),
                                                     "ds/labels/9.png": label_png(np.full((H, W), 77, np.uint8))})
    with pytest.raises(BadFileError, match="unknown class id"):
        datasets.import_dataset(store, bad)

    def interrupt(fraction: float, message: str) -> None:
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        datasets.import_dataset(store, _dataset_zip(tmp_path / "third.zip", 3), progress=interrupt)
    assert list(private_tmp.glob(f"{DATASET_PREFIX}*")) == []
