"""Where a training step's time goes, how much the product loop costs over a bare PyTorch loop, what
the feature cache buys, and how many bytes a version adds.

For one base step (finetune) and one increment (``--method``, MiB by default) of a ``N-M`` split on a
folder dataset, with the backbone frozen, on the pixel path ("uncached": every iteration runs the
backbone on its crops, and the old model runs whole) and on the cached-feature path ("cached": the
backbone ran once per image view; both models run neck + decoder on the cached taps):

* images/s of the product's step (``training.step.prepare_step`` + ``loop.train_step``), measured
  ``--repeats`` times, interleaved so that both paths see the same machine load (median reported);
* a ``torch.profiler`` breakdown of an iteration into the loop's ranges: data (reading, augmenting,
  cached taps), encoder, decoder (neck + decoder of the current model), old_model, losses, backward,
  optimiser;
* the loop overhead ratio: the product loop's images/s ÷ a bare loop's (model, cross-entropy,
  backward, AdamW step) on the same model, batches and optimiser, base step, both paths;
* the bytes a version stores: a full checkpoint, and what the increment's checkpoint adds to its
  parent's blobs (content-addressed tensors: the frozen backbone is shared).

Speed is measured on a seeded random subset of each step's images (``--images``); the views of those
images are encoded into the cache first (reported as "prefill"), so "cached" is the steady state of a
step whose images were seen before (the increment after its base step, any later epoch).

Example (the issue's measurement interface):
    python bench/engine.py --data ../shared/data/camvid --split 6-5 --threads 2 --out engine.json
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ciss import parse_split  # noqa: E402

from incseg_app.domain.config import MethodConfig, ModelConfig, TrainConfig
from incseg_app.methods.registry import get_method
from incseg_app.training.checkpoint import save_checkpoint
from incseg_app.training.data import SubsetDataset, images_with_classes
from incseg_app.training.featcache import FeatureCache
from incseg_app.training.folder import FolderDataset
from incseg_app.training.loop import build_optimizer, set_train_mode, train_step
from incseg_app.training.step import prepare_step, run_incremental_step

RANGES = ("data", "encoder", "decoder", "old_model", "losses", "backward", "optimiser")


class MemoryBlobs:
    """A dict blob store (``training.checkpoint.BlobStore``) that counts bytes."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put_bytes(self, data: bytes) -> str:
        import hashlib
        sha = hashlib.sha256(data).hexdigest()
        self.blobs[sha] = data
        return sha

    def get_bytes(self, sha256: str) -> bytes:
        return self.blobs[sha256]

    def exists(self, sha256: str) -> bool:
        return sha256 in self.blobs


def subset(data: FolderDataset, classes: list[int], n: int, seed: int) -> SubsetDataset:
    """A seeded random sample of ``n`` images that show one of ``classes`` (never a name-order prefix)."""
    pool = images_with_classes(data, classes)
    return SubsetDataset(data, sorted(random.Random(seed).sample(pool, min(n, len(pool)))))


def prefill(cfg: TrainConfig, model_cfg: ModelConfig, data: SubsetDataset, classes: list[int],
            cache: FeatureCache) -> dict[str, float]:
    """Encode every training view of ``data`` into ``cache``; returns views, seconds and bytes."""
    prep = prepare_step(model_cfg, cfg, get_method("finetune"), MethodConfig("finetune"), data, classes,
                        feature_cache=cache)
    views = prep.loader.dataset.aug.views
    start = time.perf_counter()
    for i in range(len(data)):
        for view in views:
            prep.taps.view_taps(data[i], view)
    seconds = time.perf_counter() - start
    return {"views": len(data) * len(views), "seconds": seconds, "views_per_second": len(data) * len(views) / seconds,
            "cache_bytes": cache.memory_bytes}


def step_speed(cfg: TrainConfig, model_cfg: ModelConfig, method: str, data: SubsetDataset, classes: list[int],
               parent: Any, cache: FeatureCache) -> float:
    """Images/s of one product step of ``cfg.max_iters`` iterations (after one warm-up iteration)."""
    warm = run_incremental_step(model_cfg, replace(cfg, max_iters=1), get_method(method), MethodConfig(method), data,
                                classes, parent, feature_cache=cache)
    del warm
    result = run_incremental_step(model_cfg, cfg, get_method(method), MethodConfig(method), data, classes, parent,
                                  feature_cache=cache)
    return result.images_per_second


