"""Class-incremental segmentation benchmark on a folder dataset (overlapped CISS protocol).

Splits: ``N-M`` learns the first N classes (plus background), then M new classes per step until every
class is learned (CamVid ``6-5``: classes 1-6, then 7-11; ``6-1``: 1-6, then one per step). Each step
trains on the train images that contain at least one of its classes, with only its classes labelled
(everything else is background), and is evaluated on every eval image with the classes learned so far
(unlearned classes count as background). ``joint`` trains all classes at once and is reported against
the last step's old/new split.

Multi-GPU / multi-node: ``torchrun --nproc_per_node N bench/ciss.py ...`` (``--batch-size`` is the global
batch, split over the ranks; rank 0 evaluates and writes the results).

Example (2-core CPU, about 25 minutes on an idle machine; see docs/benchmarks.md). Training the
EfficientNet-Lite0 backbone on CPU runs at ~1 image/s (its depthwise-convolution backward is slow), so
the CPU protocol freezes the ImageNet backbone (``--encoder-lr-mult 0``) and trains neck + decoder
at ~10-13 images/s:
    python bench/ciss.py --data ../shared/data/camvid --split 6-5 --methods finetune,mib,joint \
        --epochs 5 --crop 192 --batch-size 8 --encoder-lr-mult 0 --threads 2 --out results.json
``joint`` trains all classes in one step for ``--epochs`` × number of steps (the passes of the
incremental runs together) unless ``--joint-epochs`` says otherwise.
Ablations: ``--parts-off gsc:gsc_relation`` (one extra run per flag; ``+`` joins parts), or
``--config runs.json`` = ``[{"label": ..., "method": ..., "parts": {...}}, ...]``.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from weak import pseudo_dataset  # noqa: E402

from incseg_app.domain.config import LabelingConfig, MethodConfig, ModelConfig, TrainConfig
from incseg_app.domain.errors import ValidationError
from incseg_app.methods.registry import METHODS, get_method
from incseg_app.services.ml_settings import MLSettings
from incseg_app.training.checkpoint import Checkpoint, build_from_checkpoint
from incseg_app.training.data import SubsetDataset, images_with_classes
from incseg_app.training.ddp import DistInfo, init_from_env
from incseg_app.training.evaluate import evaluate
from incseg_app.training.featcache import FeatureCache
from incseg_app.training.folder import FolderDataset
from incseg_app.training.metrics import class_ious, forgetting, step_scores
from incseg_app.training.step import run_incremental_step, select_device

log = logging.getLogger("bench.ciss")


@dataclass
class RunSpec:
    """One benchmark run: a label, a registered method and its part overrides."""

    label: str
    method: str
    parts: dict[str, Any] = field(default_factory=dict)
    weak: bool = False  # increments see image-level tags only (pseudo-masks), FMWISS's setting


def parse_split(split: str, class_ids: list[int]) -> list[list[int]]:
    """"N-M" -> [[first N ids], [next M], ...]; the last step may hold fewer than M."""
    try:
        n, m = (int(x) for x in split.split("-"))
    except ValueError:
        raise ValidationError(f"split {split!r} must look like N-M, e.g. 6-5") from None
    if not 0 < n < len(class_ids) or m < 1:
        raise ValidationError(f"split {split!r}: need 0 < N < {len(class_ids)} classes and M >= 1")
    steps = [class_ids[:n]]
    steps += [class_ids[i:i + m] for i in range(n, len(class_ids), m)]
    return steps


def parse_runs(args: argparse.Namespace) -> list[RunSpec]:
    """Runs from --methods, --parts-off and --config."""
    names = args.methods.split(",") if args.methods else list(METHODS)
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
            runs.append(RunSpec(spec.get("label", spec["method"]), spec["method"], dict(spec.get("parts", {}))))
    return runs


def run_protocol(spec: RunSpec, steps: list[list[int]], train: FolderDataset, val: FolderDataset,
                 model_cfg: ModelConfig, train_cfg: TrainConfig, args: argparse.Namespace,
                 dist_info: DistInfo | None = None) -> list[dict[str, Any]]:
    """Train and evaluate every step of one run; returns one record per evaluated step (rank 0 only
    evaluates; other ranks return no records)."""
    method = get_method(spec.method)
    names = {0: "background", **train.class_names}
    plan = [[c for s in steps for c in s]] if method.joint else steps
    parent: Checkpoint | None = None
    history: list[dict[int, float | None]] = []
    records = []
    for t, new in enumerate(plan):
        data = SubsetDataset(train, images_with_classes(train, new))
        if len(data) == 0:
            raise ValidationError(f"no {args.train_split} image shows {[names[c] for c in new]}; use more images")
        weak_stats = None
        if t == 0 and not method.joint and args.shared_base and "base" in SHARED:
            result = SHARED["base"]
        else:
            if spec.weak and t > 0:
                data, weak_stats = weak_data(data, new, parent, names, model_cfg, train_cfg, args)
            shared = t == 0 and not method.joint and args.shared_base
            step_method, step_cfg = ((get_method("finetune"), MethodConfig("finetune")) if shared
                                     else (method, MethodConfig(spec.method, spec.parts)))
            step_train = train_cfg
            if method.joint:  # the upper bound gets the passes of every incremental step together
                step_train = replace(train_cfg, epochs=args.joint_epochs or train_cfg.epochs * len(steps))
            result = run_incremental_step(model_cfg, step_train, step_method, step_cfg, data, new, parent,
                                          dist_info=dist_info, feature_cache=CACHE.get("features"))
            if shared:
                SHARED["base"] = result
        parent = result.checkpoint()
        if dist_info is not None and not dist_info.is_main:
            continue
        t0 = time.perf_counter()
        cm = evaluate(result.model, val, result.class_ids, select_device(train_cfg.device),
                      max_side=args.eval_max_side, feature_cache=CACHE.get("features"))
        eval_s = time.perf_counter() - t0
        if method.joint:  # score against the last incremental step's old/new split
            n_new = len(steps[-1])
            old, new_ch = range(len(result.class_ids) - n_new), range(len(result.class_ids) - n_new, len(result.class_ids))
        else:
            old, new_ch = result.step.old_channels, result.step.new_channels
        scores = step_scores(cm, list(old), list(new_ch))
        ious = class_ious(cm, result.class_ids)
        forget = forgetting(ious, history)
        history.append(ious)
        records.append({
            "step": len(steps) - 1 if method.joint else t, "new_classes": [names[c] for c in new],
            **scores, "per_class": {names[c]: v for c, v in ious.items()},
            "forgetting": {names[c]: v for c, v in forget.items()},
            "train_images": len(data), "iterations": result.iterations, "train_seconds": result.seconds,
            "eval_seconds": eval_s, "images_per_second": result.images_per_second,
            "peak_memory_mb": result.peak_memory_mb, "losses": result.losses, "feature_path": result.feature_path,
            "shared_base": bool(t == 0 and args.shared_base and not method.joint), "pseudo_masks": weak_stats,
        })
        print(f"[{spec.label}] step {records[-1]['step']}: all {_pct(scores['all'])} old {_pct(scores['old'])} "
              f"new {_pct(scores['new'])} hIoU {_pct(scores['hiou'])} ({result.seconds:.0f} s train)", flush=True)
    return records


SHARED: dict[str, Any] = {}  # the base step trained once and reused by every incremental run (--shared-base)
CACHE: dict[str, FeatureCache] = {}  # "features": backbone taps shared by every run and evaluation (--cache)
PSEUDO: dict[tuple, Any] = {}  # pseudo-mask datasets per (step classes), made once from the shared base


def weak_data(data: Any, new: list[int], parent: Checkpoint, names: dict[int, str], model_cfg: ModelConfig,
              train_cfg: TrainConfig, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """Pseudo-masks for an increment's images (cached when the parent is the shared base)."""
    key = tuple(new)
    if args.shared_base and key in PSEUDO and len(parent.group_sizes) == 1:
        return PSEUDO[key]
    labeling = LabelingConfig(clip_model=args.clip_model, clip_pretrained=args.clip_pretrained,
                              sam_checkpoint=args.sam_checkpoint, sam_model_type=args.sam_model_type)
    device = select_device(train_cfg.device)
    parent_model = build_from_checkpoint(parent).to(device).eval()
    made = pseudo_dataset(data, new, parent_model, tuple(parent.class_ids), names, labeling, model_cfg, device)
    if args.shared_base and len(parent.group_sizes) == 1:
        PSEUDO[key] = made
    return made


