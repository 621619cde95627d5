"""The image gallery: pages of images with their review status, thumbnails served as immutable files,
tags edited for many images at once, and deleting images into a trash that keeps their masks.

Thumbnails are content-addressed JPEG files (``<image sha256>-<side>.jpg``) written once, atomically
(a temporary file renamed into place), and never rewritten: a browser that downloads one while
another request lists the same image can never read a half-written file (the cause of the old
``ERR_CONTENT_LENGTH_MISMATCH``: pixels handed to Gradio were re-encoded into the same cache path on
every listing, truncating the file under a running download).

A deleted image leaves the store's lists, training data and review queue, but its rows (tags, split,
every mask revision) are kept as a manifest in the trash and its files stay in the blob store, so it
can be restored until the trash is purged.
"""
from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image

from ..domain.enums import ReviewStatus, Split
from ..domain.errors import ConflictError, NotFoundError, ValidationError
from ..domain.records import ImageRecord, MaskRevision
from ..storage.repositories import ClassRepo, ImageRepo, TrashRepo
from . import images, masks
from .context import AppContext, referenced_shas

log = logging.getLogger(__name__)

THUMB_SIDE = 256  # pixels, longest side of a gallery thumbnail
PAGE_SIZE = 48


@dataclass(frozen=True)
class GalleryPage:
    """Images of one page with their newest mask revisions (None = no mask yet)."""

    items: list[tuple[ImageRecord, MaskRevision | None]]
    offset: int
    has_more: bool


def gallery_page(ctx: AppContext, tag: str | None = None, split: Split | None = None,
                 status: ReviewStatus | None = None, unlabelled: bool = False, offset: int = 0,
                 limit: int = PAGE_SIZE) -> GalleryPage:
    """``limit`` images from ``offset`` on that match the filters, in id order."""
    found = images.list_images(ctx, tag=tag, split=split, status=status,
                               has_mask=False if unlabelled else None, limit=limit + 1, offset=max(offset, 0))
    shown = found[:limit]
    heads = masks.head_masks(ctx, [r.id for r in shown])
    return GalleryPage([(r, heads.get(r.id)) for r in shown], max(offset, 0), len(found) > limit)


def thumbnail_file(ctx: AppContext, record: ImageRecord, folder: Path, side: int = THUMB_SIDE) -> Path:
    """The path of the image's thumbnail in ``folder`` (longest side ``side`` px), made once."""
    path = Path(folder) / f"{record.sha256}-{side}.jpg"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(images.read_image(ctx, record.id))
    img.thumbnail((side, side))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            img.save(f, format="JPEG", quality=85)
        os.replace(tmp, path)  # atomic: readers see no file or the whole file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def edit_tags(ctx: AppContext, image_ids: Sequence[int], add: Sequence[str | int] = (),
              remove: Sequence[str | int] = ()) -> int:
    """Add and remove tags on many images in one transaction; returns how many images changed."""
    ids = sorted({int(i) for i in image_ids})
    if not ids:
        raise ValidationError("select at least one image first")
    if not add and not remove:
        raise ValidationError("choose tags to add or to remove")
    with ctx.unit_of_work(write=True) as s:
        repo = ImageRepo(s)
        adding = set(images.resolve_tags(ClassRepo(s), add))
        removing = set(images.resolve_tags(ClassRepo(s), remove)) if remove else set()
        if adding & removing:
            raise ValidationError("a tag cannot be added and removed at once")
        changed = 0
        for image_id in ids:
            if repo.get(image_id) is None:
                raise NotFoundError(f"no image with id {image_id}")
            now = repo.tag_ids(image_id)
            new = (now | adding) - removing
            if new != now:
                repo.set_tags(image_id, sorted(new))
                changed += 1
    return changed


def delete_images(ctx: AppContext, image_ids: Sequence[int]) -> list[int]:
    """Move images to the trash (see the module docstring); returns their trash ids."""
    ids = sorted({int(i) for i in image_ids})
    if not ids:
        raise ValidationError("select at least one image to delete")
    with ctx.unit_of_work(write=True) as s:
        trash = TrashRepo(s)
        return [trash.move_image(image_id) for image_id in ids]


def trash_entries(ctx: AppContext) -> list[tuple[int, int, str, datetime]]:
    """(trash id, former image id, file name, deleted at), newest first."""
    with ctx.unit_of_work() as s:
        return TrashRepo(s).list()


def restore_image(ctx: AppContext, trash_id: int) -> ImageRecord:
    """Put a deleted image back with its tags, split and every mask revision (new ids)."""
    with ctx.unit_of_work(write=True) as s:
        trash = TrashRepo(s)
        entry = trash.get(trash_id)
        if entry is None:
            raise NotFoundError(f"no trash entry {trash_id}")
        manifest = entry[2]
        if ImageRepo(s).get_by_sha(manifest["sha256"]) is not None:
            raise ConflictError(f"{entry[1]} was imported again since it was deleted; delete that copy first")
        return trash.restore(trash_id)


def purge_trash(ctx: AppContext) -> int:
    """Forget every deleted image for good and remove the files nothing else uses; returns how many
    files were removed."""
    with ctx.unit_of_work(write=True) as s:
        trash = TrashRepo(s)
        candidates = trash.all_shas()
        trash.remove()
    with ctx.unit_of_work(write=True) as s:  # under the write lock: no import can start using a blob meanwhile
        unused = candidates - referenced_shas(s)
        for sha in unused:
            ctx.blobs.delete(sha)
    log.info("purged the trash: %d file(s) removed", len(unused))
    return len(unused)
