"""Import a segmentation dataset with ground-truth masks.

Layouts (a folder, or a zip holding one):
- ``images/`` + ``labels/`` (+ ``classes.json`` in the folder or its parent, as in ``camvid/train``);
- ``JPEGImages/`` + ``SegmentationClass/`` (VOC palette PNGs; VOC's 21 names when no classes.json);
- a folder holding ``train/`` and/or ``val/`` of the first layout (each imported with its split).
``classes.json``: ``{"classes": [name per dataset id], "background_index": int | null,
"ignore_index": 255}``. Dataset ids are mapped to store ids by class name (case-insensitive); missing
classes are created with distinct colours. Labels become ``ground_truth`` revisions (accepted) and the
classes present in a label become the image's tags. All-or-nothing like image import.
"""
from __future__ import annotations

import json
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from ..domain.enums import MaskKind, ReviewStatus, Split
from ..domain.errors import BadFileError, ConflictError, ValidationError
from ..domain.names import name_key
from ..domain.records import BACKGROUND_ID, IGNORE_ID, ClassDef
from ..storage.repositories import ClassRepo, ImageRepo, MaskRepo
from .archives import extract_zip
from .classes import add_class, clean_name
from .context import AppContext, BlobGuard
from .leases import commit_in_batches, hold_lease
from .tempdirs import DATASET_PREFIX, temp_dir
from .imageio import (IMAGE_SUFFIXES, ImageInfo, class_pixels, decode_mask, encode_mask,
                      validate_image)

log = logging.getLogger(__name__)

VOC_CLASSES = ("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
               "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
               "train", "tvmonitor")
_LAYOUTS = (("images", "labels"), ("JPEGImages", "SegmentationClass"))


@dataclass(frozen=True)
class DatasetSpec:
    """Dataset class names by dataset id (None = unused id), background and ignore ids."""

    names: tuple[str | None, ...]
    background_index: int | None
    ignore_index: int = IGNORE_ID


@dataclass
class DatasetReport:
    images: int = 0  # new images
    duplicates: int = 0  # images already in the store (a new ground-truth revision only if it differs)
    masks: int = 0  # ground-truth revisions written
    classes_created: list[ClassDef] = field(default_factory=list)
    class_map: dict[int, int] = field(default_factory=dict)  # dataset id -> store id
    unlabelled: list[str] = field(default_factory=list)  # images without a label file (imported as images)


@dataclass(frozen=True)
class _Pair:
    name: str
    split: Split
    image: Path
    label: Path | None


_Checked = tuple[_Pair, str, ImageInfo, "str | None", dict[int, int]]  # pair, image sha, info, mask sha, class pixels


def read_spec(path: Path | None) -> DatasetSpec:
    """Parse ``classes.json``; without a file, VOC's 21 classes with background 0. BadFileError naming
    the file for anything that cannot be a label map's legend (e.g. an ``ignore_index`` of 300 or -1)."""
    if path is None:
        return DatasetSpec(VOC_CLASSES, 0)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw["classes"], list):
            raise TypeError(f"'classes' must be a list of names, got {type(raw['classes']).__name__}")
        names = tuple(None if n is None else str(n) for n in raw["classes"])
        bg, ignore = raw.get("background_index"), raw.get("ignore_index", IGNORE_ID)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadFileError(str(path), f"not a valid classes.json ({exc})") from None
    if len(names) > 255:
        raise BadFileError(str(path), f"{len(names)} classes: a label map holds at most 255 (ids 0..254)")
    for key, value in (("background_index", bg), ("ignore_index", ignore)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 255):
            raise BadFileError(str(path), f"{key} must be a label value 0..255, got {value!r}")
    if bg is not None and bg >= len(names):
        raise BadFileError(str(path), f"background_index {bg} is not one of the {len(names)} listed classes")
    if ignore is None or ignore == bg:
        raise BadFileError(str(path), f"ignore_index must be a label value other than background_index, got {ignore!r}")
    return DatasetSpec(names, bg, ignore)


