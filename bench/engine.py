"""Where a training step's time goes, how much the product loop costs over a bare PyTorch loop, what
the feature cache buys, and how many bytes a version adds.

For one base step (finetune) and one increment (``--method``, MiB by default) of an ``N-M`` split on a
folder dataset, backbone frozen, three paths are timed, interleaved ``--repeats`` times so that they
share the machine's load (medians reported):

* "reference": the pixel path with the stride-8 model, i.e. how every step ran before the cached path
  (backbone on every crop; the increment's old model run whole) — the "today" of issue 13;
* "uncached_same_model": the pixel path of the product's default model (``--output-stride``);
* "cached": the product default, backbone taps computed once per image view, both models running
  only their neck + decoder on them.

Images/s are wall-clock over iterations 2..N of a product step (``prepare_step`` + ``train_step`` with
a progress callback, as the services run it); process CPU time per image is recorded too (with
``--threads 1`` it is what an idle machine would spend, whatever else runs). Then:

* a ``torch.profiler`` breakdown of an iteration into the loop's ranges: data (reading, augmenting,
  cached taps), encoder, decoder (neck + decoder of the current model), old_model, losses, backward,
  optimiser;
* the loop overhead ratio: product loop images/s ÷ a bare loop's (model, cross-entropy, backward,
  AdamW) on the same prepared model, batches and optimiser settings (base step, both paths);
* storage: bytes of a full checkpoint and bytes an increment (``--storage-epochs`` over all its images)
  adds to its parent when saved as the product saves it, with the validation mIoU of that increment
  before and after its weights are rounded to parent + bfloat16 difference.

Speed is measured on a seeded random subset of each step's images (``--images``) whose views are first
encoded into the cache (reported as "prefill"), so "cached" is the steady state of a step whose images
were seen before (an increment after its base step, any epoch after the first).

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
from incseg_app.services.ml_settings import MLSettings
from incseg_app.training.checkpoint import save_checkpoint
from incseg_app.training.data import SubsetDataset, images_with_classes
from incseg_app.training.deltas import round_to_parent
from incseg_app.training.evaluate import evaluate
from incseg_app.training.featcache import FeatureCache
from incseg_app.training.folder import FolderDataset
from incseg_app.training.loop import build_optimizer, set_train_mode, train_step
from incseg_app.training.metrics import step_scores
from incseg_app.training.step import prepare_step, run_incremental_step, select_device

RANGES = ("data", "encoder", "decoder", "old_model", "losses", "backward", "optimiser")
REFERENCE_STRIDE = 8  # the feature stride of the model every benchmark used before the cached path
DEFINITIONS = {
    "increment_img_s.uncached": "training images/s of an increment on the pixel path as the benchmarks ran it before "
                                "this engine work: the reference model (stride-8 features), backbone run on every "
                                "crop, the old model run whole",
    "increment_img_s.cached": "the product default: cached backbone taps, neck + decoder of both models only",
    "increment_img_s.uncached_same_model": "the pixel path of the product's default model",
    "overhead_ratio": "min over paths of product loop img/s / bare PyTorch loop img/s (base step, finetune)",
    "bytes_per_version.increment": "bytes a frozen-backbone increment adds to its parent's blobs",
}


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


class Clock:
    """Wall and process-CPU time at the end of every iteration; rates skip the first (warm-up) iteration."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size, self.wall, self.cpu = batch_size, [], []

    def tick(self, *_: Any) -> None:
        self.wall.append(time.perf_counter())
        self.cpu.append(time.process_time())

    def images_per_second(self) -> float:
        return (len(self.wall) - 1) * self.batch_size / (self.wall[-1] - self.wall[0])

    def cpu_ms_per_image(self) -> float:
        return 1000 * (self.cpu[-1] - self.cpu[0]) / ((len(self.cpu) - 1) * self.batch_size)