def profile_step(cfg: TrainConfig, model_cfg: ModelConfig, method: str, data: SubsetDataset, classes: list[int],
                 parent: Any, cache: FeatureCache) -> dict[str, Any]:
    """Milliseconds per iteration in each loop range (``RANGES``) under ``torch.profiler``."""
    from torch.profiler import ProfilerActivity, profile

    prep = prepare_step(model_cfg, cfg, get_method(method), MethodConfig(method), data, classes, parent,
                        feature_cache=cache)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        result = train_step(prep.run, prep.parts, prep.loader)
    totals = {k: 0.0 for k in RANGES}
    for event in prof.key_averages():
        if event.key in totals:
            totals[event.key] += event.cpu_time_total / 1000.0
    iters = max(result.iterations, 1)
    per_iter = {k: round(v / iters, 2) for k, v in totals.items()}
    wall = result.seconds * 1000.0 / iters
    return {"ms_per_iteration": per_iter, "wall_ms_per_iteration": round(wall, 2),
            "share": {k: round(v / wall, 3) for k, v in per_iter.items()}, "iterations": iters}


def bare_loop_speed(prep: Any, iterations: int) -> float:
    """Images/s of a bare PyTorch loop (forward, cross-entropy, backward, AdamW) on a prepared step."""
    run, cfg = prep.run, prep.run.train
    model, device = run.model, run.device
    optimizer = build_optimizer(model, [], cfg.lr, cfg.encoder_lr_mult, cfg.weight_decay)
    set_train_mode(model, freeze_bn=True, freeze_backbone=cfg.encoder_lr_mult == 0)
    done, start = 0, time.perf_counter()
    for epoch in range(cfg.epochs):
        for batch in prep.loader.epoch(epoch):
            batch = batch.to(device)
            size = batch.labels.shape[-2:]
            if batch.images is None:
                logits = model.forward_taps([t.float() for t in batch.taps], size).logits
            else:
                logits = model(batch.images).logits
            loss = F.cross_entropy(logits, batch.labels, ignore_index=255)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            done += 1
            if done >= iterations:
                return done * prep.loader.batch_size / (time.perf_counter() - start)
    return done * prep.loader.batch_size / (time.perf_counter() - start)


def overhead(cfg: TrainConfig, model_cfg: ModelConfig, data: SubsetDataset, classes: list[int],
             cache: FeatureCache, repeats: int) -> dict[str, Any]:
    """Product loop ÷ bare loop images/s (base step, finetune), interleaved ``repeats`` times."""
    product, bare = [], []
    for _ in range(repeats):
        prep = prepare_step(model_cfg, cfg, get_method("finetune"), MethodConfig("finetune"), data, classes,
                            feature_cache=cache)
        product.append(train_step(prep.run, prep.parts, prep.loader).images_per_second)
        prep = prepare_step(model_cfg, cfg, get_method("finetune"), MethodConfig("finetune"), data, classes,
                            feature_cache=cache)
        bare.append(bare_loop_speed(prep, cfg.max_iters))
    return {"product_img_s": statistics.median(product), "bare_img_s": statistics.median(bare),
            "ratio": statistics.median(product) / statistics.median(bare), "product_runs": product,
            "bare_runs": bare}


