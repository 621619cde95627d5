"""COCO in and out: instance or panoptic JSON (polygons and RLE, via ``pycocotools``) to label maps,
and label maps to COCO instance JSON with one RLE annotation per class present in an image.

Reading (``read_coco``, called by ``datasets.import_dataset`` when a folder, zip or ``.json`` file
holds COCO annotations):
- instance JSON: pixels no annotation covers are background; annotations are painted largest first,
  so small objects stay on top, and void/ignore annotations last;
- panoptic JSON: each image's PNG (segment id = R + 256·G + 256²·B) gives the segments; id 0, COCO's
  "unlabeled", is ignore (255);
- categories named ``background`` are background (0); categories whose supercategory is ``void``, or
  named ``void``/``ignore``/``unlabeled``, are ignore (255); the others are classes, created in the
  store (or matched by name) with their COCO id and ``color`` when those are free;
- the split comes from the JSON's file or folder name (``val``/``valid``/``test`` -> val).

Writing (``export_coco``): ``annotations/instances_<split>.json`` per split, category id = store class
id, ``color`` [r, g, b] as in COCO panoptic, the ignore area as an annotation of category 255
``void`` (supercategory ``void``), ``iscrowd`` 0 with RLE as in COCO-Stuff; images are copied to
``images/`` when asked. Ids, names, colours and the ignore area survive export -> import.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..domain.enums import ReviewStatus, Split
from ..domain.errors import BadFileError
from ..domain.records import BACKGROUND_ID, IGNORE_ID
from .classes import list_classes
from .context import AppContext
from .datasets import DatasetSpec, DatasetItem
from .export import ExportReport, unique_stem
from .images import get_image
from .imageio import IMAGE_SUFFIXES, VOID_COLOR, decode_mask, hex_to_rgb
from .masks import labelled_masks

log = logging.getLogger(__name__)

BACKGROUND_NAMES = frozenset({"background", "_background_", "__background__"})
IGNORE_NAMES = frozenset({"void", "ignore", "unlabeled", "unlabelled", "__ignore__"})
VOID_CATEGORY = {"id": IGNORE_ID, "name": "void", "supercategory": "void", "color": list(VOID_COLOR), "isthing": 0}
_VAL_WORD = re.compile(r"^(val|valid|validation|test)\d*$")


def _split_of(path: Path) -> Split:
    """val when a word of the JSON's name or folder is val/valid/validation/test (e.g. instances_val2017)."""
    words = re.split(r"[^a-z0-9]+", f"{path.stem} {path.parent.name}".lower())
    return Split.VAL if any(_VAL_WORD.match(w) for w in words) else Split.TRAIN