def step_speed(cfg: TrainConfig, model_cfg: ModelConfig, method: str, data: SubsetDataset, classes: list[int],
               parent: Any, cache: FeatureCache) -> Clock:
    """Per-iteration times of one product step of ``cfg.max_iters`` iterations (``prepare_step`` +
    ``train_step`` with a progress callback, as the services run it)."""
    prep = prepare_step(model_cfg, cfg, get_method(method), MethodConfig(method), data, classes, parent,
                        feature_cache=cache)
    clock = Clock(prep.loader.batch_size)
    train_step(prep.run, prep.parts, prep.loader, progress=clock.tick)
    return clock


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


def bare_loop_speed(prep: Any, iterations: int) -> Clock:
    """Per-iteration times of a bare PyTorch loop (forward, cross-entropy, backward, AdamW) on a prepared step."""
    run, cfg = prep.run, prep.run.train
    model, device = run.model, run.device
    optimizer = build_optimizer(model, [], cfg.lr, cfg.encoder_lr_mult, cfg.weight_decay)
    set_train_mode(model, freeze_bn=True, freeze_backbone=cfg.encoder_lr_mult == 0)
    clock = Clock(prep.loader.batch_size)
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
            clock.tick()
            if len(clock.wall) >= iterations:
                return clock
    return clock


def overhead(cfg: TrainConfig, model_cfg: ModelConfig, data: SubsetDataset, classes: list[int],
             cache: FeatureCache, repeats: int) -> dict[str, Any]:
    """Product loop ÷ bare loop images/s (base step, finetune, same prepared model, batches and optimiser
    settings), interleaved ``repeats`` times; medians."""
    product, bare = [], []
    for _ in range(repeats):
        product.append(step_speed(cfg, model_cfg, "finetune", data, classes, None, cache).images_per_second())
        prep = prepare_step(model_cfg, cfg, get_method("finetune"), MethodConfig("finetune"), data, classes,
                            feature_cache=cache)
        bare.append(bare_loop_speed(prep, cfg.max_iters).images_per_second())
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


