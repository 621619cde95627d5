"""Pseudo-mask quality benchmark: how good, and how honest, are the masks made from image-level tags?

Protocol. For the classes added in step ``--step`` of the class-incremental split ``--split`` (CamVid
``6-5 --step 1``: sign_symbol, fence, car, pedestrian, bicyclist; ``0-20 --step 1`` makes every class of
a VOC-like folder new), every image of the folder ``--on`` (default ``train``; a folder without split
sub-folders, like the VOC samples, is used whole) that shows at least one of them is tagged with the
ones it shows (tags derived from the ground truth). ``--tiles 3`` first cuts every image into a 3×3
grid and tags each tile on its own (tags then vary between tiles). The product's labeller runs on the
whole tagged set: the weight-free co-segmentation (or CLIP+SAM when weights are given). With
``--old-evidence`` (the default, as the product runs it) a base model trained here on the split's
earlier classes (``finetune``, frozen ImageNet backbone, cached under ``--work``) supplies, per pixel,
its probability of the classes it knows.

Corrections. ``--corrections 0,3,10``: for each k a simulated user corrects masks until, for every new
class, k corrected masks show it (seeded random choice among the images showing it, never a
name-order prefix; a mask counts for every class it shows); the corrected masks are the ground
truth restricted to the step's classes. The labeller is refitted with them and relabels the rest.
**Scored images: the drafts, i.e. every tagged image except the corrected ones**, against the ground
truth restricted to background (0, every pixel of another class) + the step's classes; void is ignored.

Metrics (per k, tiles, old evidence):
* ``new_miou``: mean IoU over the step's classes in % (background excluded); unsure pixels are no
  prediction (they count as misses of their true class, and as nothing else);
* ``background_iou`` in %;
* ``confident_precision``: per class, the share of pixels labelled with it (not unsure) that are right;
* ``coverage``: the share of valid pixels that are not unsure;
* ``ece``: expected calibration error of the stored confidence, 15 equal-width bins over every valid
  pixel of the scored images. The stored confidence of a pixel is the labeller's probability that its
  most likely label (the one stored, or the one it would store were it not unsure) is the true
  label; ECE = Σ_b n_b/n · |accuracy_b − mean confidence_b| (0 = perfectly calibrated);
* ``reliability``: the reliability curve (10 bins: pixels, mean confidence, accuracy).

Example (CPU; the first run trains and caches the base model):
    python bench/pseudo.py --data ../shared/data/camvid --split 6-5 --step 1 --on train \
        --corrections 0,3,10 --seed 0 --out bench/results/pseudo_camvid_6-5.json
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pseudo_labeller import BenchLabeller  # noqa: E402
from pseudo_setup import base_model, open_folder, parse_steps, pick_corrections, step_tags, tile_items  # noqa: E402

log = logging.getLogger("bench.pseudo")
IGNORE = 255
REGIONS_VERSION = 4  # bump when the region extractor changes (invalidates the prepared-regions cache)


def restrict(mask: np.ndarray, classes: list[int]) -> np.ndarray:
    """GT over background (0) + ``classes`` (kept as their ids); every other class -> 0, void stays 255."""
    keep = np.isin(mask, classes) | (mask == IGNORE)
    return np.where(keep, mask, 0).astype(np.uint8)


class Scores:
    """Accumulates the metrics of one (k, tiles, old evidence) run over the scored images."""

    def __init__(self, classes: list[int]) -> None:
        self.classes = classes
        self.lut = np.full(256, len(classes) + 1, np.int64)  # unsure -> the extra "no prediction" column
        self.lut[0] = 0
        for i, c in enumerate(classes, start=1):
            self.lut[c] = i
        n = len(classes) + 1
        self.cm = np.zeros((n, n + 1), np.int64)  # rows: truth (bg + classes); cols: + unsure
        self.bins = {15: np.zeros((3, 15)), 10: np.zeros((3, 10))}  # [pixels, right, confidence sum] per bin

    def add(self, gt: np.ndarray, labels: np.ndarray, proposal: np.ndarray, confidence: np.ndarray) -> None:
        valid = gt != IGNORE
        t, p = self.lut[gt[valid]], self.lut[labels[valid]]
        np.add.at(self.cm, (t, p), 1)
        right = (proposal[valid] == gt[valid]).astype(np.float64)
        conf = np.clip(confidence[valid].astype(np.float64), 0, 1)
        for n, acc in self.bins.items():
            b = np.minimum((conf * n).astype(int), n - 1)
            acc[0] += np.bincount(b, minlength=n)
            acc[1] += np.bincount(b, weights=right, minlength=n)
            acc[2] += np.bincount(b, weights=conf, minlength=n)

    def result(self, names: list[str]) -> dict[str, Any]:
        cm = self.cm
        n = len(self.classes) + 1
        tp = np.diag(cm[:, :n]).astype(np.float64)
        iou = tp / np.maximum(cm.sum(1) + cm[:, :n].sum(0) - tp, 1)
        present = cm.sum(1) > 0
        labelled = cm[:, :n].sum(0)
        precision = {names[i]: (float(tp[i] / labelled[i]) if labelled[i] else None)
                     for i in range(1, n) if present[i] or labelled[i]}
        new = [iou[i] for i in range(1, n) if present[i]]
        ece, curve = self._calibration()
        return {"new_miou": 100 * float(np.mean(new)) if new else float("nan"),
                "background_iou": 100 * float(iou[0]), "ece": ece, "confident_precision": precision,
                "coverage": float(cm[:, :n].sum() / max(cm.sum(), 1)),
                "per_class_iou": {names[i]: 100 * float(iou[i]) for i in range(1, n) if present[i]},
                "reliability": curve, "pixels": int(cm.sum())}

    def _calibration(self) -> tuple[float, list[dict[str, Any]]]:
        """ECE over 15 equal-width bins (Guo et al. 2017, Eq. 3) and the 10-bin reliability curve."""
        pixels, right, conf = self.bins[15]
        ece = float(np.abs(right - conf).sum() / max(pixels.sum(), 1))
        pixels, right, conf = self.bins[10]
        curve = [{"low": b / 10, "high": (b + 1) / 10, "pixels": int(pixels[b]),
                  "confidence": float(conf[b] / pixels[b]) if pixels[b] else None,
                  "accuracy": float(right[b] / pixels[b]) if pixels[b] else None} for b in range(10)]
        return ece, curve


def prepared_cache(args: argparse.Namespace) -> Path | None:
    """Where the encoder passes of this data selection are cached (None with CLIP weights); the base
    model's evidence is stored beside the regions when it was computed."""
    if args.clip_pretrained:
        return None
    key = json.dumps([str(args.data.resolve()), args.on, args.split, args.step, args.tiles, args.max_images,
                      args.seed if args.max_images else None, True, args.base_epochs, args.base_seed, REGIONS_VERSION,
                      True])  # (the last field once told runs without the fine pass and the context apart)
    return args.work / f"prepared-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    data = open_folder(args.data, args.on)
    steps = parse_steps(args.split, sorted(data.class_names))
    classes = steps[args.step]
    old = [c for s in steps[:args.step] for c in s]
    names = ["background"] + [data.class_names[c] for c in classes]
    all_items = tile_items(data, args.tiles)
    tags = step_tags(all_items, classes)
    keep = [i for i, t in enumerate(tags) if t]
    if args.max_images:
        keep = sorted(np.random.default_rng(args.seed).permutation(keep)[:args.max_images].tolist())
    items, tags = [all_items[i] for i in keep], [tags[i] for i in keep]
    base = base_model(args.data, old, args.work, args.base_epochs, args.base_seed, args.threads) \
        if args.old_evidence and old else None
    labeller = BenchLabeller(args, data.class_names, base, old)
    t0 = time.perf_counter()
    labeller.prepare(items, prepared_cache(args))
    prep_s = time.perf_counter() - t0
    results = []
    for k in args.corrections:
        chosen = set(pick_corrections(tags, classes, k, args.seed)) if k else set()
        corrected = {i: restrict(items[i]["mask"], classes) for i in chosen}
        t1 = time.perf_counter()
        labeller.fit(items, tags, classes, corrected)
        fit_s = time.perf_counter() - t1
        scores = Scores(classes)
        t2 = time.perf_counter()
        drafts = [i for i in range(len(items)) if i not in chosen]
        for i in drafts:
            pm = labeller.label(items[i], tags[i])
            scores.add(restrict(items[i]["mask"], classes), pm.labels, pm.proposal, pm.confidence)
        label_s = time.perf_counter() - t2
        res = {"k": k, "tiles": args.tiles, "old_evidence": base is not None, **scores.result(names),
               "corrected_images": len(chosen), "scored_images": len(drafts), "fit_seconds": fit_s,
               "label_seconds": label_s, "images_per_second": len(drafts) / max(label_s, 1e-9)}
        results.append(res)
        print_row(res, names)
    return {"data": str(args.data), "on": args.on, "split": args.split, "step": args.step, "classes": names[1:],
            "images": len(items), "sources": labeller.sources, "seed": args.seed, "base_seed": args.base_seed,
            "head_ablation": args.head_ablation, "coseg_ablation": args.coseg_ablation,
            "prepare_seconds": prep_s, "loadavg": os.getloadavg(), "results": results}


