"""Pseudo-mask quality benchmark: how good are the masks made from image-level tags?

For the classes added in one step of a class-incremental split (CamVid ``6-5``: classes 7-11), every
train image containing at least one of them is tagged with the ones it contains (tags derived from the
ground truth), the pseudo-labeller runs (CLIP+SAM when weights are given, else the tag localiser and
superpixels), and the masks are scored against the ground truth restricted to background + the tagged
step classes (pixels of other classes count as background, void is ignored):

* mIoU over background + the step's classes, per-class IoU,
* precision of the confident pixels (pixels not marked unsure) and coverage (share of labelled
  pixels that are not unsure),
* images/s of labelling (the localiser's training time is reported separately).

Example (CPU, a few minutes):
    python bench/pseudo.py --data ../shared/data/camvid --split 6-5 --step 1 --max-images 120 --out pseudo.json
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ciss import parse_split  # noqa: E402

from incseg_app.domain.config import LabelingConfig, ModelConfig  # noqa: E402
from incseg_app.labeling import build_labeler  # noqa: E402
from incseg_app.models.build import ENCODER_BUILDERS  # noqa: E402
from incseg_app.training.folder import FolderDataset  # noqa: E402
from incseg_app.training.metrics import confusion_matrix, per_class_iou  # noqa: E402

IGNORE = 255


def step_items(data: FolderDataset, classes: list[int], limit: int | None) -> list[tuple[int, list[int]]]:
    """(index, tags among ``classes``) of images that contain at least one of them."""
    out = []
    for i in range(len(data)):
        present = set(np.unique(data[i]["mask"]).tolist())
        tags = [c for c in classes if c in present]
        if tags:
            out.append((i, tags))
        if limit and len(out) >= limit:
            break
    return out


def target(mask: np.ndarray, classes: list[int]) -> np.ndarray:
    """GT restricted to background (0) + ``classes`` (channels 1..K); void stays 255."""
    lut = np.zeros(256, dtype=np.int64)
    for k, c in enumerate(classes, start=1):
        lut[c] = k
    lut[IGNORE] = IGNORE
    return lut[mask]


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    data = FolderDataset(args.data, args.train_split)
    ids = sorted(data.class_names)
    classes = parse_split(args.split, ids)[args.step]
    items = step_items(data, classes, args.max_images)
    cfg = LabelingConfig(clip_model=args.clip_model, clip_pretrained=args.clip_pretrained,
                         sam_checkpoint=args.sam_checkpoint, sam_model_type=args.sam_model_type,
                         superpixels=args.superpixels, unsure_below=args.unsure_below)
    model_cfg = ModelConfig(encoder=args.encoder)
    labeler = build_labeler(cfg, lambda: ENCODER_BUILDERS[model_cfg.encoder](model_cfg))
    t0 = time.perf_counter()
    if labeler.needs_fit:
        tags = np.zeros((len(items), len(classes)), dtype=np.float32)
        for n, (_, t) in enumerate(items):
            tags[n, [classes.index(c) for c in t]] = 1
        labeler.fit([data[i]["image"] for i, _ in items], tags, classes, epochs=args.localizer_epochs)
    fit_s = time.perf_counter() - t0
    k = len(classes) + 1
    cm = torch.zeros(k, k, dtype=torch.int64)
    cm_all = torch.zeros(k, k, dtype=torch.int64)
    labelled = confident = 0
    t1 = time.perf_counter()
    for i, tags in items:
        item = data[i]
        names = [(c, (data.class_names[c].replace("_", " "),)) for c in tags]
        result = labeler.label(item["image"], names)
        gt = torch.from_numpy(target(item["mask"], classes))
        pred_ids = torch.from_numpy(target(result.labels, classes))
        valid = gt != IGNORE
        labelled += int(valid.sum())
        sure = valid & (pred_ids != IGNORE)
        confident += int(sure.sum())
        cm += confusion_matrix(pred_ids.masked_fill(~sure, IGNORE), gt.masked_fill(~sure, IGNORE), k)
        cm_all += confusion_matrix(pred_ids.masked_fill(pred_ids == IGNORE, 0), gt, k)
    label_s = time.perf_counter() - t1
    iou_sure, iou_all = per_class_iou(cm), per_class_iou(cm_all)
    names = ["background"] + [data.class_names[c] for c in classes]
    return {
        "split": args.split, "step": args.step, "classes": names[1:], "images": len(items),
        "sources": labeler.sources,
        "miou_all_pixels": float(np.nanmean(iou_all)), "miou_confident_pixels": float(np.nanmean(iou_sure)),
        "new_class_miou_all_pixels": float(np.nanmean(iou_all[1:])),
        "per_class_iou_all_pixels": {n: (None if np.isnan(v) else float(v)) for n, v in zip(names, iou_all)},
        "coverage": confident / max(labelled, 1),
        "localiser_fit_seconds": fit_s, "images_per_second": len(items) / max(label_s, 1e-9),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="folder with classes.json and <split>/images|labels")
    p.add_argument("--train-split", default="train")
    p.add_argument("--split", default="6-5")
    p.add_argument("--step", type=int, default=1, help="which step's classes to pseudo-label (1 = first increment)")
    p.add_argument("--max-images", type=int, default=None)
    p.add_argument("--encoder", default="efficientnet_lite0", help="encoder of the tag localiser fallback")
    p.add_argument("--localizer-epochs", type=int, default=None)
    p.add_argument("--clip-model", default="ViT-B-16")
    p.add_argument("--clip-pretrained", default="", help="open_clip tag or file; empty = tag localiser")
    p.add_argument("--sam-checkpoint", default="", help="SAM checkpoint; empty = superpixels")
    p.add_argument("--sam-model-type", default="vit_b")
    p.add_argument("--superpixels", type=int, default=200)
    p.add_argument("--unsure-below", type=float, default=0.4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = run(args)
    print(f"\npseudo-masks for step {args.step} of {args.split} ({', '.join(result['classes'])}), "
          f"{result['images']} images")
    print(f"sources: {result['sources']}")
    print(f"{'class':<14}{'IoU %':>8}")
    for name, iou in result["per_class_iou_all_pixels"].items():
        print(f"{name:<14}{'–' if iou is None else f'{100 * iou:.1f}':>8}")
    print(f"mIoU (all pixels, unsure = background) {100 * result['miou_all_pixels']:.1f}; "
          f"mIoU on confident pixels {100 * result['miou_confident_pixels']:.1f}; "
          f"coverage {100 * result['coverage']:.1f}%; {result['images_per_second']:.2f} images/s "
          f"(localiser fit {result['localiser_fit_seconds']:.0f} s)")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
