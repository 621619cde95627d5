"""Convergence curve: validation mIoU after every epoch of one training step (``joint`` by default).

Trains one step of all classes of a folder dataset (``joint``: the upper bound of a class-incremental
run) on the product's training path (cached backbone taps when the backbone is frozen), evaluates
the whole validation split after each epoch, and prints and writes the curve. The learning-rate
schedule (poly decay) spans the whole run, so the value at epoch e of an E-epoch run is not the
final value of an e-epoch run; the last point is, and ``--epochs`` picks where the curve has
flattened.

Example (the CPU protocol of docs/benchmarks.md):
    python bench/converge.py --data ../shared/data/camvid --epochs 40 --threads 2 --out joint_curve.json
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
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--eval-every", type=int, default=1)
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
    p.add_argument("--eval-max-side", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default="curve.json")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    train, val = FolderDataset(args.data, "train"), FolderDataset(args.data, "val")
    names = {0: "background", **train.class_names}
    model_cfg = ModelConfig(output_stride=args.output_stride, embed_dim=args.embed_dim,
                            decoder_layers=args.decoder_layers, decoder_heads=4 if args.embed_dim % 8 else 8)
    train_cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, crop_size=args.crop,
                            encoder_lr_mult=args.encoder_lr_mult, cache_features=args.cache, seed=args.seed,
                            scales=tuple(float(s) for s in args.scales.split(",")), flip=not args.no_flip,
                            device=args.device)
    tmp = tempfile.TemporaryDirectory(prefix="incseg-curve-")
    cache = FeatureCache(tmp.name, max_memory_bytes=2 << 30)
    device = select_device(args.device)
    curve: list[dict] = []
    started = time.perf_counter()

    def epoch_end(epoch: int, model: torch.nn.Module) -> None:
        if epoch % args.eval_every and epoch != args.epochs:
            return
        t0 = time.perf_counter()
        ids = (0, *sorted(train.class_names))
        cm = evaluate(model, val, ids, device, max_side=args.eval_max_side or None, feature_cache=cache)
        scores = step_scores(cm, [], list(range(len(ids))))
        ious = class_ious(cm, ids)
        curve.append({"epoch": epoch, "miou": scores["all"], "per_class": {names[c]: v for c, v in ious.items()},
                      "seconds": time.perf_counter() - started, "eval_seconds": time.perf_counter() - t0})
        print(f"epoch {epoch:3d}: val mIoU {100 * scores['all']:.1f} ({time.perf_counter() - started:.0f} s)",
              flush=True)

    method = get_method(args.method)
    result = run_incremental_step(model_cfg, train_cfg, method, MethodConfig(args.method), train,
                                  sorted(train.class_names), feature_cache=cache, epoch_end=epoch_end)
    out = {"args": vars(args), "curve": curve, "best": max(curve, key=lambda r: r["miou"]) if curve else None,
           "epoch_losses": result.epoch_losses, "train_seconds": result.seconds,
           "images_per_second": result.images_per_second,
           "feature_path": result.feature_path, "feature_cache": vars(cache.stats),
           "wall_seconds": time.perf_counter() - started, "loadavg": os.getloadavg(), "torch": torch.__version__}
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
