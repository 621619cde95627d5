"""Helpers for store and service tests, importable as ``store_helpers`` (tests/ is on sys.path)."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from incseg_app.services import AppContext, StoreSettings, open_store


@pytest.fixture
def store(tmp_path: Path, database_url: str | None) -> AppContext:
    """An empty store: SQLite, or PostgreSQL in the ``[postgresql]`` twin of a back-end test."""
    ctx = open_store(tmp_path / "store", StoreSettings(), database_url=database_url)
    yield ctx
    ctx.close()


@pytest.fixture
def busy(store: AppContext) -> AppContext:
    """A store with a class, an image and a mask, so "unchanged" is not trivially true."""
    from incseg_app.services import classes, images, masks

    classes.create_class(store, "car")
    rec = images.import_uploads(store, [("seed.png", image_bytes(16, 12, 0))], ["car"]).imported[0]
    masks.save_mask(store, rec.id, np.ones((12, 16), np.uint8))
    return store


def image_bytes(w: int = 32, h: int = 24, seed: int = 0, fmt: str = "PNG") -> bytes:
    """A random RGB image of w×h pixels encoded as ``fmt``."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def label_png(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8), mode="L").save(buf, format="PNG")
    return buf.getvalue()


def bomb_png(w: int = 100_000, h: int = 100_000) -> bytes:
    """A tiny PNG whose header claims w×h pixels (1-bit grey): a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def snapshot(ctx: AppContext) -> tuple[dict[str, list[tuple]], set[str]]:
    """Every row of every table (either back end) and every file under the blob folder (temp files too)."""
    from sqlalchemy import MetaData

    meta = MetaData()
    with ctx.db.engine.connect() as conn:
        meta.reflect(conn)
        rows = {name: sorted((tuple(r) for r in conn.execute(table.select())), key=repr)
                for name, table in meta.tables.items()}
    files = {str(p.relative_to(ctx.blobs.root)) for p in ctx.blobs.root.rglob("*") if p.is_file()}
    return rows, files


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


SHAPE_CLASSES = (("red square", "#e6194b"), ("green disc", "#3cb44b"), ("blue bar", "#4363d8"))
SHAPE_RGB = ((220, 40, 40), (40, 200, 60), (50, 70, 220))


@pytest.fixture
def tiny_store(tmp_path: Path, database_url: str | None) -> AppContext:
    """A store whose ML settings use the tiny random encoder and short schedules."""
    from incseg_app.services.ml_settings import tiny_settings

    ctx = open_store(tmp_path / "tiny-store", StoreSettings(), tiny_settings(), database_url=database_url)
    yield ctx
    ctx.close()


def shapes_image(seed: int, classes: tuple[int, ...], size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A grey noisy H×W×3 uint8 image with one coloured shape per class index in ``classes`` (0..2) and
    its H×W mask of class *indices* + 1 (0 = background)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(90, 130, (size, size, 3), dtype=np.uint8)
    mask = np.zeros((size, size), dtype=np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for k in classes:
        cy, cx = rng.integers(size // 5, size - size // 5, 2)
        r = int(rng.integers(size // 8, size // 5))
        if k == 0:
            sel = (abs(yy - cy) < r) & (abs(xx - cx) < r)
        elif k == 1:
            sel = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        else:
            sel = (abs(yy - cy) < r // 2) & (abs(xx - cx) < r * 2)
        image[sel] = SHAPE_RGB[k]
        mask[sel] = k + 1
    return image, mask


def png_bytes(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def add_shapes_project(ctx: AppContext, class_indices: tuple[int, ...], n_train: int = 6, n_val: int = 2,
                       seed: int = 0, masks: bool = True) -> list[int]:
    """Create the shape classes ``class_indices`` (if missing) and images that contain them, with
    ground-truth masks (``masks``) or tags only; returns the store class ids of the classes."""
    from incseg_app.domain import MaskKind, ReviewStatus, Split
    from incseg_app.services import classes as class_service
    from incseg_app.services import images as image_service
    from incseg_app.services import masks as mask_service

    existing = {c.name: c.id for c in class_service.list_classes(ctx)}
    ids = []
    for k in class_indices:
        name, color = SHAPE_CLASSES[k]
        ids.append(existing.get(name) or class_service.create_class(ctx, name, color).id)
    lut = np.zeros(256, dtype=np.uint8)
    for k in range(len(SHAPE_CLASSES)):
        name = SHAPE_CLASSES[k][0]
        lut[k + 1] = existing.get(name) or (ids[class_indices.index(k)] if k in class_indices else 0)
    for n in range(n_train + n_val):
        split = Split.TRAIN if n < n_train else Split.VAL
        image, idx_mask = shapes_image(seed * 1000 + n, class_indices)
        report = image_service.import_uploads(ctx, [(f"shapes-{seed}-{n}.png", png_bytes(image))],
                                              tags=[SHAPE_CLASSES[k][0] for k in class_indices], split=split)
        image_id = report.imported[0].id
        if masks:
            mask_service.save_mask(ctx, image_id, lut[idx_mask], MaskKind.GROUND_TRUTH, ReviewStatus.ACCEPTED)
    return ids
