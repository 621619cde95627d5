"""Helpers and fixtures for the UI tests (import them by name): a store on the tiny model with two
classes and small tagged images."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from incseg_app.domain.enums import MaskKind, ReviewStatus, Split
from incseg_app.services import AppContext, StoreSettings, classes, images, masks, open_store
from incseg_app.services.ml_settings import tiny_settings
from incseg_app.services.runner import JobRunner

SIZE = 64  # test images are SIZE×SIZE pixels: top half "sky" (blue), bottom half "grass" (green)


def scene_png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = np.zeros((SIZE, SIZE, 3), np.uint8)
    pixels[: SIZE // 2] = (40, 60, 230)
    pixels[SIZE // 2:] = (30, 200, 40)
    pixels += rng.integers(0, 20, pixels.shape, dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def scene_mask() -> np.ndarray:
    mask = np.full((SIZE, SIZE), 2, np.uint8)
    mask[: SIZE // 2] = 1
    return mask


@pytest.fixture
def ctx(tmp_path: Path, database_url: str | None) -> AppContext:
    """A store on the tiny model: SQLite, or PostgreSQL in the ``[postgresql]`` twin of a service test."""
    store = open_store(tmp_path / "store", StoreSettings(), ml=tiny_settings(), database_url=database_url)
    yield store
    store.close()


@pytest.fixture
def runner(ctx: AppContext) -> JobRunner:
    return JobRunner(ctx, heartbeat_s=5.0, min_interval_s=0.0)


def fill_store(ctx: AppContext, n_train: int = 4, n_val: int = 2) -> None:
    """Classes sky (#0000ff, id 1) and grass (#00ff00, id 2); tagged train images; val images with
    ground-truth masks."""
    classes.create_class(ctx, "sky", "#0000ff")
    classes.create_class(ctx, "grass", "#00ff00")
    images.import_uploads(ctx, [(f"train{i}.png", scene_png(i)) for i in range(n_train)], ["sky", "grass"],
                          Split.TRAIN)
    report = images.import_uploads(ctx, [(f"val{i}.png", scene_png(100 + i)) for i in range(n_val)],
                                   ["sky", "grass"], Split.VAL)
    for record in report.imported:
        masks.save_mask(ctx, record.id, scene_mask(), MaskKind.GROUND_TRUTH, ReviewStatus.ACCEPTED)


@pytest.fixture
def filled(ctx: AppContext) -> AppContext:
    fill_store(ctx)
    return ctx


def add_pseudo(ctx: AppContext, confidences: list[float]) -> list[int]:
    """Pseudo masks (to review) on the first train images with the given confidences; their ids."""
    train = images.list_images(ctx, split=Split.TRAIN)
    revs = [masks.save_mask(ctx, image.id, scene_mask(), MaskKind.PSEUDO, ReviewStatus.TO_REVIEW,
                            confidence=conf, source="test") for image, conf in zip(train, confidences)]
    return [r.id for r in revs]


def plain(markdown: str) -> str:
    """Markdown text with its backslash escapes removed (what the page shows)."""
    import re
    return re.sub(r"\\(.)", r"\1", markdown)
