"""Import a segmentation dataset with ground-truth masks.

Layouts (a folder, or a zip holding one):
- ``images/`` + ``labels/`` (+ ``classes.json`` in the folder or its parent, as in ``camvid/train``);
- ``JPEGImages/`` + ``SegmentationClass/`` (VOC palette PNGs; VOC's 21 names when no classes.json);
- a folder holding ``train/`` and/or ``val/`` of the first layout (each imported with its split);
- COCO instance or panoptic JSON with its images (``services.coco``), e.g. a CVAT, Label Studio or
  Roboflow export, when none of the folder layouts above is there.
``classes.json``: ``{"classes": [name per dataset id], "background_index": int | null,
"ignore_index": 255}``. Dataset ids are mapped to store ids by class name (case-insensitive); missing
classes are created with distinct colours. Labels become ``ground_truth`` revisions (accepted) and the
classes present in a label become the image's tags. Checked, then committed in batches, like image import.
"""
from __future__ import annotations

import json
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from ..domain.enums import MaskKind, ReviewStatus, Split
from ..domain.errors import BadFileError, ConflictError, ValidationError
from ..domain.names import name_key
from ..domain.records import BACKGROUND_ID, IGNORE_ID, MAX_CLASS_ID, ClassDef
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
    """Dataset class names by dataset id (None = unused id), background and ignore ids.

    ``store_ids`` / ``colors`` (optional, by dataset id): the store id and "#rrggbb" colour a class
    created by the import should get when that id / colour is still free (COCO category ids and colours
    survive a round trip this way); otherwise the next free id and a free colour.
    """

    names: tuple[str | None, ...]
    background_index: int | None
    ignore_index: int = IGNORE_ID
    store_ids: tuple[int | None, ...] = ()
    colors: tuple[str | None, ...] = ()


@dataclass
class DatasetReport:
    images: int = 0  # new images
    duplicates: int = 0  # images already in the store (a new ground-truth revision only if it differs)
    masks: int = 0  # ground-truth revisions written
    classes_created: list[ClassDef] = field(default_factory=list)
    class_map: dict[int, int] = field(default_factory=dict)  # dataset id -> store id
    unlabelled: list[str] = field(default_factory=list)  # images without a label file (imported as images)


@dataclass(frozen=True)
class DatasetItem:
    """An image file and its label: a label-map PNG (``label``) or a function drawing the H×W label map
    of dataset ids for the image's (height, width) (``raster``, e.g. from COCO polygons)."""

    name: str
    split: Split
    image: Path
    label: Path | None
    raster: Callable[[int, int], np.ndarray] | None = None


_Checked = tuple[DatasetItem, str, ImageInfo, "str | None", dict[int, int]]  # item, image sha, info, mask sha, pixels


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


def _find_pairs(root: Path, split: Split | None) -> tuple[list[DatasetItem], Path | None]:
    for img_dir, lbl_dir in _LAYOUTS:
        if (root / img_dir).is_dir():
            sp = split or (Split.VAL if root.name.lower() == "val" else Split.TRAIN)
            spec = next((p / "classes.json" for p in (root, root.parent) if (p / "classes.json").is_file()), None)
            pairs = []
            for f in sorted((root / img_dir).iterdir()):
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."):
                    label = root / lbl_dir / f"{f.stem}.png"
                    pairs.append(DatasetItem(f.name, sp, f, label if label.is_file() else None))
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


def _at(values: tuple, index: int) -> Any:
    """``values[index]``, or None past the end (the optional per-id lists of ``DatasetSpec``)."""
    return values[index] if index < len(values) else None


@dataclass(frozen=True)
class _NewClass:
    name: str
    class_id: int
    color: str | None


def _plan(repo: ClassRepo, spec: DatasetSpec) -> tuple[dict[int, int], list[_NewClass]]:
    """Dataset id -> store id (existing by name, else the ids new classes will get), and the classes to
    create (with the id and colour the spec asks for when free)."""
    mapping: dict[int, int] = {}
    wanted: list[tuple[int, str, int | None, str | None]] = []
    seen: set[str] = set()
    for ds_id, name in enumerate(spec.names):
        if name is None or ds_id in (spec.background_index, spec.ignore_index):
            continue
        existing = repo.get_by_name(name)
        if existing is not None:
            mapping[ds_id] = existing.id
        elif name_key(name) in seen:
            raise ValidationError(f"the dataset names class {name!r} twice")
        else:
            seen.add(name_key(name))
            name = clean_name(name)  # refused here, before any file is read
            wanted.append((ds_id, name, _at(spec.store_ids, ds_id), _at(spec.colors, ds_id)))
    claimed = {sid for _, _, sid, _ in wanted if sid is not None and 1 <= sid <= MAX_CLASS_ID
               and repo.get(sid) is None}
    owned_colors = {c.lower() for _, _, _, c in wanted if c and repo.color_owner(c.lower()) is None}
    next_id = max([repo.next_id() - 1, *claimed], default=0) + 1
    to_create: list[_NewClass] = []
    used_colors: set[str] = set()
    for ds_id, name, sid, color in wanted:
        if sid is not None and sid in claimed:
            claimed.discard(sid)  # a repeated id goes to the first class asking for it
        else:
            sid, next_id = next_id, next_id + 1
        keep = color is not None and color.lower() in owned_colors and color.lower() not in used_colors
        used_colors |= {color.lower()} if keep else set()
        to_create.append(_NewClass(name, sid, color.lower() if keep else None))
        mapping[ds_id] = sid
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