def _find_pairs(root: Path, split: Split | None) -> tuple[list[_Pair], Path | None]:
    for img_dir, lbl_dir in _LAYOUTS:
        if (root / img_dir).is_dir():
            sp = split or (Split.VAL if root.name.lower() == "val" else Split.TRAIN)
            spec = next((p / "classes.json" for p in (root, root.parent) if (p / "classes.json").is_file()), None)
            pairs = []
            for f in sorted((root / img_dir).iterdir()):
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."):
                    label = root / lbl_dir / f"{f.stem}.png"
                    pairs.append(_Pair(f.name, sp, f, label if label.is_file() else None))
            return pairs, spec
    subs = [root / s.value for s in Split if (root / s.value).is_dir()]
    if subs:
        pairs = []
        for sub in subs:
            found, _ = _find_pairs(sub, split or Split(sub.name))
            pairs += found
        spec = root / "classes.json"
        return pairs, spec if spec.is_file() else None
    raise BadFileError(str(root), "no dataset found: expected images/ + labels/, JPEGImages/ + "
                                  "SegmentationClass/, or train/ and val/ folders of those")


def _plan(repo: ClassRepo, spec: DatasetSpec) -> tuple[dict[int, int], list[str]]:
    """Dataset id -> store id (existing by name, else the ids new classes will get), and names to create."""
    mapping: dict[int, int] = {}
    to_create: list[str] = []
    next_id = repo.next_id()
    for ds_id, name in enumerate(spec.names):
        if name is None or ds_id in (spec.background_index, spec.ignore_index):
            continue
        existing = repo.get_by_name(name)
        if existing is not None:
            mapping[ds_id] = existing.id
        elif name_key(name) in {name_key(n) for n in to_create}:
            raise ValidationError(f"classes.json names {name!r} twice")
        else:
            mapping[ds_id] = next_id + len(to_create)
            to_create.append(clean_name(name))  # refused here, before any file is read
    return mapping, to_create


