"""Small use cases the web UI needs beyond the CLI's: thumbnails, the gallery listing with review
status, the job a tab should show after a reload, and dataset import from an allowed folder.

The UI may only read files inside the store, its upload temp dir, and the folders listed in
``$INCSEG_IMPORT_DIRS`` (``os.pathsep``-separated; default: none, so folder imports from the browser
are off until the operator names the folders), so a browser user cannot make the server import
``/etc`` or another user's home. Zip uploads always work.
"""
from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..domain.enums import JobKind, ReviewStatus, Split
from ..domain.errors import BadFileError
from ..domain.records import ImageRecord, Job, MaskRevision
from ..storage.repositories import ClassRepo
from . import datasets, images, jobs, masks
from .classes import next_free_color
from .context import AppContext

THUMB_SIDE = 192  # pixels, longest side of a gallery thumbnail


@dataclass(frozen=True)
class GalleryItem:
    """An image with its newest mask revision (None = not labelled yet)."""

    image: ImageRecord
    head: MaskRevision | None

    @property
    def status(self) -> str:
        return self.head.status.value if self.head else "no mask"


def gallery_items(ctx: AppContext, tag: str | None = None, split: Split | None = None,
                  status: ReviewStatus | None = None, unlabelled: bool = False,
                  limit: int = 60) -> list[GalleryItem]:
    """Images matching the filters (``unlabelled`` = only images without any mask), with their heads."""
    found = images.list_images(ctx, tag=tag, split=split, status=status,
                               has_mask=False if unlabelled else None, limit=limit)
    heads = masks.head_masks(ctx, [r.id for r in found])
    return [GalleryItem(r, heads.get(r.id)) for r in found]


def thumbnail(ctx: AppContext, image_id: int, max_side: int = THUMB_SIDE) -> np.ndarray:
    """H×W×3 uint8 RGB copy of an image scaled so its longest side is at most ``max_side`` pixels."""
    rgb = images.read_image(ctx, image_id)
    img = Image.fromarray(rgb)
    img.thumbnail((max_side, max_side))
    return np.asarray(img)


def suggest_class_color(ctx: AppContext) -> str:
    """A "#rrggbb" no class uses yet (what a new class gets when no colour is given)."""
    with ctx.unit_of_work() as s:
        repo = ClassRepo(s)
        return next_free_color(repo, repo.next_id())


def decode_png(data: bytes) -> np.ndarray:
    """H×W×3 uint8 RGB pixels of PNG bytes the services made (reports, heatmaps): trusted input."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def latest_job(ctx: AppContext, kind: JobKind) -> Job | None:
    """The running/queued job of ``kind`` if any, else the newest one (None when there was none)."""
    active = jobs.list_jobs(ctx, kind, active_only=True, limit=1)
    if active:
        return active[0]
    recent = jobs.list_jobs(ctx, kind, limit=1)
    return recent[0] if recent else None


def import_roots() -> list[Path]:
    """Folders the UI may import datasets from (``$INCSEG_IMPORT_DIRS``; none by default)."""
    raw = os.environ.get("INCSEG_IMPORT_DIRS") or ""
    parts = [p for p in raw.split(os.pathsep) if p.strip()]
    return [Path(p).expanduser().resolve() for p in parts]


def import_dataset_folder(ctx: AppContext, folder: str, split: Split | None = None,
                          roots: Sequence[Path] | None = None,
                          progress: Callable[[float, str], None] | None = None) -> datasets.DatasetReport:
    """Import a dataset folder or zip typed into the UI; BadFileError unless it lies in an allowed root."""
    if not folder or not folder.strip():
        raise BadFileError("(no path)", "type the path of a dataset folder or zip")
    path = Path(folder.strip()).expanduser().resolve()
    allowed = list(roots) if roots is not None else import_roots()
    if not any(path.is_relative_to(root) for root in allowed):
        where = ", ".join(map(str, allowed)) or "none are allowed"
        raise BadFileError(folder, f"is outside the folders the web UI may read ({where}); the operator can "
                                   "allow folders with INCSEG_IMPORT_DIRS, or upload the dataset as a zip")
    return datasets.import_dataset(ctx, path, split, progress)