def print_row(res: dict[str, Any], names: list[str]) -> None:
    ious = " ".join(f"{n[:8]}={res['per_class_iou'].get(n, float('nan')):.1f}" for n in names[1:])
    prec = " ".join(f"{n[:8]}={'–' if v is None else f'{100 * v:.0f}'}" for n, v in res["confident_precision"].items())
    print(f"k={res['k']:<3} tiles={res['tiles']} old={int(res['old_evidence'])}  new mIoU {res['new_miou']:.1f}  "
          f"bg {res['background_iou']:.1f}  ECE {res['ece']:.3f}  coverage {100 * res['coverage']:.0f}%\n"
          f"    IoU: {ious}\n    confident precision %: {prec}", flush=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, help="folder dataset (classes.json, <split>/images|labels)")
    p.add_argument("--split", default="6-5", help="N-M class-incremental split (N may be 0)")
    p.add_argument("--step", type=int, default=1, help="which step's classes are new (1 = first increment)")
    p.add_argument("--on", default="train", help="folder whose images are labelled (train, val)")
    p.add_argument("--corrections", default="0,3,10", type=lambda s: [int(x) for x in s.split(",") if x != ""],
                   help="comma list of k: corrected masks per new class")
    p.add_argument("--tiles", type=int, default=1, help="cut each image into an N×N grid, tags per tile")
    p.add_argument("--old-evidence", action=argparse.BooleanOptionalAction, default=True,
                   help="a base model on the earlier classes supplies P(known class) (as the product runs it)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-images", type=int, default=None, help="seeded random subset of the tagged images")
    p.add_argument("--base-epochs", type=int, default=16,
                   help="epochs of the base model (16: the CPU protocol's converged budget, docs/benchmarks.md)")
    p.add_argument("--base-seed", type=int, default=0,
                   help="seed of the base model's training (kept apart from --seed, which draws the subset, "
                        "the corrections and the labeller's folds, so a second --seed reuses the cached base model)")
    p.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / ".work",
                   help="cache folder for the base model")
    p.add_argument("--unsure-below", type=float, default=None, help="default: the product's setting")
    p.add_argument("--head-ablation", default="none", choices=["none", "no-balance", "no-self-training", "no-context",
                                                               "coarse", "no-temperature", "balance-1",
                                                               "no-anchors", "previous-default", "no-crf"],
                   help="drop one part of the correction head (docs/benchmarks.md's ablation; default: none)")
    p.add_argument("--coseg-ablation", default="none", choices=["none", "coarse", "top-0.05", "top-0.2", "l2-1e-3",
                                                                "no-self-training", "full-name-cue", "rho-times-p",
                                                                "no-bound", "binned-precision"],
                   help="change one choice of the k = 0 co-segmentation (docs/benchmarks.md's ablation; default: none)")
    p.add_argument("--clip-model", default="ViT-B-16")
    p.add_argument("--clip-pretrained", default="", help="open_clip tag or file; empty = weight-free path")
    p.add_argument("--sam-checkpoint", default="", help="SAM checkpoint; empty = superpixels")
    p.add_argument("--sam-model-type", default="vit_b")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=None)
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = run(args)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
