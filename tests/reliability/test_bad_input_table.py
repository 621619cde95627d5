"""Every import path against a corpus of broken files generated here: each is refused with an error
naming the broken file, and the store (every DB row and blob file) is exactly as it was."""
from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from incseg_app.domain.errors import BadFileError
from incseg_app.services import AppContext, StoreSettings, classes, datasets, images, masks, open_store
from store_helpers import bomb_png, image_bytes, label_png, snapshot, write

W, H = 16, 12
GOOD = image_bytes(W, H, 1)
GOOD_LABEL = label_png(np.zeros((H, W), np.uint8))
MAX_ENTRIES = 50


def _png16(values: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(values.astype(np.uint16)).save(buf, format="PNG")
    return buf.getvalue()


BROKEN_IMAGES = {  # content that is not a usable image, whatever its name says
    "empty": b"",
    "truncated-png": image_bytes(40, 40, 2)[:300],
    "truncated-jpeg": image_bytes(40, 40, 2, fmt="JPEG")[:200],
    "text-as-png": b"just some text, not pixels\n" * 10,
    "bomb-header": bomb_png(),
}
BROKEN_LABELS = {  # decodable files that are not valid label maps for a 16x12 image
    "16bit-out-of-range": _png16(np.full((H, W), 300)),
    "wrong-size": label_png(np.zeros((5, 7), np.uint8)),
    "unknown-class-id": label_png(np.full((H, W), 77, np.uint8)),
    "rgb-label": image_bytes(W, H, 3),
}


@pytest.fixture
def busy(tmp_path: Path) -> AppContext:
    ctx = open_store(tmp_path / "store", StoreSettings(max_zip_entries=MAX_ENTRIES))
    classes.create_class(ctx, "car")
    rec = images.import_uploads(ctx, [("seed.png", image_bytes(W, H, 0))], ["car"]).imported[0]
    masks.save_mask(ctx, rec.id, np.ones((H, W), np.uint8))
    yield ctx
    ctx.close()


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _folder(folder: Path, data: bytes) -> Path:
    write(folder / "a_ok.png", GOOD)  # imported first: its blob is written before the bad file is seen
    write(folder / "bad.png", data)
    return folder


def _dataset(root: Path, image: bytes = GOOD, label: bytes = GOOD_LABEL) -> Path:
    write(root / "images" / "a.png", image_bytes(W, H, 5))
    write(root / "labels" / "a.png", GOOD_LABEL)
    write(root / "images" / "bad.png", image)
    write(root / "labels" / "bad.png", label)
    (root / "classes.json").write_text(json.dumps({"classes": ["background", "car"], "background_index": 0}))
    return root


def _dataset_zip(tmp: Path, **kw: bytes) -> Path:
    root = _dataset(tmp / "ds", **kw)
    return _zip(tmp / "ds.zip", {p.relative_to(tmp).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()})


Action = Callable[[AppContext, Path, bytes], object]
IMAGE_PATHS: dict[str, Action] = {
    "images-files": lambda ctx, tmp, data: images.import_images(
        ctx, [write(tmp / "ok.png", GOOD), write(tmp / "bad.png", data)]),
    "images-folder": lambda ctx, tmp, data: images.import_images(ctx, [_folder(tmp / "f", data)]),
    "images-zip": lambda ctx, tmp, data: images.import_images(ctx, [_zip(tmp / "p.zip", {"ok.png": GOOD,
                                                                                         "bad.png": data})]),
    "uploads": lambda ctx, tmp, data: images.import_uploads(ctx, [("ok.png", GOOD), ("bad.png", data)]),
    "dataset-folder-image": lambda ctx, tmp, data: datasets.import_dataset(ctx, _dataset(tmp / "ds", image=data)),
    "dataset-zip-image": lambda ctx, tmp, data: datasets.import_dataset(ctx, _dataset_zip(tmp, image=data)),
    "mask-file": lambda ctx, tmp, data: masks.import_mask_file(ctx, 1, data, "bad.png"),
}
LABEL_PATHS: dict[str, Action] = {
    "mask-file": lambda ctx, tmp, data: masks.import_mask_file(ctx, 1, data, "bad.png"),
    "dataset-folder-label": lambda ctx, tmp, data: datasets.import_dataset(ctx, _dataset(tmp / "ds", label=data)),
    "dataset-zip-label": lambda ctx, tmp, data: datasets.import_dataset(ctx, _dataset_zip(tmp, label=data)),
}
ZIP_CORPUS = {
    "zip-slip": {"ok.png": GOOD, "../../zz-escaped.png": GOOD},
    "absolute-path": {"ok.png": GOOD, "/tmp/zz-escaped.png": GOOD},
    "huge-entry-count": {f"img{n:03d}.png": GOOD for n in range(MAX_ENTRIES + 1)},
}
ZIP_PATHS: dict[str, Callable[[AppContext, Path], object]] = {
    "images-zip": lambda ctx, archive: images.import_images(ctx, [archive]),
    "dataset-zip": lambda ctx, archive: datasets.import_dataset(ctx, archive),
}

CASES = ([(f"{p}/{c}", IMAGE_PATHS[p], BROKEN_IMAGES[c], "bad.png") for p in IMAGE_PATHS for c in BROKEN_IMAGES]
         + [(f"{p}/{c}", LABEL_PATHS[p], BROKEN_LABELS[c], "bad.png") for p in LABEL_PATHS for c in BROKEN_LABELS])


@pytest.mark.parametrize("case, action, data, named", CASES, ids=[c[0] for c in CASES])
def test_broken_file_is_refused_naming_it_and_store_unchanged(busy, tmp_path, case, action, data, named):
    before = snapshot(busy)
    with pytest.raises(BadFileError) as info:
        action(busy, tmp_path, data)
    assert named in str(info.value) and info.value.reason  # the file and a reason
    assert snapshot(busy) == before


@pytest.mark.parametrize("path", sorted(ZIP_PATHS))
@pytest.mark.parametrize("corpus", sorted(ZIP_CORPUS))
def test_hostile_zip_is_refused_before_anything_is_written(busy, tmp_path, path, corpus):
    archive = _zip(tmp_path / "hostile.zip", ZIP_CORPUS[corpus])
    before = snapshot(busy)
    with pytest.raises(BadFileError, match="hostile.zip") as info:
        ZIP_PATHS[path](busy, archive)
    if corpus == "huge-entry-count":
        assert f"over the limit of {MAX_ENTRIES}" in str(info.value)
    else:
        assert "zz-escaped.png" in str(info.value)
    assert snapshot(busy) == before
    escaped = [tmp_path.parent / "zz-escaped.png", Path("/tmp/zz-escaped.png"), Path("/zz-escaped.png")]
    assert not any(p.exists() for p in escaped)