def _load_json(path: Path, max_bytes: int) -> dict[str, Any]:
    if path.stat().st_size > max_bytes:
        raise BadFileError(path.name, f"the file is over the {max_bytes / 2**20:.0f} MiB limit")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadFileError(path.name, f"not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadFileError(path.name, "not a COCO file (the top level is not an object)")
    return data


def _is_coco(path: Path) -> bool:
    """Cheap check: a JSON object naming images, annotations and categories near its start."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            head = f.read(1 << 20)
    except OSError:
        return False
    return head.lstrip().startswith("{") and all(f'"{k}"' in head or len(head) == 1 << 20
                                                 for k in ("images", "annotations", "categories"))


def find_coco_files(root: Path) -> list[Path]:
    """COCO JSON files under ``root`` (sorted; ``classes.json`` and hidden files skipped)."""
    return sorted(p for p in root.rglob("*.json") if p.name != "classes.json" and not p.name.startswith(".")
                  and _is_coco(p))


@dataclass(frozen=True)
class _Categories:
    """COCO category id -> dataset value (0 background, 255 ignore, 1.. classes) and the spec of the values."""

    values: dict[int, int]
    spec: DatasetSpec


def _role(cat: dict[str, Any]) -> str:
    name = str(cat.get("name", "")).strip().lower()
    if str(cat.get("supercategory", "")).strip().lower() == "void" or name in IGNORE_NAMES:
        return "ignore"
    return "background" if name in BACKGROUND_NAMES else "class"


def _color(cat: dict[str, Any]) -> str | None:
    rgb = cat.get("color")
    if isinstance(rgb, (list, tuple)) and len(rgb) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in rgb):
        return "#{:02x}{:02x}{:02x}".format(*rgb)
    return None


def _categories(files: dict[Path, dict[str, Any]]) -> _Categories:
    """One value table over every file (a class keeps its value across train and val files)."""
    by_name: dict[str, tuple[int, dict[str, Any]]] = {}
    values: dict[int, int] = {}
    names: list[str | None] = ["background"]
    store_ids: list[int | None] = [None]
    colors: list[str | None] = [None]
    for path, data in files.items():
        for cat in data.get("categories") or []:
            if not isinstance(cat, dict) or not isinstance(cat.get("id"), int) or not str(cat.get("name", "")).strip():
                raise BadFileError(path.name, f"a category needs an integer id and a name, got {cat!r}")
            role = _role(cat)
            if role != "class":
                value = BACKGROUND_ID if role == "background" else IGNORE_ID
            else:
                key = str(cat["name"]).strip().casefold()
                if key not in by_name:
                    if len(names) >= IGNORE_ID:
                        raise BadFileError(path.name, f"more than {IGNORE_ID - 1} categories")
                    by_name[key] = (len(names), cat)
                    names.append(str(cat["name"]).strip())
                    store_ids.append(int(cat["id"]))
                    colors.append(_color(cat))
                value = by_name[key][0]
            if values.get(cat["id"], value) != value:
                raise BadFileError(path.name, f"category id {cat['id']} means different classes in different files")
            values[cat["id"]] = value
    spec = DatasetSpec(tuple(names), BACKGROUND_ID, IGNORE_ID, tuple(store_ids), tuple(colors))
    return _Categories(values, spec)


def rle_counts(counts: bytes) -> list[int]:
    """Run lengths of a compressed COCO RLE string (the inverse of pycocotools' ``rleToString``)."""
    runs: list[int] = []
    p = 0
    while p < len(counts):
        x, k, more = 0, 0, True
        while more:
            if p >= len(counts):
                raise ValueError("truncated RLE string")
            c = counts[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p, k = p + 1, k + 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        runs.append(x + runs[-2] if len(runs) > 2 else x)
    return runs


def _check_runs(runs: list[int], height: int, width: int) -> None:
    """Run lengths must be non-negative and cover the image exactly (pycocotools reads past them)."""
    if any(r < 0 for r in runs) or sum(runs) != height * width:
        raise ValueError(f"RLE runs cover {sum(runs)} pixels, the image has {height * width}")


def _rle(segmentation: Any, height: int, width: int) -> dict[str, Any]:
    """A COCO segmentation (polygons, uncompressed or compressed RLE) as one compressed RLE."""
    from pycocotools import mask as mask_utils

    if isinstance(segmentation, list):
        polygons = [p for p in segmentation if isinstance(p, list) and len(p) >= 6]
        if not polygons:
            return mask_utils.encode(np.zeros((height, width), np.uint8, order="F"))
        return mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    if isinstance(segmentation, dict) and "counts" in segmentation:
        if list(segmentation.get("size", [height, width])) != [height, width]:
            raise ValueError(f"mask size {segmentation.get('size')} is not the image's {height}x{width}")
        counts = segmentation["counts"]
        if isinstance(counts, list):
            _check_runs([int(c) for c in counts], height, width)
            return mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width)
        counts = counts.encode("ascii") if isinstance(counts, str) else bytes(counts)
        _check_runs(rle_counts(counts), height, width)
        return {"size": [height, width], "counts": counts}
    raise ValueError(f"unsupported segmentation {str(segmentation)[:60]}")


def _paint_instances(anns: list[dict[str, Any]], values: dict[int, int], name: str, height: int, width: int
                     ) -> np.ndarray:
    """H×W dataset values of one image's instance annotations (background 0 where none)."""
    from pycocotools import mask as mask_utils

    label = np.full((height, width), BACKGROUND_ID, np.uint8)
    decoded = []
    for ann in anns:
        if ann.get("category_id") not in values:
            raise BadFileError(name, f"annotation {ann.get('id')} has unknown category {ann.get('category_id')}")
        try:
            rle = _rle(ann.get("segmentation"), height, width)
            binary = mask_utils.decode(rle).astype(bool)
        except (ValueError, TypeError, KeyError) as exc:
            raise BadFileError(name, f"annotation {ann.get('id')}: unreadable segmentation ({exc})") from None
        value = values[ann["category_id"]]
        decoded.append((value == IGNORE_ID, -int(binary.sum()), value, binary))
    for _, _, value, binary in sorted(decoded, key=lambda d: (d[0], d[1])):  # largest first, void last
        label[binary] = value
    return label


def _paint_panoptic(png: Path, segments: list[dict[str, Any]], values: dict[int, int], name: str,
                    height: int, width: int, max_bytes: int) -> np.ndarray:
    """H×W dataset values from a COCO panoptic PNG: id = R + 256·G + 256²·B, 0 = unlabeled (ignore)."""
    from .imageio import decode_rgb

    rgb = decode_rgb(png.read_bytes(), png.name, max_bytes, height * width + 1).astype(np.int64)
    if rgb.shape[:2] != (height, width):
        raise BadFileError(png.name, f"panoptic PNG is {rgb.shape[1]}x{rgb.shape[0]}, image {name} is {width}x{height}")
    ids = rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]
    label = np.full((height, width), IGNORE_ID, np.uint8)
    for seg in segments:
        if seg.get("category_id") not in values:
            raise BadFileError(png.name, f"segment {seg.get('id')} has unknown category {seg.get('category_id')}")
        label[ids == seg.get("id")] = values[seg["category_id"]]
    return label


class _ImageIndex:
    """Finds the file a COCO ``file_name`` refers to: beside the JSON, in an ``images/`` folder near it,
    under the root, or by its base name when that is unique under the root."""

    def __init__(self, root: Path, suffixes: frozenset[str]) -> None:
        self.root = root.resolve()
        self.by_name: dict[str, list[Path]] = {}
        for p in root.rglob("*"):
            if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith("."):
                self.by_name.setdefault(p.name, []).append(p)

    def find(self, json_path: Path, file_name: str, extra: Sequence[Path] = ()) -> Path | None:
        rel = PurePosixPath(str(file_name).replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts:
            return None
        for base in (*extra, json_path.parent, json_path.parent / "images", json_path.parent.parent / "images",
                     self.root, self.root / "images"):
            candidate = base / rel
            if candidate.is_file() and self.root in candidate.resolve().parents:
                return candidate
        found = self.by_name.get(rel.name, [])
        return found[0] if len(found) == 1 else None


def _pairs_of(path: Path, data: dict[str, Any], cats: _Categories, index: _ImageIndex, pngs: _ImageIndex,
              split: Split | None, max_bytes: int) -> list[DatasetItem]:
    images = data.get("images")
    anns = data.get("annotations")
    if not isinstance(images, list) or not isinstance(anns, list):
        raise BadFileError(path.name, "a COCO file needs lists of images and annotations")
    panoptic = any(isinstance(a, dict) and "segments_info" in a for a in anns)
    by_image: dict[Any, list[dict[str, Any]]] = {}
    for ann in anns:
        if isinstance(ann, dict):
            by_image.setdefault(ann.get("image_id"), []).append(ann)
    sp = split or _split_of(path)
    pairs = []
    for im in images:
        if not isinstance(im, dict) or "file_name" not in im:
            raise BadFileError(path.name, f"an image entry needs a file_name, got {str(im)[:80]}")
        file = index.find(path, im["file_name"])
        if file is None:
            raise BadFileError(path.name, f"image {im['file_name']} is listed but not found beside the JSON")
        name = PurePosixPath(str(im["file_name"]).replace("\\", "/")).name
        if panoptic:
            ann = (by_image.get(im.get("id")) or [{"file_name": None}])[0]
            png = pngs.find(path, ann["file_name"], (path.parent / path.stem,)) if ann["file_name"] else None
            if png is None:
                raise BadFileError(path.name, f"the panoptic PNG of image {im['file_name']} is missing")
            raster = partial(_paint_panoptic, png, ann.get("segments_info") or [], cats.values, name,
                             max_bytes=max_bytes)
        else:
            raster = partial(_paint_instances, by_image.get(im.get("id"), []), cats.values, name)
        pairs.append(DatasetItem(name, sp, file, None, _sized(raster, im, name)))
    return pairs


def _sized(raster: Callable[..., np.ndarray], entry: dict[str, Any], name: str) -> Callable[[int, int], np.ndarray]:
    """The raster, checking the JSON's width/height (when given) against the decoded image's size."""
    def draw(height: int, width: int) -> np.ndarray:
        w, h = entry.get("width"), entry.get("height")
        if (w is not None and w != width) or (h is not None and h != height):
            raise BadFileError(name, f"the COCO file says {w}x{h} but the image is {width}x{height}")
        return raster(height=height, width=width)
    return draw


def read_coco(root: Path, files: Sequence[Path], split: Split | None, max_bytes: int
              ) -> tuple[list[DatasetItem], DatasetSpec]:
    """(image/label pairs, class spec) of COCO JSON ``files`` whose images lie under ``root``."""
    loaded = {Path(f): _load_json(Path(f), max_bytes) for f in files}
    cats = _categories(loaded)
    index = _ImageIndex(root, IMAGE_SUFFIXES)
    pngs = _ImageIndex(root, frozenset({".png"}))
    pairs = [p for path, data in loaded.items() for p in _pairs_of(path, data, cats, index, pngs, split, max_bytes)]
    log.info("COCO %s: %d images, %d categories", ", ".join(f.name for f in loaded), len(pairs), len(cats.values))
    return pairs, cats.spec


def mask_annotations(mask: np.ndarray, image_id: int, first_id: int) -> list[dict[str, Any]]:
    """One COCO annotation (compressed RLE, bbox, area) per class id present in an H×W label map,
    void (255) included as category 255; background (0) gets none."""
    from pycocotools import mask as mask_utils

    out = []
    for class_id in (int(c) for c in np.unique(mask) if c != BACKGROUND_ID):
        rle = mask_utils.encode(np.asfortranarray((mask == class_id).astype(np.uint8)))
        out.append({"id": first_id + len(out), "image_id": image_id, "category_id": class_id,
                    "segmentation": {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")},
                    "area": int(mask_utils.area(rle)), "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                    "iscrowd": 0})
    return out


def categories_json(classes: Sequence[Any]) -> list[dict[str, Any]]:
    """COCO categories of store classes (id = class id, colour as in COCO panoptic) plus void (255)."""
    cats = [{"id": c.id, "name": c.name, "supercategory": "", "color": list(hex_to_rgb(c.color)), "isthing": 1}
            for c in classes]
    return cats + [dict(VOID_CATEGORY)]


def export_coco(ctx: AppContext, out_dir: Path | str, split: Split | None = None,
                statuses: Sequence[ReviewStatus] = (ReviewStatus.ACCEPTED,), with_images: bool = False,
                progress: Callable[[float, str], None] | None = None) -> ExportReport:
    """Write the newest mask of every image whose review status is in ``statuses`` as COCO JSON."""
    out = Path(out_dir)
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    categories = categories_json(list_classes(ctx))
    revisions = labelled_masks(ctx, split, statuses)
    docs: dict[Split, dict[str, Any]] = {}
    used: set[str] = set()
    n_images, next_ann = 0, 1
    for i, rev in enumerate(revisions):
        image = get_image(ctx, rev.image_id)
        suffix = PurePosixPath(image.original_name).suffix.lower() or ".jpg"
        file_name = f"{unique_stem(image.original_name, image.id, used)}{suffix}"
        doc = docs.setdefault(image.split, {"info": {"description": f"incseg export ({image.split.value})"},
                                            "licenses": [], "images": [], "annotations": [],
                                            "categories": categories})
        doc["images"].append({"id": image.id, "file_name": file_name, "width": image.width, "height": image.height})
        mask = decode_mask(ctx.blobs.get_bytes(rev.sha256), f"mask revision {rev.id}", 2**31, 2**31)
        anns = mask_annotations(mask, image.id, next_ann)
        doc["annotations"] += anns
        next_ann += len(anns)
        if with_images:
            (out / "images").mkdir(exist_ok=True)
            (out / "images" / file_name).write_bytes(ctx.blobs.get_bytes(image.sha256))
            n_images += 1
        if progress:
            progress((i + 1) / len(revisions), f"exported {file_name}")
    for sp, doc in docs.items():
        (out / "annotations" / f"instances_{sp.value}.json").write_text(json.dumps(doc), encoding="utf-8")
    log.info("exported %d masks as COCO to %s", len(revisions), out)
    return ExportReport(out, len(revisions), n_images)
