"""Click-to-refine quality without SAM: how much of a class region one click gets right.

The standard simulated-reviewer protocol of interactive segmentation (Xu et al., CVPR 2016; RITM,
Sofiiuk et al., 2022): for every class covering at least 1 % of an image, start from an empty mask and
click up to ``--clicks`` times; each click goes to the interior point (farthest from the border) of the
largest error region — positive where the class is missing, negative where it is wrong — and the IoU
with the ground truth (void ignored) is recorded after each click. Reported per method: mean IoU after
1, 3, 5 and 10 clicks, and NoC@85 / NoC@90 (clicks to reach that IoU; ``clicks + 1`` when never).

Methods: the old fallback (each click adds or removes one SLIC superpixel), and the region hierarchy of
``labeling/click_regions.py`` at its three scales, with ablations of its two design choices
(size-aware merging, the colour term). Tune on ``train``, report on ``val``.

    python bench/click_regions.py --data ../shared/data/camvid --on val --images 24 --out bench/results/click_regions.json
"""
from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from incseg_app.labeling.click_regions import SCALES, HierarchyOptions, build_hierarchy, click_edit
from incseg_app.labeling.superpixels import SuperpixelRefiner

DEFAULT = HierarchyOptions()
VARIANTS = {"hierarchy": DEFAULT, "no size-aware merging": replace(DEFAULT, size_power=0.0),
            "no colour term": replace(DEFAULT, colour_weight=0.0)}
KS = (1, 3, 5, 10)


def next_click(pred: np.ndarray, target: np.ndarray, valid: np.ndarray) -> tuple[int, int, bool] | None:
    """(x, y, positive) at the interior of the largest error region, or None when there is no error."""
    best = None
    for error, positive in ((target & ~pred & valid, True), (pred & ~target & valid, False)):
        if not error.any():
            continue
        labels, _ = ndimage.label(error)
        sizes = np.bincount(labels.ravel())[1:]
        region = labels == 1 + int(sizes.argmax())
        depth = ndimage.distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]
        y, x = np.unravel_index(int(depth.argmax()), depth.shape)
        if best is None or sizes.max() > best[0]:
            best = (int(sizes.max()), int(x), int(y), positive)
    return None if best is None else best[1:]


def session(edit, shape: tuple[int, int], target: np.ndarray, valid: np.ndarray, clicks: int) -> list[float]:
    """IoU after each click of one simulated session; ``edit(points)`` returns the class's new region."""
    region, points, ious = np.zeros(shape, bool), [], []
    for _ in range(clicks):
        click = next_click(region, target, valid)
        if click is None:
            ious.append(1.0)
            continue
        points.append(click)
        region = edit(points)
        p = region & valid
        ious.append(float((p & target).sum() / max((p | target).sum(), 1)))
    return ious


def methods(image: np.ndarray) -> dict:
    """Method name -> edit(points) -> H×W bool region of class 1, all starting from an empty mask."""
    empty = np.zeros(image.shape[:2], np.uint8)
    sp = SuperpixelRefiner(200)
    out = {"one superpixel per click (old)": lambda pts: sp.click(image, empty, 1, pts) == 1}
    for name, opts in VARIANTS.items():
        tree = build_hierarchy(image, opts)
        scales = SCALES.items() if name == "hierarchy" else [("medium", SCALES["medium"])]
        for scale, k in scales:
            out[f"{name}, {scale}"] = (lambda t, n: lambda pts: click_edit(t, empty, 1, pts, n) == 1)(tree, k)
    return out


def summarise(curves: list[list[float]], clicks: int) -> dict:
    arr = np.array(curves)
    noc = {t: float(np.mean([next((i + 1 for i, v in enumerate(c) if v >= t), clicks + 1) for c in arr]))
           for t in (0.85, 0.9)}
    return {**{f"iou@{k}": round(float(arr[:, k - 1].mean()), 4) for k in KS if k <= clicks},
            "noc@85": round(noc[0.85], 2), "noc@90": round(noc[0.9], 2), "sessions": len(curves)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/camvid"))
    parser.add_argument("--on", default="val", help="dataset folder of the images (tune on train, report val)")
    parser.add_argument("--images", type=int, default=24, help="seeded random subset size")
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    files = sorted((args.data / args.on / "images").glob("*"))
    rng = np.random.default_rng(args.seed)
    files = [files[i] for i in sorted(rng.choice(len(files), min(args.images, len(files)), replace=False))]
    curves: dict[str, list[list[float]]] = {}
    start = time.perf_counter()
    for path in files:
        image = np.asarray(Image.open(path).convert("RGB"))
        gt = np.asarray(Image.open(args.data / args.on / "labels" / f"{path.stem}.png"))
        valid = gt != 255
        edits = methods(image)
        for cid in np.unique(gt[valid]):
            target = gt == cid
            if target.mean() < 0.01:
                continue
            for name, edit in edits.items():
                curves.setdefault(name, []).append(session(edit, gt.shape, target, valid, args.clicks))
    results = {name: summarise(c, args.clicks) for name, c in curves.items()}
    out = {"results": results, "data": str(args.data), "on": args.on, "images": len(files), "seed": args.seed,
           "clicks": args.clicks, "seconds": round(time.perf_counter() - start, 1),
           "loadavg": [round(x, 2) for x in os.getloadavg()]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    print(f"{'method':36s} {'IoU@1':>6s} {'IoU@3':>6s} {'IoU@5':>6s} {'IoU@10':>6s} {'NoC85':>6s} {'NoC90':>6s}")
    for name, r in results.items():
        print(f"{name:36s} {r['iou@1']:6.3f} {r['iou@3']:6.3f} {r['iou@5']:6.3f} {r.get('iou@10', float('nan')):6.3f} "
              f"{r['noc@85']:6.2f} {r['noc@90']:6.2f}")


if __name__ == "__main__":
    main()
