"""Segment a folder or a glob of images with a version: batched, resumable, with progress.

``predict_many(ctx, sources, out)`` writes under ``out``:

- ``masks/<name>.png``: VOC palette PNGs (pixel values = class ids, palette = class colours), where
  ``<name>`` is the image's path relative to the folder (or the glob's fixed prefix) without suffix;
- ``overlays/<name>.jpg`` (``overlays=True``): the class colours over the photo;
- ``predictions.json`` (``coco=True``): COCO instance JSON with one RLE annotation per class and image,
  built at the end from every mask in ``masks/`` (so it covers images predicted before a resume);
- ``predict.json``: the version (id, checkpoint) that made the masks.

Every file is written to a temporary name and renamed into place, so after a crash, even a SIGKILL,
each mask present is complete; a rerun skips the images whose mask exists and predicts the rest. A
rerun with another version is refused rather than mixing two models' masks in one folder. An image
that cannot be read is listed in the report and skipped; the others are still predicted.
"""
from __future__ import annotations

import glob
import io
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from ..domain.errors import BadFileError, ConflictError, NotFoundError, ValidationError
from . import versions
from .context import AppContext
from .imageio import IMAGE_SUFFIXES, decode_mask, decode_rgb, encode_palette_png
from .predict import class_colors, overlay_mask

log = logging.getLogger(__name__)

MANIFEST = "predict.json"
DEFAULT_BATCH = 4


@dataclass(frozen=True)
class PredictInput:
    """An image file and its output name (relative, without suffix, "/"-separated)."""

    path: Path
    name: str


@dataclass
class BatchReport:
    out_dir: Path
    version_id: int
    total: int = 0
    predicted: int = 0
    skipped: int = 0  # masks already present (a resumed run)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)


def _is_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _glob_base(pattern: str) -> Path:
    """The folder part of a glob before its first wildcard (outputs are named relative to it)."""
    parts = PurePosixPath(pattern.replace(os.sep, "/")).parts
    fixed = [p for p in parts[: next(i for i, p in enumerate(parts) if _is_glob(p))]]
    return Path(*fixed) if fixed else Path(".")


def collect_inputs(sources: Sequence[str | Path]) -> list[PredictInput]:
    """Image files of ``sources`` (files, folders searched recursively, or glob patterns), sorted by name."""
    found: dict[str, Path] = {}
    for source in map(str, sources):
        if _is_glob(source):
            base = _glob_base(source)
            files = [Path(p) for p in glob.glob(source, recursive=True)]
        elif Path(source).is_dir():
            base = Path(source)
            files = [p for p in Path(source).rglob("*")]
        elif Path(source).is_file():
            base, files = Path(source).parent, [Path(source)]
        else:
            raise NotFoundError(f"{source}: no such file, folder or matching files")
        for f in files:
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."):
                name = f.relative_to(base).with_suffix("").as_posix()
                if name in found and found[name] != f:
                    raise ValidationError(f"{found[name]} and {f} would both be written as {name}.png; "
                                          "predict them into different output folders")
                found[name] = f
    if not found:
        raise ValidationError(f"no image files in {', '.join(map(str, sources))}")
    return [PredictInput(found[n], n) for n in sorted(found)]


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _check_manifest(out: Path, version_id: int, checkpoint: str) -> None:
    path = out / MANIFEST
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        if old.get("checkpoint_sha256") != checkpoint:
            raise ConflictError(f"{out} holds masks of version {old.get('version_id')}; predict version "
                                f"{version_id} into another folder (or pass --version {old.get('version_id')})")
        return
    _write_atomic(path, json.dumps({"version_id": version_id, "checkpoint_sha256": checkpoint}).encode())


def _jpeg(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def predict_many(ctx: AppContext, sources: Sequence[str | Path], out_dir: Path | str, version_id: int | None = None,
                 batch_size: int = DEFAULT_BATCH, coco: bool = False, overlays: bool = False,
                 progress: Callable[[float, str], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> BatchReport:
    """Predict every image of ``sources`` with a READY version (default: the active one); see the module
    docstring. ``should_stop`` is checked between batches (what is written stays)."""
    from ..training.evaluate import predict_masks
    from ..training.step import select_device
    from .store_data import load_version_model

    if batch_size < 1:
        raise ValidationError(f"batch size must be at least 1, got {batch_size}")
    items = collect_inputs(sources)
    version = versions.get_version(ctx, version_id) if version_id is not None else versions.active_version(ctx)
    if version is None:
        raise NotFoundError("no model version yet: train a first step to create one")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _check_manifest(out, version.id, version.checkpoint_sha256 or "")
    model, ckpt = load_version_model(ctx, version)
    rgb, _, _ = class_colors(ctx)
    report = BatchReport(out, version.id, total=len(items))
    todo = [it for it in items if not (out / "masks" / f"{it.name}.png").is_file()]
    report.skipped = len(items) - len(todo)
    device = select_device(ctx.ml.train.device)
    limits = ctx.settings
    for start in range(0, len(todo), batch_size):
        if should_stop is not None and should_stop():
            break
        batch, pixels = [], []
        for it in todo[start:start + batch_size]:
            try:
                pixels.append(decode_rgb(it.path.read_bytes(), it.path.name, limits.max_file_bytes, limits.max_pixels))
                batch.append(it)
            except (OSError, BadFileError) as exc:
                report.failed.append((str(it.path), str(exc)))
        for it, image, mask in zip(batch, pixels, predict_masks(model, pixels, ckpt.class_ids, device,
                                                                 ctx.ml.eval_max_side)):
            if overlays:
                _write_atomic(out / "overlays" / f"{it.name}.jpg", _jpeg(overlay_mask(image, mask, rgb)))
            _write_atomic(out / "masks" / f"{it.name}.png", encode_palette_png(mask, rgb))
            report.predicted += 1
        if progress is not None:
            done = report.skipped + report.predicted + len(report.failed)
            progress(done / len(items), f"{done}/{len(items)} {batch[-1].name if batch else ''}")
    if coco:
        write_coco_predictions(ctx, out, items)
    log.info("predicted %d image(s) with version %d into %s (%d already there, %d failed)", report.predicted,
             version.id, out, report.skipped, len(report.failed))
    return report


def write_coco_predictions(ctx: AppContext, out: Path, items: Sequence[PredictInput]) -> Path:
    """``out/predictions.json``: COCO instance JSON (RLE) of every mask present for ``items``."""
    from .classes import list_classes
    from .coco import categories_json, mask_annotations

    doc: dict = {"info": {"description": "incseg predictions"}, "licenses": [], "images": [], "annotations": [],
                 "categories": categories_json(list_classes(ctx))}
    for image_id, it in enumerate(items, 1):
        path = out / "masks" / f"{it.name}.png"
        if not path.is_file():
            continue
        mask = decode_mask(path.read_bytes(), path.name, 2**31, 2**31)
        doc["images"].append({"id": image_id, "file_name": f"{it.name}{it.path.suffix}",
                              "width": int(mask.shape[1]), "height": int(mask.shape[0])})
        doc["annotations"] += mask_annotations(mask, image_id, len(doc["annotations"]) + 1)
    target = out / "predictions.json"
    _write_atomic(target, json.dumps(doc).encode())
    return target