def _lut(spec: DatasetSpec, mapping: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """256-entry remap table dataset id -> store id, and which dataset values are allowed."""
    lut = np.full(256, IGNORE_ID, dtype=np.uint8)
    allowed = np.zeros(256, dtype=bool)
    for ds_id, store_id in mapping.items():
        lut[ds_id], allowed[ds_id] = store_id, True
    if spec.background_index is not None:
        lut[spec.background_index], allowed[spec.background_index] = BACKGROUND_ID, True
    allowed[spec.ignore_index] = True
    return lut, allowed


def _check_pair(ctx: AppContext, guard: BlobGuard, pair: _Pair, lut: np.ndarray, allowed: np.ndarray) -> _Checked:
    limits = ctx.settings
    if pair.image.stat().st_size > limits.max_file_bytes:
        raise BadFileError(pair.name, f"the file is over the {limits.max_file_bytes / 2**20:.0f} MiB limit")
    data = pair.image.read_bytes()
    info = validate_image(data, pair.name, limits.max_file_bytes, limits.max_pixels)
    mask_sha, pixels = None, {}
    if pair.label is not None:
        label_name = f"{pair.label.parent.name}/{pair.label.name}"
        raw = decode_mask(pair.label.read_bytes(), label_name, limits.max_file_bytes, limits.max_pixels)
        if raw.shape != (info.height, info.width):
            raise BadFileError(label_name, f"label is {raw.shape[1]}x{raw.shape[0]} but image {pair.name} "
                                           f"is {info.width}x{info.height}")
        bad = np.flatnonzero(~allowed & (np.bincount(raw.ravel(), minlength=256) > 0))
        if bad.size:
            raise BadFileError(label_name, f"unknown class id(s) {', '.join(map(str, bad))} (not in classes.json)")
        mask = lut[raw]
        mask_sha, pixels = guard.put_later(encode_mask(mask)), class_pixels(mask)
    return pair, guard.put_later(data), info, mask_sha, pixels


def import_dataset(ctx: AppContext, source: Path | str, split: Split | None = None,
                   progress: Callable[[float, str], None] | None = None) -> DatasetReport:
    """Import a dataset folder or zip (see the module docstring); ``split`` overrides the folder's split."""
    src = Path(source)
    if src.is_file() and zipfile.is_zipfile(src):
        with temp_dir(DATASET_PREFIX) as tmp:  # removed on every exit path; doctor finds a killed run's
            extract_zip(src, tmp, ctx.settings.zip_limits)
            root = tmp
            entries = [p for p in root.iterdir() if not p.name.startswith(("__MACOSX", "."))]
            if len(entries) == 1 and entries[0].is_dir():
                root = entries[0]
            return _import_folder(ctx, root, split, progress)
    if not src.is_dir():
        raise BadFileError(str(src), "not a dataset folder or zip archive")
    return _import_folder(ctx, src, split, progress)


def _import_folder(ctx: AppContext, root: Path, split: Split | None,
                   progress: Callable[[float, str], None] | None) -> DatasetReport:
    pairs, spec_path = _find_pairs(root, Split(split) if split else None)
    if not pairs:
        raise BadFileError(str(root), "the dataset folder holds no images")
    spec = read_spec(spec_path)
    with ctx.unit_of_work() as s:
        mapping, to_create = _plan(ClassRepo(s), spec)
    lut, allowed = _lut(spec, mapping)
    report = DatasetReport(class_map=dict(mapping))
    with hold_lease(ctx, "dataset import", f"dataset import of {len(pairs):,} image(s) from {root}",
                    len(pairs)) as lease, ctx.blob_guard() as guard:
        checked = []
        for i, pair in enumerate(pairs):
            checked.append(_check_pair(ctx, guard, pair, lut, allowed))
            if progress:
                progress(0.9 * (i + 1) / len(pairs), f"checked {pair.name}")

        def register(s: Session, batch: list[_Checked]) -> None:
            if not report.classes_created and to_create:  # the first batch creates the missing classes
                if _plan(ClassRepo(s), spec) != (mapping, to_create):
                    raise ConflictError("classes changed while the dataset was being imported; run the import again")
                report.classes_created = [add_class(ClassRepo(s), name) for name in to_create]
            _register(ImageRepo(s), MaskRepo(s), batch, report)

        def committed(done: int, total: int) -> None:
            if progress:
                progress(0.9 + 0.1 * done / total, f"registered {done:,} of {total:,} image(s)")

        commit_in_batches(ctx, guard, lease, checked, lambda c: c[1], lambda c: (c[1],) + ((c[3],) if c[3] else ()),
                          register, committed)
    if progress:
        progress(1.0, f"imported {report.images} image(s), {report.masks} mask(s)")
    log.info("dataset %s: %d new images, %d masks, %d classes created", root, report.images, report.masks,
             len(report.classes_created))
    return report


def _register(images: ImageRepo, masks: MaskRepo, batch: list[_Checked], report: DatasetReport) -> None:
    """Insert a batch set-wise: new images with their tags, tags merged into known images, and a
    ground-truth revision wherever the image's newest revision is not already this label."""
    existing = images.ids_by_sha(sha for _, sha, _, _, _ in batch)
    fresh = [item for item in batch if item[1] not in existing]
    added = images.add_many([(sha, info.width, info.height, pair.split, pair.name) for pair, sha, info, _, _ in fresh],
                            {n: sorted(item[4]) for n, item in enumerate(fresh)})
    ids = {**existing, **{r.sha256: r.id for r in added}}
    images.merge_tags({existing[sha]: sorted(pixels) for _, sha, _, _, pixels in batch if sha in existing})
    report.images += len(added)
    report.duplicates += len(batch) - len(added)
    report.unlabelled += [pair.name for pair, _, _, mask_sha, _ in batch if mask_sha is None]
    heads = masks.heads(ids[sha] for _, sha, _, mask_sha, _ in batch if mask_sha is not None)
    new_masks = []
    for _, sha, _, mask_sha, pixels in batch:
        if mask_sha is None:
            continue
        head = heads.get(ids[sha])
        if head is None or head.sha256 != mask_sha or head.kind != MaskKind.GROUND_TRUTH:
            new_masks.append((ids[sha], MaskKind.GROUND_TRUTH, ReviewStatus.ACCEPTED, mask_sha,
                              head.id if head else None, pixels))
    masks.add_many(new_masks, source="ground truth import")
    report.masks += len(new_masks)
