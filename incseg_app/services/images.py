"""Image import (files, folders, zips, uploads), listing/filtering, tags, split, pixel access.

Imports check before they register: every file is content-checked and its blob written first, then
the rows are inserted in write transactions of at most ``StoreSettings.import_batch`` images, so
another process never waits more than one short batch for the write lock. A bad file stops the
import before any row is written, and the blobs written by this call are removed again, so the store
is exactly as it was; with ``skip_invalid=True`` bad files are reported in ``ImportReport.skipped``
instead. Each batch is all-or-nothing; a crash between batches leaves whole batches visible, and
running the same import again adds exactly the rest. While it runs, the import holds a lease
(``leases.hold_lease``) that keeps ``doctor --repair`` away from its blobs. A file whose content is
already stored is not imported twice: its new tags are merged into the existing image
(``ImportReport.duplicates``).
"""
from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from ..domain.enums import ReviewStatus, Split
from ..domain.errors import BadFileError, NotFoundError, ValidationError
from ..domain.records import ImageRecord
from ..storage.repositories import ClassRepo, ImageRepo
from .archives import check_directory, open_zip, read_member, safe_relative_name
from .classes import lookup_class
from .context import AppContext, BlobGuard, StoreSettings
from .leases import commit_in_batches, hold_lease
from .imageio import IMAGE_SUFFIXES, ImageInfo, decode_rgb, validate_image

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ImportItem:
    """One file to import: the name shown to users/stored, and how to read its bytes."""

    name: str
    read: Callable[[], bytes]


@dataclass
class ImportReport:
    imported: list[ImageRecord] = field(default_factory=list)
    duplicates: list[ImageRecord] = field(default_factory=list)  # already stored; tags merged
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason) with skip_invalid
    ignored: list[str] = field(default_factory=list)  # folder/zip entries without an image suffix


def resolve_tags(repo: ClassRepo, tags: Iterable[str | int]) -> list[int]:
    """Class ids of tag names/ids; ValidationError naming an unknown or archived tag."""
    ids = []
    for tag in tags:
        found = lookup_class(repo, tag)
        if found is None:
            raise ValidationError(f"unknown tag {tag!r}: create a class with that name first")
        if found.archived:
            raise ValidationError(f"tag {found.name!r} is an archived class")
        ids.append(found.id)
    return sorted(set(ids))


def _file_reader(path: Path, limits: StoreSettings) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            size = path.stat().st_size
            if size > limits.max_file_bytes:
                raise BadFileError(str(path), f"the file is {size / 2**20:.1f} MiB, over the limit")
            return path.read_bytes()
        except OSError as exc:
            raise BadFileError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    return read


def is_hidden(name: str) -> bool:
    """Dot-files and macOS archive metadata (``__MACOSX/``, ``._x.jpg``): skipped, never imported."""
    return any(part.startswith(".") or part == "__MACOSX" for part in name.replace("\\", "/").split("/"))