def version_bytes(base: Any, increment: Any) -> dict[str, int]:
    """Bytes of the base's full checkpoint and bytes the increment's checkpoint adds to it (saved with its
    parent, as the product saves it)."""
    store = MemoryBlobs()
    ck = base.checkpoint()
    parent = save_checkpoint(store, ck.state, ck.model_cfg, ck.group_sizes, ck.class_ids)
    full = sum(len(b) for b in store.blobs.values())
    before = set(store.blobs)
    ck = increment.checkpoint()
    save_checkpoint(store, ck.state, ck.model_cfg, ck.group_sizes, ck.class_ids, parent=parent)
    added = sum(len(b) for sha, b in store.blobs.items() if sha not in before)
    return {"full": full, "increment": added}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="dataset root with classes.json and split folders")
    p.add_argument("--split", default="6-5", help="N-M class-incremental split (base step and first increment)")
    p.add_argument("--method", default="mib", help="method of the measured increment")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--crop", type=int, default=192)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--iters", type=int, default=16, help="iterations per speed measurement")
    p.add_argument("--profile-iters", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3, help="interleaved measurements per path (median)")
    p.add_argument("--images", type=int, default=48, help="seeded random images per step for the speed runs")
    p.add_argument("--base-iters", type=int, default=30, help="iterations of the parent base step")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="engine.json")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    train = FolderDataset(args.data, "train")
    steps = parse_split(args.split, sorted(train.class_names))
    base_cls, inc_cls = steps[0], steps[1]
    base_data = subset(train, base_cls, args.images, args.seed)
    inc_data = subset(train, inc_cls, args.images, args.seed + 1)
    model_cfg = ModelConfig()
    cfg = TrainConfig(epochs=100, batch_size=args.batch_size, crop_size=args.crop, encoder_lr_mult=0.0,
                      max_iters=args.iters, seed=args.seed, device="cpu")
    tmp = tempfile.TemporaryDirectory(prefix="incseg-engine-")
    cache = FeatureCache(tmp.name, max_memory_bytes=3 << 30)
    fill = {"base": prefill(cfg, model_cfg, base_data, base_cls, cache),
            "increment": prefill(cfg, model_cfg, inc_data, inc_cls, cache)}
    print(f"prefill: {fill}", flush=True)
    base = run_incremental_step(model_cfg, replace(cfg, max_iters=args.base_iters), get_method("finetune"),
                                MethodConfig("finetune"), base_data, base_cls, feature_cache=cache)
    parent = base.checkpoint()
    paths = {"uncached": replace(cfg, cache_features=False), "cached": cfg}
    speeds: dict[str, dict[str, list[float]]] = {"base": {k: [] for k in paths}, "increment": {k: [] for k in paths}}
    for r in range(args.repeats):
        for name, path_cfg in paths.items():
            speeds["base"][name].append(step_speed(path_cfg, model_cfg, "finetune", base_data, base_cls, None, cache))
            speeds["increment"][name].append(
                step_speed(path_cfg, model_cfg, args.method, inc_data, inc_cls, parent, cache))
            print(f"repeat {r}: {name}: base {speeds['base'][name][-1]:.1f} img/s, "
                  f"increment {speeds['increment'][name][-1]:.1f} img/s", flush=True)
    median = {step: {k: statistics.median(v) for k, v in by.items()} for step, by in speeds.items()}
    profile = {}
    for name, path_cfg in paths.items():
        pcfg = replace(path_cfg, max_iters=args.profile_iters)
        profile[f"base/{name}"] = profile_step(pcfg, model_cfg, "finetune", base_data, base_cls, None, cache)
        profile[f"increment/{name}"] = profile_step(pcfg, model_cfg, args.method, inc_data, inc_cls, parent, cache)
    over = {name: overhead(path_cfg, model_cfg, base_data, base_cls, cache, args.repeats)
            for name, path_cfg in paths.items()}
    increment = run_incremental_step(model_cfg, cfg, get_method(args.method), MethodConfig(args.method), inc_data,
                                     inc_cls, parent, feature_cache=cache)
    out = {"increment_img_s": median["increment"], "overhead_ratio": min(o["ratio"] for o in over.values()),
           "profile": profile, "bytes_per_version": version_bytes(base, increment),
           "base_img_s": median["base"], "speedup": {k: median[k]["cached"] / median[k]["uncached"] for k in median},
           "runs_img_s": speeds, "overhead": over, "prefill": fill, "feature_cache": vars(cache.stats),
           "args": vars(args), "torch": torch.__version__, "threads": torch.get_num_threads(),
           "loadavg": {"start": load_start, "end": os.getloadavg()}}
    print_tables(out)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"\nwrote {args.out}")
    return 0


def print_tables(out: dict[str, Any]) -> None:
    print("\n| step | uncached img/s | cached img/s | speed-up |\n|---|---|---|---|")
    for step, key in (("base (finetune)", "base_img_s"), (f"increment ({out['args']['method']})", "increment_img_s")):
        u, c = out[key]["uncached"], out[key]["cached"]
        print(f"| {step} | {u:.1f} | {c:.1f} | {c / u:.2f}× |")
    print("\n| profile (ms / iteration) | " + " | ".join(RANGES) + " | wall |")
    print("|---|" + "---|" * (len(RANGES) + 1))
    for name, prof in out["profile"].items():
        cells = " | ".join(f"{prof['ms_per_iteration'][k]:.0f}" for k in RANGES)
        print(f"| {name} | {cells} | {prof['wall_ms_per_iteration']:.0f} |")
    print("\n| loop | product img/s | bare img/s | ratio |\n|---|---|---|---|")
    for name, o in out["overhead"].items():
        print(f"| base, {name} | {o['product_img_s']:.1f} | {o['bare_img_s']:.1f} | {o['ratio']:.3f} |")
    b = out["bytes_per_version"]
    print(f"\nbytes: full checkpoint {b['full']:,}, increment adds {b['increment']:,} "
          f"({100 * b['increment'] / b['full']:.1f} %)")


if __name__ == "__main__":
    sys.exit(main())