def _pct(v: float | None) -> str:
    return "  –  " if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:5.1f}"


def _finite(value: Any) -> Any:
    """JSON-safe copy: NaN -> None."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def print_tables(results: list[dict[str, Any]]) -> None:
    print("\n| run | step | old | new | all | hIoU | train s | img/s | peak MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run in results:
        for r in run["steps"]:
            print(f"| {run['label']} | {r['step']} | {_pct(r['old'])} | {_pct(r['new'])} | {_pct(r['all'])} | "
                  f"{_pct(r['hiou'])} | {r['train_seconds']:.0f} | {r['images_per_second']:.1f} | "
                  f"{r['peak_memory_mb']:.0f} |")
    classes = list(results[0]["steps"][-1]["per_class"]) if results else []
    print("\nIoU (forgetting) per class after the last step\n")
    print("| class | " + " | ".join(r["label"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for c in classes:
        cells = [f"{_pct(r['steps'][-1]['per_class'].get(c))} ({_pct(r['steps'][-1]['forgetting'].get(c)).strip()})"
                 for r in results]
        print(f"| {c} | " + " | ".join(cells) + " |")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="dataset root with classes.json and split folders")
    p.add_argument("--train-split", default="train")
    p.add_argument("--eval-split", default="val")
    p.add_argument("--split", default="6-5", help="N-M class-incremental split")
    p.add_argument("--methods", default="", help="comma-separated registered methods (default: all)")
    p.add_argument("--parts-off", action="append", default=[], metavar="METHOD:PART[+PART]")
    p.add_argument("--config", help="JSON list of {label, method, parts} runs")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--encoder-lr-mult", type=float, default=0.1, help="backbone lr = lr × this (0 = frozen backbone)")
    p.add_argument("--max-images", type=int, default=0, help="first N train images (0 = all)")
    p.add_argument("--max-eval-images", type=int, default=0, help="first N eval images (0 = all)")
    p.add_argument("--eval-max-side", type=int, default=0, help="resize eval images to this longer side (0 = as is)")
    p.add_argument("--encoder", default="efficientnet_lite0")
    p.add_argument("--embed-dim", type=int, default=128)
    p.add_argument("--output-stride", type=int, default=MLSettings().model.output_stride,
                   help="feature stride of the model (default: the product's)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--joint-epochs", type=int, default=0,
                   help="epochs of the joint upper bound (0 = --epochs × number of steps: the same passes as "
                        "the incremental runs together)")
    p.add_argument("--cache", action=argparse.BooleanOptionalAction, default=True,
                   help="with a frozen backbone (--encoder-lr-mult 0), train and evaluate from cached backbone "
                        "taps (computed once per image view, shared by every run)")
    p.add_argument("--cache-dir", default="", help="folder for the feature cache (default: a temporary folder)")
    p.add_argument("--cache-memory-mb", type=int, default=2048, help="feature cache memory bound")
    p.add_argument("--shared-base", action=argparse.BooleanOptionalAction, default=True,
                   help="train the base step once (finetune) and start every incremental run from it")
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
    started = time.perf_counter()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    train = FolderDataset(args.data, args.train_split, args.max_images or None)
    val = FolderDataset(args.data, args.eval_split, args.max_eval_images or None)
    steps = parse_split(args.split, sorted(train.class_names))
    runs = parse_runs(args)
    model_cfg = ModelConfig(encoder=args.encoder, embed_dim=args.embed_dim, output_stride=args.output_stride,
                            decoder_heads=4 if args.embed_dim % 8 else 8)
    train_cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, crop_size=args.crop,
                            encoder_lr_mult=args.encoder_lr_mult, cache_features=args.cache,
                            seed=args.seed, device=args.device)
    tmp = tempfile.TemporaryDirectory(prefix="incseg-features-")
    if args.cache:
        CACHE["features"] = FeatureCache(args.cache_dir or tmp.name, max_memory_bytes=args.cache_memory_mb << 20)
    device = select_device(args.device)
    dist_info = init_from_env(device.type)
    if dist_info is not None and not dist_info.is_main:
        logging.getLogger().setLevel(logging.ERROR)
    print(f"{args.split} on {args.data}: steps {steps}; runs {[r.label for r in runs]}; device {device}", flush=True)
    results = []
    for spec in runs:
        t0 = time.perf_counter()
        records = run_protocol(spec, steps, train, val, model_cfg, train_cfg, args, dist_info)
        results.append({"label": spec.label, "method": spec.method, "parts": spec.parts, "steps": records,
                        "wall_seconds": time.perf_counter() - t0})
    if dist_info is not None and not dist_info.is_main:
        return 0
    print_tables(results)
    out = {"args": vars(args), "device": str(device), "torch": torch.__version__,
           "cuda_device": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
           "steps": [[train.class_names[c] for c in s] for s in steps], "runs": results,
           "feature_cache": vars(CACHE["features"].stats) if "features" in CACHE else None,
           "wall_seconds": time.perf_counter() - started}
    Path(args.out).write_text(json.dumps(_finite(out), indent=1))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