def items_from_paths(paths: Sequence[Path | str], limits: StoreSettings, report: ImportReport,
                     archives: ExitStack) -> list[ImportItem]:
    """Expand files, folders (recursively, image suffixes only) and zip archives into import items.

    Each zip is checked from its directory (``archives.check_directory``) and opened once, on
    ``archives``; its items read from that open archive, so the caller keeps the stack open while
    the items are read."""
    items: list[ImportItem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for f in sorted(p for p in path.rglob("*") if p.is_file()):
                rel = f.relative_to(path).as_posix()
                if f.suffix.lower() in IMAGE_SUFFIXES and not is_hidden(rel):
                    items.append(ImportItem(rel, _file_reader(f, limits)))
                else:
                    report.ignored.append(rel)
        elif path.is_file() and zipfile.is_zipfile(path):
            zf = archives.enter_context(open_zip(path))
            for name, info in check_directory(zf, path.name, limits.zip_limits):
                if Path(name).suffix.lower() in IMAGE_SUFFIXES and not is_hidden(name):
                    items.append(ImportItem(name, partial(read_member, zf, info, path.name, limits.max_file_bytes)))
                else:
                    report.ignored.append(f"{path.name}:{name}")
        elif path.is_file():
            items.append(ImportItem(path.name, _file_reader(path, limits)))
        else:
            raise BadFileError(str(path), "no such file or folder")
    return items


def import_images(ctx: AppContext, paths: Sequence[Path | str], tags: Sequence[str | int] = (),
                  split: Split = Split.TRAIN, skip_invalid: bool = False,
                  progress: Progress | None = None) -> ImportReport:
    """Import image files, folders and zip archives with ``tags`` and ``split`` applied to all."""
    report = ImportReport()
    with ExitStack() as archives:
        items = items_from_paths(paths, ctx.settings, report, archives)
        return import_items(ctx, items, tags, split, skip_invalid, progress, report)


def import_uploads(ctx: AppContext, files: Sequence[tuple[str, bytes]], tags: Sequence[str | int] = (),
                   split: Split = Split.TRAIN, skip_invalid: bool = False,
                   progress: Progress | None = None) -> ImportReport:
    """Import (file name, bytes) pairs from a browser upload; names with ``../`` or absolute are refused."""
    items = [ImportItem(safe_relative_name(name), lambda d=data: d) for name, data in files]
    return import_items(ctx, items, tags, split, skip_invalid, progress)


def import_items(ctx: AppContext, items: Sequence[ImportItem], tags: Sequence[str | int] = (),
                 split: Split = Split.TRAIN, skip_invalid: bool = False, progress: Progress | None = None,
                 report: ImportReport | None = None) -> ImportReport:
    """Check, store and register ``items`` (see the module docstring for the all-or-nothing rule)."""
    report = report or ImportReport()
    split = Split(split)
    with ctx.unit_of_work() as s:
        tag_ids = resolve_tags(ClassRepo(s), tags)
    with hold_lease(ctx, "image import", f"import of {len(items):,} image file(s)", len(items)) as lease, \
            ctx.blob_guard() as guard:
        checked = _check_items(ctx, guard, items, skip_invalid, report, progress)

        def register(s: Session, batch: list[tuple[str, str, ImageInfo]]) -> None:
            _register(ImageRepo(s), batch, tag_ids, split, report)

        def committed(done: int, total: int) -> None:
            if progress:
                progress(0.9 + 0.1 * done / max(total, 1), f"registered {done:,} of {total:,} image(s)")

        commit_in_batches(ctx, guard, lease, checked, lambda c: c[1], lambda c: (c[1],), register, committed)
    if progress:
        progress(1.0, f"imported {len(report.imported)} image(s)")
    log.info("imported %d images (%d duplicates, %d skipped)", len(report.imported), len(report.duplicates),
             len(report.skipped))
    return report


def _check_items(ctx: AppContext, guard: BlobGuard, items: Sequence[ImportItem], skip_invalid: bool,
                 report: ImportReport, progress: Progress | None) -> list[tuple[str, str, ImageInfo]]:
    """Read and validate every item, storing its blob: (name, sha256, info) of the good ones."""
    limits = ctx.settings
    checked: list[tuple[str, str, ImageInfo]] = []
    for i, item in enumerate(items):
        try:
            data = item.read()
            info = validate_image(data, item.name, limits.max_file_bytes, limits.max_pixels)
        except BadFileError as exc:
            if not skip_invalid:
                raise
            report.skipped.append((item.name, exc.reason))
            continue
        checked.append((item.name, guard.put_later(data), info))
        if progress:
            progress(0.9 * (i + 1) / max(len(items), 1), f"checked {item.name}")
    return checked


def _register(repo: ImageRepo, batch: list[tuple[str, str, ImageInfo]], tag_ids: list[int], split: Split,
              report: ImportReport) -> None:
    """Insert the batch's new images and merge ``tag_ids`` into the ones already stored (set-wise; the
    batch holds each content once)."""
    existing = repo.ids_by_sha(sha for _, sha, _ in batch)
    new = [(sha, info.width, info.height, split, name) for name, sha, info in batch if sha not in existing]
    report.imported += repo.add_many(new, tag_ids)
    dup_ids = [existing[sha] for _, sha, _ in batch if sha in existing]
    if dup_ids:
        repo.merge_tags({image_id: tag_ids for image_id in dup_ids})
        records = {r.id: r for r in repo.by_ids(dup_ids)}
        report.duplicates += [records[i] for i in dup_ids]


def _tag_id(repo: ClassRepo, tag: str | int | None) -> int | None:
    if tag is None:
        return None
    found = lookup_class(repo, tag)
    if found is None:
        raise ValidationError(f"unknown tag {tag!r}")
    return found.id


def list_images(ctx: AppContext, tag: str | int | None = None, split: Split | None = None,
                status: ReviewStatus | None = None, has_mask: bool | None = None, limit: int | None = None,
                offset: int = 0) -> list[ImageRecord]:
    """Images by id; ``tag`` is a class name or id, ``status`` the review status of the newest mask.
    ``offset``/``limit`` page through the result (``count_images`` with the same filters gives its
    size): a page costs two queries whatever the size of the store."""
    with ctx.unit_of_work() as s:
        return ImageRepo(s).list(_tag_id(ClassRepo(s), tag), Split(split) if split else None,
                                 ReviewStatus(status) if status else None, has_mask, limit, offset)


def count_images(ctx: AppContext, tag: str | int | None = None, split: Split | None = None,
                 status: ReviewStatus | None = None, has_mask: bool | None = None) -> int:
    """How many images ``list_images`` with the same filters returns (without a limit)."""
    with ctx.unit_of_work() as s:
        return ImageRepo(s).count(_tag_id(ClassRepo(s), tag), Split(split) if split else None,
                                  ReviewStatus(status) if status else None, has_mask)


def get_image(ctx: AppContext, image_id: int) -> ImageRecord:
    with ctx.unit_of_work() as s:
        return _require(ImageRepo(s), image_id)


def _require(repo: ImageRepo, image_id: int) -> ImageRecord:
    found = repo.get(image_id)
    if found is None:
        raise NotFoundError(f"no image with id {image_id}")
    return found


def set_tags(ctx: AppContext, image_id: int, tags: Sequence[str | int]) -> ImageRecord:
    """Replace an image's tags (class names or ids; all must exist and not be archived)."""
    with ctx.unit_of_work(write=True) as s:
        repo = ImageRepo(s)
        _require(repo, image_id)
        repo.set_tags(image_id, resolve_tags(ClassRepo(s), tags))
        return _require(repo, image_id)


def set_split(ctx: AppContext, image_id: int, split: Split) -> ImageRecord:
    with ctx.unit_of_work(write=True) as s:
        repo = ImageRepo(s)
        _require(repo, image_id)
        repo.set_split(image_id, Split(split))
        return _require(repo, image_id)


def image_bytes(ctx: AppContext, image_id: int) -> bytes:
    """The stored file exactly as imported."""
    return ctx.blobs.get_bytes(get_image(ctx, image_id).sha256)


def read_image(ctx: AppContext, image_id: int) -> np.ndarray:
    """H×W×3 uint8 RGB pixels of an image."""
    record = get_image(ctx, image_id)
    return decode_rgb(ctx.blobs.get_bytes(record.sha256), record.original_name)
