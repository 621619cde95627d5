"""Convergence curve: final validation mIoU of one training step (``joint`` by default) against its
epoch budget, and the curve inside each run.

For every budget E in ``--epochs`` (comma-separated) one step of all classes of a folder dataset
(``joint``: the upper bound of a class-incremental run) is trained from scratch for E epochs on the
product's training path (cached backbone taps when the backbone is frozen) and evaluated on the whole
validation split. The learning-rate schedule (poly decay) spans the whole run, so the value at epoch e
of an E-epoch run is not the final value of an e-epoch run: the budget curve (one run per budget) is
what says where training has converged; the in-run curve (every ``--eval-every`` epochs) shows its
shape.

Example (the CPU protocol of docs/benchmarks.md):
    python bench/converge.py --data ../shared/data/camvid --epochs 4,8,16,32,48,64 --threads 1 --out curve.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from incseg_app.domain.config import MethodConfig, ModelConfig, TrainConfig
from incseg_app.methods.registry import get_method
from incseg_app.services.ml_settings import MLSettings
from incseg_app.training.evaluate import evaluate
from incseg_app.training.featcache import FeatureCache
from incseg_app.training.folder import FolderDataset
from incseg_app.training.metrics import class_ious, step_scores
from incseg_app.training.step import run_incremental_step, select_device


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--method", default="joint")
    p.add_argument("--epochs", default="8,16,32,48", help="comma-separated epoch budgets, one run each")
    p.add_argument("--eval-every", type=int, default=0, help="in-run curve: evaluate every N epochs (0 = final only)")
    p.add_argument("--crop", type=int, default=192)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--scales", default="0.75,1.0,1.25", help="training view scales (comma-separated)")
    p.add_argument("--no-flip", action="store_true")
    p.add_argument("--output-stride", type=int, default=MLSettings().model.output_stride)
    p.add_argument("--embed-dim", type=int, default=128)
    p.add_argument("--decoder-layers", type=int, default=2)
    p.add_argument("--encoder-lr-mult", type=float, default=0.0)
    p.add_argument("--cache", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--cache-dir", default="", help="folder for the feature cache (default: a temporary folder)")
    p.add_argument("--eval-max-side", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default="curve.json")
    return p


def run_budget(args: argparse.Namespace, epochs: int, train: FolderDataset, val: FolderDataset,
               cache: FeatureCache) -> dict:
    """Train one step for ``epochs`` and return its final and in-run validation mIoU."""
    names = {0: "background", **train.class_names}
    ids = (0, *sorted(train.class_names))
    model_cfg = ModelConfig(output_stride=args.output_stride, embed_dim=args.embed_dim,
                            decoder_layers=args.decoder_layers, decoder_heads=4 if args.embed_dim % 8 else 8)
    train_cfg = TrainConfig(epochs=epochs, batch_size=args.batch_size, lr=args.lr, crop_size=args.crop,
                            encoder_lr_mult=args.encoder_lr_mult, cache_features=args.cache, seed=args.seed,
                            scales=tuple(float(s) for s in args.scales.split(",")), flip=not args.no_flip,
                            device=args.device)
    device = select_device(args.device)
    curve: list[dict] = []
    started = time.perf_counter()

    def score(model: torch.nn.Module) -> dict:
        cm = evaluate(model, val, ids, device, max_side=args.eval_max_side or None,
                      feature_cache=cache if args.cache else None)
        return {"miou": step_scores(cm, [], list(range(len(ids))))["all"],
                "per_class": {names[c]: v for c, v in class_ious(cm, ids).items()}}

    def epoch_end(epoch: int, model: torch.nn.Module) -> None:
        if args.eval_every and epoch % args.eval_every == 0 and epoch != epochs:
            curve.append({"epoch": epoch, **score(model), "seconds": time.perf_counter() - started})

    result = run_incremental_step(model_cfg, train_cfg, get_method(args.method), MethodConfig(args.method), train,
                                  sorted(train.class_names), feature_cache=cache, epoch_end=epoch_end)
    final = {"epoch": epochs, **score(result.model), "seconds": time.perf_counter() - started}
    curve.append(final)
    print(f"{epochs:3d} epochs: val mIoU {100 * final['miou']:.1f} (train {result.seconds:.0f} s)", flush=True)
    return {"epochs": epochs, "miou": final["miou"], "per_class": final["per_class"], "curve": curve,
            "epoch_losses": result.epoch_losses, "train_seconds": result.seconds,
            "images_per_second": result.images_per_second, "feature_path": result.feature_path}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    train, val = FolderDataset(args.data, "train"), FolderDataset(args.data, "val")
    tmp = tempfile.TemporaryDirectory(prefix="incseg-curve-")
    cache = FeatureCache(args.cache_dir or tmp.name, max_memory_bytes=2 << 30)
    started = time.perf_counter()
    budgets = [run_budget(args, int(e), train, val, cache) for e in args.epochs.split(",")]
    print("\n| epochs | val mIoU | train s |\n|---|---|---|")
    for b in budgets:
        print(f"| {b['epochs']} | {100 * b['miou']:.1f} | {b['train_seconds']:.0f} |")
    out = {"args": vars(args), "budgets": budgets, "feature_cache": vars(cache.stats),
           "wall_seconds": time.perf_counter() - started, "loadavg": os.getloadavg(), "torch": torch.__version__}
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
