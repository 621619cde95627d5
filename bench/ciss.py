"""Class-incremental segmentation benchmark on a folder dataset (overlapped CISS protocol).

Splits: ``N-M`` learns the first N classes (plus background), then M new classes per step until every
class is learned (CamVid ``6-5``: classes 1-6, then 7-11; ``6-1``: 1-6, then one per step). Each step
trains on the train images that contain at least one of its classes, with only its classes labelled
(everything else is background), and is evaluated on every eval image with the classes learned so far
(unlearned classes count as background). ``joint`` trains all classes at once for the passes of every
incremental step together and is scored against the last step's old/new split.

Protocol (what makes methods comparable):

* ``--seeds N`` runs everything with seeds ``--seed`` .. ``--seed + N - 1`` (model init, crops, order);
  the base step is trained once per seed (``finetune``, ``--shared-base``) and shared by every
  incremental run of that seed, so runs differ only in how they learn the increments.
* ``--max-images`` / ``--max-eval-images`` take a *seeded random* subset (``--subset-seed``), never a
  name-order prefix.
* Every method gets the same budget (``--epochs`` per step); the JSON holds every step's scores, old
  mIoU with and without background, per-class IoU and forgetting, each part's diagnostics
  (``parts``: GSC's step factors, pseudo-label rates, pasted instances), losses and timings, and a
  ``summary`` per run label: means over seeds of the last step, 0–100 (``ciss_report.SUMMARY_KEYS``).
* The FMWISS instance memory is carried from step to step; the shared base step's memory is collected
  from its (fully labelled) training images, as a base trained by FMWISS would have stored it.

Multi-GPU: ``torchrun --nproc_per_node N bench/ciss.py ...`` (``--batch-size`` is the global batch;
rank 0 evaluates and writes the results). Ablations: ``--parts-off gsc:gsc_relation`` (one extra run
per flag; ``+`` joins parts) or ``--config runs.json`` = ``[{"label", "method", "parts"}, ...]``.
Commands and numbers: ``docs/benchmarks.md``.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ciss_report import base_forgetting, pct, print_tables, scores, summarise  # noqa: E402
from weak import pseudo_dataset  # noqa: E402

from incseg_app.domain.config import CROP_SPACES, LabelingConfig, MethodConfig, ModelConfig, TrainConfig, from_dict
from incseg_app.domain.errors import ValidationError
from incseg_app.methods.fmwiss import CopyPasteOptions, InstanceMemory, collect_instances
from incseg_app.methods.parts import StepCarry
from incseg_app.methods.registry import METHODS, get_method
from incseg_app.services.ml_settings import MLSettings
from incseg_app.training.checkpoint import Checkpoint, build_from_checkpoint
from incseg_app.training.data import SubsetDataset, images_with_classes
from incseg_app.training.ddp import DistInfo, init_from_env
from incseg_app.training.evaluate import evaluate
from incseg_app.training.featcache import FeatureCache
from incseg_app.training.folder import FolderDataset
from incseg_app.training.metrics import class_ious, forgetting
from incseg_app.training.step import run_incremental_step, select_device

log = logging.getLogger("bench.ciss")


@dataclass
class RunSpec:
    """One benchmark run: a label, a registered method and its part overrides."""

    label: str
    method: str
    parts: dict[str, Any] = field(default_factory=dict)
    weak: bool = False  # increments see image-level tags only (pseudo-masks), FMWISS's setting


@dataclass
class Context:
    """What every run of one seed shares: data, configs, the shared base step and pseudo-masks."""

    train: Any
    val: Any
    names: dict[int, str]
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    args: argparse.Namespace
    dist_info: DistInfo | None
    features: FeatureCache | None = None  # backbone taps shared by every run and evaluation (--cache)
    shared: dict[str, Any] = field(default_factory=dict)
    pseudo: dict[tuple, Any] = field(default_factory=dict)


def parse_split(split: str, class_ids: list[int]) -> list[list[int]]:
    """"N-M" -> [[first N ids], [next M], ...]; the last step may hold fewer than M."""
    try:
        n, m = (int(x) for x in split.split("-"))
    except ValueError:
        raise ValidationError(f"split {split!r} must look like N-M, e.g. 6-5") from None
    if not 0 < n < len(class_ids) or m < 1:
        raise ValidationError(f"split {split!r}: need 0 < N < {len(class_ids)} classes and M >= 1")
    return [class_ids[:n]] + [class_ids[i:i + m] for i in range(n, len(class_ids), m)]


def parse_runs(args: argparse.Namespace) -> list[RunSpec]:
    """Runs from --methods, --weak/--weak-methods, --parts-off and --config."""
    names = [] if args.methods == "none" else args.methods.split(",") if args.methods else list(METHODS)
    runs = [RunSpec(n, get_method(n).name) for n in names]
    if args.weak:
        runs += [RunSpec(f"{n} (tags only)", get_method(n).name, weak=True) for n in args.weak_methods.split(",")]
    for flag in args.parts_off:
        method, _, parts = flag.partition(":")
        off = [p for p in parts.split("+") if p]
        get_method(method)
        runs.append(RunSpec(f"{method} -{'-'.join(off)}", method, {p: {"enabled": False} for p in off}))
    if args.config:
        for spec in json.loads(Path(args.config).read_text()):
            get_method(spec["method"])
            runs.append(RunSpec(spec.get("label", spec["method"]), spec["method"], dict(spec.get("parts", {})),
                                bool(spec.get("weak", False))))
    for spec in runs:  # refuse bad part options before hours of training
        get_method(spec.method).build(MethodConfig(spec.method, spec.parts))
    return runs


def random_subset(data: Any, n: int, seed: int) -> Any:
    """A seeded random subset of ``n`` items (all items when n is 0 or larger than the dataset)."""
    if not n or n >= len(data):
        return data
    keep = np.sort(np.random.default_rng(seed).choice(len(data), size=n, replace=False))
    return SubsetDataset(data, keep.tolist())


def base_memory(data: Any, class_ids: tuple[int, ...], options: CopyPasteOptions, seed: int) -> bytes:
    """The FMWISS memory a base step trained with FMWISS would have stored (instances of its classes)."""
    memory = InstanceMemory(options.capacity, options.policy, seed)
    collect_instances(memory, data, class_ids, tuple(range(1, len(class_ids))), options.min_area, options.max_side,
                      options.scan_limit)
    return memory.to_bytes()


def train_step(ctx: Context, spec: RunSpec, t: int, new: list[int], data: Any, parent: Checkpoint | None,
               carry: StepCarry, n_steps: int) -> Any:
    """One step of one run (the shared base step is trained once per seed and reused)."""
    method, args = get_method(spec.method), ctx.args
    shared = t == 0 and not method.joint and args.shared_base
    if shared and "base" in ctx.shared:
        return ctx.shared["base"]
    step_method, step_cfg = ((get_method("finetune"), MethodConfig("finetune")) if shared
                             else (method, MethodConfig(spec.method, spec.parts)))
    step_train = ctx.train_cfg
    if method.joint:  # the upper bound gets the passes of every incremental step together
        step_train = replace(ctx.train_cfg, epochs=args.joint_epochs or ctx.train_cfg.epochs * n_steps)
    result = run_incremental_step(ctx.model_cfg, step_train, step_method, step_cfg, data, new, parent,
                                  carry=carry, dist_info=ctx.dist_info, feature_cache=ctx.features)
    if shared:
        ctx.shared["base"] = result
        ctx.shared["base_data"] = data
    return result


def next_carry(ctx: Context, spec: RunSpec, t: int, result: Any, carry: StepCarry) -> StepCarry:
    """What the next step receives: the step's carry, the parent's when the step wrote none, and for
    the shared base step the memory its training images give (FMWISS runs only)."""
    if result.carry.memory is not None:
        return result.carry
    parts = MethodConfig(spec.method, spec.parts).parts.get("fmwiss_copypaste", {})
    if t == 0 and "fmwiss_copypaste" in get_method(spec.method).part_names and parts.get("enabled", True):
        key = "base_memory"
        if key not in ctx.shared:
            opts = from_dict(CopyPasteOptions, {k: v for k, v in parts.items() if k != "enabled"})
            ctx.shared[key] = base_memory(ctx.shared["base_data"], result.class_ids, opts, ctx.train_cfg.seed)
        return StepCarry(memory=ctx.shared[key])
    return carry


def run_protocol(ctx: Context, spec: RunSpec, steps: list[list[int]]) -> list[dict[str, Any]]:
    """Train and evaluate every step of one run; one record per evaluated step (rank 0 only)."""
    method, args, names = get_method(spec.method), ctx.args, ctx.names
    plan = [[c for s in steps for c in s]] if method.joint else steps
    base_names = [names[c] for c in steps[0]]
    parent: Checkpoint | None = None
    carry, history, records = StepCarry(), [], []
    for t, new in enumerate(plan):
        data = SubsetDataset(ctx.train, images_with_classes(ctx.train, new))
        if len(data) == 0:
            raise ValidationError(f"no {args.train_split} image shows {[names[c] for c in new]}; use more images")
        weak_stats = None
        if spec.weak and t > 0:
            data, weak_stats = weak_data(ctx, data, new, parent)
        result = train_step(ctx, spec, t, new, data, parent, carry, len(steps))
        carry = next_carry(ctx, spec, t, result, carry)
        parent = result.checkpoint()
        if ctx.dist_info is not None and not ctx.dist_info.is_main:
            continue
        t0 = time.perf_counter()
        cm = evaluate(result.model, ctx.val, result.class_ids, select_device(ctx.train_cfg.device),
                      max_side=args.eval_max_side, feature_cache=ctx.features)
        eval_s = time.perf_counter() - t0
        k = len(result.class_ids)
        if method.joint:  # score against the last incremental step's old/new split
            old, new_ch = range(k - len(steps[-1])), range(k - len(steps[-1]), k)
        else:
            old, new_ch = result.step.old_channels, result.step.new_channels
        s = scores(cm, list(old), list(new_ch))
        ious = class_ious(cm, result.class_ids)
        forget = {names[c]: v for c, v in forgetting(ious, history).items()}
        history.append(ious)
        records.append({
            "step": len(steps) - 1 if method.joint else t, "new_classes": [names[c] for c in new], **s,
            "per_class": {names[c]: v for c, v in ious.items()},
            "forgetting": forget, "base_forgetting": base_forgetting(forget, base_names),
            "train_images": len(data), "iterations": result.iterations, "train_seconds": result.seconds,
            "eval_seconds": eval_s, "images_per_second": result.images_per_second,
            "peak_memory_mb": result.peak_memory_mb, "losses": result.losses, "parts": result.part_summaries,
            "feature_path": result.feature_path,
            "memory_instances": _memory_size(carry), "shared_base": bool(t == 0 and args.shared_base
                                                                          and not method.joint),
            "pseudo_masks": weak_stats,
        })
        print(f"[{spec.label} seed {ctx.train_cfg.seed}] step {records[-1]['step']}: all {pct(s['all'])} "
              f"old {pct(s['old'])} new {pct(s['new'])} ({result.seconds:.0f} s train, {eval_s:.0f} s eval)",
              flush=True)
    return records


def _memory_size(carry: StepCarry) -> int | None:
    return None if carry.memory is None else len(InstanceMemory.from_bytes(carry.memory))


def weak_data(ctx: Context, data: Any, new: list[int], parent: Checkpoint) -> tuple[Any, dict[str, Any]]:
    """Pseudo-masks for an increment's images (cached per seed when the parent is the shared base)."""
    args, key = ctx.args, tuple(new)
    from_base = args.shared_base and len(parent.group_sizes) == 1
    if from_base and key in ctx.pseudo:
        return ctx.pseudo[key]
    labeling = LabelingConfig(clip_model=args.clip_model, clip_pretrained=args.clip_pretrained,
                              sam_checkpoint=args.sam_checkpoint, sam_model_type=args.sam_model_type)
    device = select_device(ctx.train_cfg.device)
    parent_model = build_from_checkpoint(parent).to(device).eval()
    made = pseudo_dataset(data, new, parent_model, tuple(parent.class_ids), ctx.names, labeling, ctx.model_cfg,
                          device)
    if from_base:
        ctx.pseudo[key] = made
    return made


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="dataset root with classes.json and split folders")
    p.add_argument("--train-split", default="train")
    p.add_argument("--eval-split", default="val")
    p.add_argument("--split", default="6-5", help="N-M class-incremental split")
    p.add_argument("--methods", default="", help="comma-separated registered methods (default: all; "
                   "none: only the --parts-off / --config runs)")
    p.add_argument("--parts-off", action="append", default=[], metavar="METHOD:PART[+PART]")
    p.add_argument("--config", help="JSON list of {label, method, parts[, weak]} runs")
    p.add_argument("--seeds", type=int, default=1, help="number of seeds (mean ± std over them)")
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--epochs", type=int, default=4, help="epochs per step (the same for every method)")
    p.add_argument("--crop", type=int, default=192, help="training crop, pixels (a multiple of 32 for --cache)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--encoder-lr-mult", type=float, default=0.0,
                   help="backbone lr = lr × this (0 = frozen backbone, the CPU protocol; with --cache its taps are cached)")
    p.add_argument("--max-images", type=int, default=0, help="seeded random subset of N train images (0 = all)")
    p.add_argument("--max-eval-images", type=int, default=0, help="seeded random subset of N eval images (0 = all)")
    p.add_argument("--subset-seed", type=int, default=0, help="seed of the --max-images / --max-eval-images subsets")
    p.add_argument("--eval-max-side", type=int, default=0, help="resize eval images to this longer side (0 = as is)")
    p.add_argument("--encoder", default="efficientnet_lite0")
    p.add_argument("--embed-dim", type=int, default=128)
    p.add_argument("--output-stride", type=int, default=MLSettings().model.output_stride,
                   help="feature stride of the model (default: the product's)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    p.add_argument("--joint-epochs", type=int, default=0,
                   help="epochs of the joint upper bound (0 = --epochs × number of steps)")
    p.add_argument("--cache", action=argparse.BooleanOptionalAction, default=True,
                   help="with a frozen backbone (--encoder-lr-mult 0), train and evaluate from cached backbone "
                        "taps (computed once per image view, shared by every run); --no-cache recomputes them "
                        "for every sample (the same training, without the cache)")
    p.add_argument("--crop-space", choices=CROP_SPACES, default="features",
                   help="frozen backbone: crop the taps of whole views (features, the product default) or run "
                        "the backbone on each pixel crop (pixels, as a trainable backbone does)")
    p.add_argument("--cache-dir", default="", help="folder for the feature cache (default: a temporary folder)")
    p.add_argument("--cache-memory-mb", type=int, default=2048, help="feature cache memory bound")
    p.add_argument("--shared-base", action=argparse.BooleanOptionalAction, default=True,
                   help="train the base step once per seed (finetune) and start every incremental run from it")
    p.add_argument("--weak", action="store_true", help="also run --weak-methods with tags only in the increments")
    p.add_argument("--weak-methods", default="fmwiss", help="comma-separated methods for the tags-only runs")
    p.add_argument("--clip-model", default="ViT-B-16")
    p.add_argument("--clip-pretrained", default="", help="open_clip tag or file for pseudo-masks (empty: localiser)")
    p.add_argument("--sam-checkpoint", default="", help="SAM checkpoint for pseudo-masks (empty: superpixels)")
    p.add_argument("--sam-model-type", default="vit_b")
    p.add_argument("--out", default="results.json")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    full_train = FolderDataset(args.data, args.train_split)
    train = random_subset(full_train, args.max_images, args.subset_seed)
    val = random_subset(FolderDataset(args.data, args.eval_split), args.max_eval_images, args.subset_seed + 1)
    steps = parse_split(args.split, sorted(full_train.class_names))
    runs = parse_runs(args)
    model_cfg = ModelConfig(encoder=args.encoder, embed_dim=args.embed_dim, output_stride=args.output_stride,
                            decoder_heads=4 if args.embed_dim % 8 else 8)
    device = select_device(args.device)
    dist_info = init_from_env(device.type)
    if dist_info is not None and not dist_info.is_main:
        logging.getLogger().setLevel(logging.ERROR)
    seeds = list(range(args.seed, args.seed + args.seeds))
    tmp = tempfile.TemporaryDirectory(prefix="incseg-features-")
    features = (FeatureCache(args.cache_dir or tmp.name, max_memory_bytes=args.cache_memory_mb << 20)
                if args.cache else None)
    print(f"{args.split} on {args.data}: steps {steps}; runs {[r.label for r in runs]}; seeds {seeds}; "
          f"{len(train)} train / {len(val)} eval images; device {device}", flush=True)
    load_start, t_start, results = os.getloadavg(), time.perf_counter(), []
    for seed in seeds:
        train_cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, crop_size=args.crop,
                                encoder_lr_mult=args.encoder_lr_mult, cache_features=args.cache, seed=seed,
                                crop_space=args.crop_space,
                                device=args.device)
        ctx = Context(train, val, {0: "background", **full_train.class_names}, model_cfg, train_cfg, args, dist_info,
                      features)
        for spec in runs:
            t0 = time.perf_counter()
            records = run_protocol(ctx, spec, steps)
            results.append({"label": spec.label, "method": spec.method, "parts": spec.parts, "weak": spec.weak,
                            "seed": seed, "steps": records, "wall_seconds": time.perf_counter() - t0})
    if dist_info is not None and not dist_info.is_main:
        return 0
    summary, extra = summarise(results)
    print_tables(results, summary, extra)
    out = {"args": vars(args), "device": str(device), "torch": torch.__version__,
           "cuda_device": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
           "loadavg_start": load_start, "loadavg_end": os.getloadavg(),
           "wall_seconds": time.perf_counter() - t_start, "seeds": seeds,
           "train_images": len(train), "eval_images": len(val),
           "steps": [[full_train.class_names[c] for c in s] for s in steps],
           "feature_cache": vars(features.stats) if features is not None else None, "summary": summary,
           "summary_extra": extra, "runs": results}
    Path(args.out).write_text(json.dumps(_finite(out), indent=1))
    print(f"\nwrote {args.out}")
    return 0


def _finite(value: Any) -> Any:
    """JSON-safe copy: NaN -> None."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