def _check_pair(ctx: AppContext, guard: BlobGuard, pair: DatasetItem, lut: np.ndarray, allowed: np.ndarray) -> _Checked:
    limits = ctx.settings
    if pair.image.stat().st_size > limits.max_file_bytes:
        raise BadFileError(pair.name, f"the file is over the {limits.max_file_bytes / 2**20:.0f} MiB limit")
    data = pair.image.read_bytes()
    info = validate_image(data, pair.name, limits.max_file_bytes, limits.max_pixels)
    mask_sha, pixels = None, {}
    if pair.raster is not None:
        label_name = f"annotations of {pair.name}"
        raw = pair.raster(info.height, info.width)
    elif pair.label is not None:
        label_name = f"{pair.label.parent.name}/{pair.label.name}"
        raw = decode_mask(pair.label.read_bytes(), label_name, limits.max_file_bytes, limits.max_pixels)
    if pair.raster is not None or pair.label is not None:
        if raw.shape != (info.height, info.width):
            raise BadFileError(label_name, f"label is {raw.shape[1]}x{raw.shape[0]} but image {pair.name} "
                                           f"is {info.width}x{info.height}")
        bad = np.flatnonzero(~allowed & (np.bincount(raw.ravel(), minlength=256) > 0))
        if bad.size:
            raise BadFileError(label_name, f"unknown class id(s) {', '.join(map(str, bad))} (not in the class list)")
        mask = lut[raw]
        mask_sha, pixels = guard.put_later(encode_mask(mask)), class_pixels(mask)
    return pair, guard.put_later(data), info, mask_sha, pixels


def import_dataset(ctx: AppContext, source: Path | str, split: Split | None = None,
                   progress: Callable[[float, str], None] | None = None) -> DatasetReport:
    """Import a dataset folder, zip or COCO JSON file (see the module docstring); ``split`` overrides the
    split the folder or file names give."""
    src = Path(source)
    if src.is_file() and zipfile.is_zipfile(src):
        with temp_dir(DATASET_PREFIX) as tmp:  # removed on every exit path; doctor finds a killed run's
            extract_zip(src, tmp, ctx.settings.zip_limits)
            root = tmp
            entries = [p for p in root.iterdir() if not p.name.startswith(("__MACOSX", "."))]
            if len(entries) == 1 and entries[0].is_dir():
                root = entries[0]
            return _import_folder(ctx, root, split, progress)
    if src.is_file() and src.suffix.lower() == ".json":
        from .coco import read_coco

        root = src.parent.parent if src.parent.name == "annotations" else src.parent  # COCO's usual layout
        pairs, spec = read_coco(root, [src], split, ctx.settings.max_file_bytes)
        return import_pairs(ctx, root, pairs, spec, progress)
    if not src.is_dir():
        raise BadFileError(str(src), "not a dataset folder, zip archive or COCO JSON file")
    return _import_folder(ctx, src, split, progress)


def _import_folder(ctx: AppContext, root: Path, split: Split | None,
                   progress: Callable[[float, str], None] | None) -> DatasetReport:
    from .coco import find_coco_files, read_coco

    coco_files = find_coco_files(root)
    try:
        pairs, spec_path = _find_pairs(root, Split(split) if split else None)
    except BadFileError:
        if not coco_files:
            raise
        pairs, spec_path = [], None
    if coco_files and not any(p.label for p in pairs):  # e.g. CVAT's images/ + annotations/*.json
        pairs, spec = read_coco(root, coco_files, Split(split) if split else None, ctx.settings.max_file_bytes)
    else:
        spec = read_spec(spec_path)
    return import_pairs(ctx, root, pairs, spec, progress)


def import_pairs(ctx: AppContext, root: Path, pairs: list[DatasetItem], spec: DatasetSpec,
                 progress: Callable[[float, str], None] | None) -> DatasetReport:
    """Check every pair (nothing is registered if one is bad), then create the missing classes and
    register images and masks in batches (see ``leases.commit_in_batches``), under a lease."""
    if not pairs:
        raise BadFileError(str(root), "the dataset folder holds no images")
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
                report.classes_created = [add_class(ClassRepo(s), new.name, new.color, class_id=new.class_id)
                                          for new in to_create]
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
