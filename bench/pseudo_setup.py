"""Data and models for ``bench/pseudo.py``: the labelled folder, the step's tags, tiles, simulated
corrections, and the base model that supplies old-class evidence (trained once, cached on disk).
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from incseg_app.domain.config import MethodConfig, ModelConfig, TrainConfig
from incseg_app.domain.errors import ValidationError
from incseg_app.methods.registry import get_method
from incseg_app.storage.blobs import BlobStore
from incseg_app.training.checkpoint import build_from_checkpoint, load_checkpoint, save_checkpoint
from incseg_app.training.data import SubsetDataset, images_with_classes
from incseg_app.training.folder import FolderDataset
from incseg_app.training.step import run_incremental_step

log = logging.getLogger("bench.pseudo")
IGNORE = 255


def parse_steps(split: str, class_ids: list[int]) -> list[list[int]]:
    """"N-M" -> [[first N ids], [next M], ...]. N may be 0 (no base step: every class is new; step 0
    is then empty and ``--step 1`` holds the first M classes)."""
    try:
        n, m = (int(x) for x in split.split("-"))
    except ValueError:
        raise ValidationError(f"split {split!r} must look like N-M, e.g. 6-5 or 0-20") from None
    if not 0 <= n < len(class_ids) or m < 1:
        raise ValidationError(f"split {split!r}: need 0 <= N < {len(class_ids)} classes and M >= 1")
    return [class_ids[:n]] + [class_ids[i:i + m] for i in range(n, len(class_ids), m)]


def open_folder(root: Path, split: str) -> FolderDataset:
    """``ROOT/SPLIT`` when it has images/ and labels/; a folder without split sub-folders (the VOC
    samples: ``ROOT/images``, ``ROOT/labels``) is used as it is, whatever ``split`` says."""
    if (root / split / "images").is_dir():
        return FolderDataset(root, split)
    if (root / "images").is_dir():
        log.info("%s has no %s/ folder: using its images/ and labels/ directly", root, split)
        return FolderDataset(root, "")
    raise ValidationError(f"{root}: neither {split}/images nor images/ exists")


def tile_items(data: FolderDataset, tiles: int) -> list[dict[str, Any]]:
    """Every image cut into a tiles×tiles grid (row-major); tiles = 1 keeps the images whole."""
    out = []
    for i in range(len(data)):
        item = data[i]
        h, w = item["mask"].shape
        for r in range(tiles):
            for c in range(tiles):
                ys, xs = slice(r * h // tiles, (r + 1) * h // tiles), slice(c * w // tiles, (c + 1) * w // tiles)
                out.append({"image": np.ascontiguousarray(item["image"][ys, xs]),
                            "mask": np.ascontiguousarray(item["mask"][ys, xs]), "source": i})
    return out


def step_tags(items: list[dict[str, Any]], classes: list[int], min_pixels: int = 1) -> list[list[int]]:
    """Per item, the step classes its ground truth shows (the image-level tags a user would give)."""
    return [[c for c in classes if int((it["mask"] == c).sum()) >= min_pixels] for it in items]


def pick_corrections(tags: list[list[int]], classes: list[int], k: int, seed: int) -> list[int]:
    """Indices of the items a simulated user corrects: for each class in turn, seeded random items
    tagged with it until k corrected items show it (an item counts for every class it shows)."""
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for c in classes:
        pool = [i for i, t in enumerate(tags) if c in t]
        have = sum(1 for i in chosen if c in tags[i])
        for i in rng.permutation(pool):
            if have >= k:
                break
            if int(i) not in chosen:
                chosen.append(int(i))
                have += 1
    return chosen


RECIPE_FIELDS = ("epochs", "batch_size", "lr", "encoder_lr_mult", "weight_decay", "crop_size", "seed", "scales", "flip")
MODEL_FIELDS = ("encoder", "pretrained", "embed_dim", "decoder_layers", "decoder_heads", "output_stride", "temperature")


def _base_key(root: Path, classes: list[int], cfg: TrainConfig, model_cfg: ModelConfig) -> str:
    """Cache key of the base model: the data, the classes and the fields of the recipe that change
    what is learnt (not the repr of the configs, which grows with every new engine option)."""
    recipe = {f: getattr(cfg, f) for f in RECIPE_FIELDS} | {f: getattr(model_cfg, f) for f in MODEL_FIELDS}
    text = json.dumps([str(root.resolve()), classes, recipe], default=str, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def base_model(root: Path, classes: list[int], work: Path, epochs: int, seed: int, threads: int) -> torch.nn.Module:
    """The model of the split's base step (``finetune`` on the train images that show a base class,
    frozen ImageNet backbone as in the CPU protocol of docs/benchmarks.md), cached under ``work``."""
    model_cfg = ModelConfig()
    cfg = TrainConfig(epochs=epochs, batch_size=8, crop_size=192, encoder_lr_mult=0.0, seed=seed, device="cpu")
    folder = work / f"base-{_base_key(root, classes, cfg, model_cfg)}"
    store = BlobStore(folder / "blobs")
    ref = folder / "checkpoint.sha256"
    if ref.is_file():
        log.info("base model from cache %s", folder)
        return build_from_checkpoint(load_checkpoint(store, ref.read_text().strip())).eval()
    torch.set_num_threads(threads)
    train = open_folder(root, "train")
    data = SubsetDataset(train, images_with_classes(train, classes))
    t0 = time.perf_counter()
    result = run_incremental_step(model_cfg, cfg, get_method("finetune"), MethodConfig("finetune"), data, classes)
    ckpt = result.checkpoint()
    sha = save_checkpoint(store, ckpt.state, ckpt.model_cfg, ckpt.group_sizes, ckpt.class_ids)
    ref.write_text(sha)
    log.info("base model trained in %.0f s on %d images, cached in %s", time.perf_counter() - t0, len(data), folder)
    return result.model.eval()
