"""Export masks as VOC palette PNGs (pixel values = store class ids, palette = class colours).

Writes ``<out>/SegmentationClass/<name>.png``, optionally ``<out>/JPEGImages/<name>.<ext>`` with
the original image bytes, and ``<out>/classes.json`` (names by id, null for unused ids,
``background_index`` 0), so the folder can be imported again with ``datasets.import_dataset``.
``export_archive`` writes either format (VOC here, COCO in ``services.coco``) with the images as one
zip, which is what the web UI offers for download.
"""
from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..domain.enums import ReviewStatus, Split
from ..domain.errors import ValidationError
from ..domain.records import IGNORE_ID
from ..storage.repositories import ImageRepo
from .classes import list_classes
from .context import AppContext
from .imageio import decode_mask, encode_palette_png, hex_to_rgb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportReport:
    out_dir: Path
    masks: int
    images: int


def unique_stem(name: str, image_id: int, used: set[str]) -> str:
    stem = PurePosixPath(name).stem.replace(" ", "_") or f"image_{image_id}"
    if stem in used:
        stem = f"{stem}_{image_id}"
    used.add(stem)
    return stem


def export_masks(ctx: AppContext, out_dir: Path | str, split: Split | None = None,
                 statuses: Sequence[ReviewStatus] = (ReviewStatus.ACCEPTED,), with_images: bool = False,
                 progress: Callable[[float, str], None] | None = None) -> ExportReport:
    """Write the newest mask of every image whose review status is in ``statuses``."""
    out = Path(out_dir)
    (out / "SegmentationClass").mkdir(parents=True, exist_ok=True)
    classes = list_classes(ctx)
    colors = {c.id: hex_to_rgb(c.color) for c in classes}
    with ctx.unit_of_work() as s:  # images and their masks in two queries, not one per image
        pairs = ImageRepo(s).labelled(Split(split) if split else None, tuple(ReviewStatus(x) for x in statuses))
    used: set[str] = set()
    n_images = 0
    for i, (rev, image, _) in enumerate(pairs):
        stem = unique_stem(image.original_name, image.id, used)
        mask = decode_mask(ctx.blobs.get_bytes(rev.sha256), f"mask revision {rev.id}", 2**31, 2**31)
        (out / "SegmentationClass" / f"{stem}.png").write_bytes(encode_palette_png(mask, colors))
        if with_images:
            (out / "JPEGImages").mkdir(exist_ok=True)
            suffix = PurePosixPath(image.original_name).suffix.lower() or ".jpg"
            (out / "JPEGImages" / f"{stem}{suffix}").write_bytes(ctx.blobs.get_bytes(image.sha256))
            n_images += 1
        if progress:
            progress((i + 1) / len(pairs), f"exported {stem}")
    max_id = max((c.id for c in classes), default=0)
    names: list[str | None] = [None] * (max_id + 1)
    names[0] = "background"
    for c in classes:
        names[c.id] = c.name
    (out / "classes.json").write_text(json.dumps({"classes": names, "background_index": 0,
                                                  "ignore_index": IGNORE_ID}, indent=1), encoding="utf-8")
    log.info("exported %d masks to %s", len(pairs), out)
    return ExportReport(out, len(pairs), n_images)


EXPORT_FORMATS = ("voc", "coco")


def export_archive(ctx: AppContext, work_dir: Path | str, fmt: str = "voc", split: Split | None = None,
                   statuses: Sequence[ReviewStatus] = (ReviewStatus.ACCEPTED,),
                   progress: Callable[[float, str], None] | None = None) -> Path:
    """Export masks and images in ``fmt`` ("voc" or "coco") into ``work_dir`` and zip them:
    returns ``<work_dir>/incseg-<fmt>.zip`` (its folder imports again with ``datasets.import_dataset``)."""
    from .coco import export_coco

    if fmt not in EXPORT_FORMATS:
        raise ValidationError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    folder = Path(work_dir) / f"incseg-{fmt}"
    if folder.exists():
        shutil.rmtree(folder)
    writer = export_coco if fmt == "coco" else export_masks
    writer(ctx, folder, split, statuses, with_images=True, progress=progress)
    return Path(shutil.make_archive(str(folder), "zip", root_dir=folder.parent, base_dir=folder.name))