def storage_check(base: Any, model_cfg: ModelConfig, cfg: TrainConfig, method: str, data: SubsetDataset,
                  classes: list[int], cache: FeatureCache, val: FolderDataset) -> dict[str, Any]:
    """Bytes per version, and the validation mIoU of the increment before and after its weights are
    rounded to parent + bfloat16 difference (what compact storage keeps)."""
    parent = base.checkpoint()
    exact = run_incremental_step(model_cfg, replace(cfg, delta_weights=False), get_method(method),
                                 MethodConfig(method), data, classes, parent, feature_cache=cache)
    ids, device = exact.class_ids, select_device(cfg.device)
    miou_exact = step_scores(evaluate(exact.model, val, ids, device, feature_cache=cache), [], range(len(ids)))["all"]
    exact.model.load_state_dict(round_to_parent(exact.model.state_dict(), parent.state))
    miou_rounded = step_scores(evaluate(exact.model, val, ids, device, feature_cache=cache), [], range(len(ids)))["all"]
    return {"bytes_per_version": version_bytes(base, exact), "val_miou_exact": miou_exact,
            "val_miou_rounded": miou_rounded, "val_images": len(val), "iterations": exact.iterations}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="dataset root with classes.json and split folders")
    p.add_argument("--split", default="6-5", help="N-M class-incremental split (base step and first increment)")
    p.add_argument("--method", default="mib", help="method of the measured increment")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--crop", type=int, default=192)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--output-stride", type=int, default=MLSettings().model.output_stride,
                   help="feature stride of the measured model (default: the product's)")
    p.add_argument("--reference-stride", type=int, default=REFERENCE_STRIDE,
                   help="feature stride of the reference model: the pixel path as the benchmarks ran it before")
    p.add_argument("--iters", type=int, default=12, help="iterations per speed measurement")
    p.add_argument("--profile-iters", type=int, default=6)
    p.add_argument("--repeats", type=int, default=3, help="interleaved measurements per path (median)")
    p.add_argument("--images", type=int, default=48, help="seeded random images per step for the speed runs")
    p.add_argument("--base-iters", type=int, default=60, help="iterations of the parent base step")
    p.add_argument("--storage-epochs", type=int, default=2,
                   help="epochs (over all the increment's images) of the increment whose bytes are counted")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (the speed table is for one device)")
    p.add_argument("--out", default="engine.json")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    train, val_all = FolderDataset(args.data, "train"), FolderDataset(args.data, "val")
    steps = parse_split(args.split, sorted(train.class_names))
    base_cls, inc_cls = steps[0], steps[1]
    base_data = subset(train, base_cls, args.images, args.seed)
    inc_data = subset(train, inc_cls, args.images, args.seed + 1)
    models = {"reference": ModelConfig(output_stride=args.reference_stride),
              "default": ModelConfig(output_stride=args.output_stride)}
    cfg = TrainConfig(epochs=100, batch_size=args.batch_size, crop_size=args.crop, encoder_lr_mult=0.0,
                      max_iters=args.iters, seed=args.seed, device=args.device)
    tmp = tempfile.TemporaryDirectory(prefix="incseg-engine-")
    cache = FeatureCache(tmp.name, max_memory_bytes=3 << 30)
    fill = {"base": prefill(cfg, models["default"], base_data, base_cls, cache),
            "increment": prefill(cfg, models["default"], inc_data, inc_cls, cache)}
    print(f"prefill: {fill}", flush=True)
    bases = {name: run_incremental_step(mc, replace(cfg, max_iters=args.base_iters), get_method("finetune"),
                                        MethodConfig("finetune"), base_data, base_cls, feature_cache=cache)
             for name, mc in models.items()}
    paths = {"reference": (models["reference"], replace(cfg, crop_space="pixels"), "reference"),
             "uncached_same_model": (models["default"], replace(cfg, crop_space="pixels"), "default"),
             "cached": (models["default"], cfg, "default")}
    speeds: dict[str, dict[str, list[float]]] = {"base": {k: [] for k in paths}, "increment": {k: [] for k in paths}}
    cpu: dict[str, dict[str, list[float]]] = {"base": {k: [] for k in paths}, "increment": {k: [] for k in paths}}
    for r in range(args.repeats):
        for name, (mc, path_cfg, parent_of) in paths.items():
            for step, method, data, classes, parent in (
                    ("base", "finetune", base_data, base_cls, None),
                    ("increment", args.method, inc_data, inc_cls, bases[parent_of].checkpoint())):
                clock = step_speed(path_cfg, mc, method, data, classes, parent, cache)
                speeds[step][name].append(clock.images_per_second())
                cpu[step][name].append(clock.cpu_ms_per_image())
            print(f"repeat {r}: {name}: base {speeds['base'][name][-1]:.1f} img/s, "
                  f"increment {speeds['increment'][name][-1]:.1f} img/s", flush=True)
    median = {step: {k: statistics.median(v) for k, v in by.items()} for step, by in speeds.items()}
    cpu_median = {step: {k: statistics.median(v) for k, v in by.items()} for step, by in cpu.items()}
    profile = {}
    for name, (mc, path_cfg, parent_of) in paths.items():
        pcfg = replace(path_cfg, max_iters=args.profile_iters)
        profile[f"base/{name}"] = profile_step(pcfg, mc, "finetune", base_data, base_cls, None, cache)
        profile[f"increment/{name}"] = profile_step(pcfg, mc, args.method, inc_data, inc_cls,
                                                    bases[parent_of].checkpoint(), cache)
    over = {name: overhead(path_cfg, models["default"], base_data, base_cls, cache, args.repeats)
            for name, path_cfg in (("uncached", replace(cfg, crop_space="pixels")), ("cached", cfg))}
    inc_all = SubsetDataset(train, images_with_classes(train, inc_cls))
    storage = storage_check(bases["default"], models["default"], replace(cfg, max_iters=0, epochs=args.storage_epochs),
                            args.method, inc_all, inc_cls, cache, val_all)
    inc = median["increment"]
    out = {"increment_img_s": {"uncached": inc["reference"], "cached": inc["cached"],
                               "uncached_same_model": inc["uncached_same_model"]},
           "overhead_ratio": min(o["ratio"] for o in over.values()),
           "profile": profile, "bytes_per_version": storage["bytes_per_version"],
           "definitions": DEFINITIONS, "base_img_s": median["base"],
           "speedup": {"cached_vs_reference": inc["cached"] / inc["reference"],
                       "cached_vs_uncached_same_model": inc["cached"] / inc["uncached_same_model"]},
           "speedup_cpu_time": {
               "cached_vs_reference": cpu_median["increment"]["reference"] / cpu_median["increment"]["cached"],
               "cached_vs_uncached_same_model": (cpu_median["increment"]["uncached_same_model"]
                                                 / cpu_median["increment"]["cached"])},
           "cpu_ms_per_image": cpu_median, "runs_img_s": speeds, "runs_cpu_ms_per_image": cpu, "overhead": over, "storage": storage, "prefill": fill,
           "feature_cache": vars(cache.stats), "models": {k: vars(v) for k, v in models.items()},
           "args": vars(args), "torch": torch.__version__, "threads": torch.get_num_threads(),
           "loadavg": {"start": load_start, "end": os.getloadavg()}}
    print_tables(out)
    Path(args.out).write_text(json.dumps(out, indent=1, default=str))
    print(f"\nwrote {args.out}")
    return 0


