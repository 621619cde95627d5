"""Folder datasets: ``ROOT/classes.json`` plus ``ROOT/<split>/images/*.jpg|png`` and
``ROOT/<split>/labels/*.png`` (same stem), as in ``shared/data/camvid`` and ``voc_samples``.

``classes.json`` = ``{"classes": [names in file-id order], "background_index": int | null,
"ignore_index": 255}``. File ids are remapped to the project's stable ids: background -> 0, the other
classes -> 1, 2, ... in file order, ignore -> 255 (CamVid has no background id, so its 11 classes
become ids 1..11).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..domain.errors import BadFileError, NotFoundError
from .data import IGNORE, normalise_item

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def read_class_file(root: Path) -> tuple[dict[int, str], np.ndarray]:
    """Stable class names {id: name} (background excluded) and the 256-entry file-id -> stable-id table."""
    path = root / "classes.json"
    if not path.is_file():
        raise NotFoundError(f"{path}: no classes.json in the dataset folder")
    try:
        spec = json.loads(path.read_text())
        names = list(spec["classes"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadFileError(str(path), f"not a classes file ({exc})") from exc
    bg = spec.get("background_index")
    ignore = int(spec.get("ignore_index", IGNORE))
    table = np.full(256, IGNORE, dtype=np.uint8)
    class_names: dict[int, str] = {}
    for file_id, name in enumerate(names):
        if file_id == bg:
            table[file_id] = 0
            continue
        stable = len(class_names) + 1
        class_names[stable] = str(name)
        table[file_id] = stable
    table[ignore] = IGNORE
    return class_names, table


class FolderDataset:
    """One split of a folder dataset; decodes lazily and keeps decoded items in memory.

    ``max_images`` keeps the first N images in name order (quick benchmarks).
    """

    def __init__(self, root: str | Path, split: str, max_images: int | None = None) -> None:
        self.root = Path(root)
        self.class_names, self._table = read_class_file(self.root)
        image_dir, label_dir = self.root / split / "images", self.root / split / "labels"
        if not image_dir.is_dir() or not label_dir.is_dir():
            raise NotFoundError(f"{self.root / split}: expected images/ and labels/ folders")
        pairs = []
        for image_path in sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            label_path = label_dir / f"{image_path.stem}.png"
            if not label_path.is_file():
                raise NotFoundError(f"{label_path}: label missing for {image_path.name}")
            pairs.append((image_path, label_path))
        self.pairs = pairs[:max_images] if max_images else pairs
        self._cache: dict[int, dict[str, Any]] = {}
        log.info("folder dataset %s/%s: %d images, %d classes", self.root, split, len(self.pairs),
                 len(self.class_names))

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if index not in self._cache:
            image_path, label_path = self.pairs[index]
            with Image.open(image_path) as im:
                image = np.asarray(im.convert("RGB"), dtype=np.uint8)
            with Image.open(label_path) as lab:
                if lab.mode not in ("L", "P"):
                    raise BadFileError(str(label_path), f"label must be a single-channel PNG, got mode {lab.mode}")
                raw = np.asarray(lab, dtype=np.uint8)
            self._cache[index] = normalise_item({"image": image, "mask": self._table[raw], "image_id": index}, index)
        return self._cache[index]