def print_tables(out: dict[str, Any]) -> None:
    print(f"\n| step | reference (stride {out['args']['reference_stride']}, pixels) | uncached (same model) | "
          "cached | cached ÷ reference |\n|---|---|---|---|---|")
    for step, key in (("base (finetune)", "base_img_s"), (f"increment ({out['args']['method']})", None)):
        row = out["base_img_s"] if key else {"reference": out["increment_img_s"]["uncached"],
                                             "uncached_same_model": out["increment_img_s"]["uncached_same_model"],
                                             "cached": out["increment_img_s"]["cached"]}
        print(f"| {step} | {row['reference']:.1f} | {row['uncached_same_model']:.1f} | {row['cached']:.1f} | "
              f"{row['cached'] / row['reference']:.2f}× |")
    c = out["cpu_ms_per_image"]
    print("\nprocess CPU ms per training image (robust to other load; with one thread, the idle-machine cost):")
    for step in ("base", "increment"):
        print(f"  {step}: " + ", ".join(f"{k} {v:.1f}" for k, v in c[step].items()))
    print("\n| profile (ms / iteration) | " + " | ".join(RANGES) + " | wall |")
    print("|---|" + "---|" * (len(RANGES) + 1))
    for name, prof in out["profile"].items():
        cells = " | ".join(f"{prof['ms_per_iteration'][k]:.0f}" for k in RANGES)
        print(f"| {name} | {cells} | {prof['wall_ms_per_iteration']:.0f} |")
    print("\n| loop (base step, finetune) | product img/s | bare img/s | ratio |\n|---|---|---|---|")
    for name, o in out["overhead"].items():
        print(f"| {name} | {o['product_img_s']:.1f} | {o['bare_img_s']:.1f} | {o['ratio']:.3f} |")
    b, st = out["bytes_per_version"], out["storage"]
    print(f"\nbytes: full checkpoint {b['full']:,}, increment adds {b['increment']:,} "
          f"({100 * b['increment'] / b['full']:.1f} %); val mIoU of the increment {100 * st['val_miou_exact']:.2f} "
          f"exact, {100 * st['val_miou_rounded']:.2f} as stored")


if __name__ == "__main__":
    sys.exit(main())
