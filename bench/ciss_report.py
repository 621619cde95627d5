"""Scores, the seed summary and the printed tables of ``bench/ciss.py``.

Conventions (all IoU in [0, 1] inside the records, 0–100 in the summary and the tables):

* per step: ``old`` / ``new`` / ``all`` / ``hiou`` as ``training.metrics.step_scores`` (old includes the
  background channel), ``old_no_bg`` the old classes without background (a dataset without background
  pixels, such as CamVid, scores background as absent — NaN — once every class is learned, so there
  ``old`` and ``old_no_bg`` agree at the last step);
* ``base_forgetting``: mean over the base-step classes of (best IoU in an earlier step − IoU now), in
  points; None for a one-step run (``joint``).
"""
from __future__ import annotations

import math
import statistics
from typing import Any, Sequence

from incseg_app.training.metrics import nan_mean, per_class_iou, step_scores

SUMMARY_KEYS = ("all", "all_std", "new", "old", "old_no_bg", "base_forgetting")  # the JSON contract


def scores(cm: Any, old: Sequence[int], new: Sequence[int]) -> dict[str, float]:
    """step_scores plus ``old_no_bg`` (old channels without channel 0)."""
    out = step_scores(cm, list(old), list(new))
    iou = per_class_iou(cm)
    fg = [c for c in old if c != 0]
    out["old_no_bg"] = nan_mean(iou[fg]) if fg else math.nan
    return out


def base_forgetting(forget: dict[str, float | None], base_names: Sequence[str]) -> float | None:
    """Mean forgetting (IoU, 0–1) over the base classes that have a value; None when none has."""
    values = [forget[n] for n in base_names if forget.get(n) is not None]
    return float(sum(values) / len(values)) if values else None


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return 100.0 * sum(vals) / len(vals) if vals else None


def _std(values: list[float | None]) -> float | None:
    vals = [100.0 * v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.stdev(vals) if len(vals) > 1 else (0.0 if vals else None)


def summarise(runs: list[dict[str, Any]]) -> tuple[dict[str, dict[str, float | None]], dict[str, dict[str, Any]]]:
    """(summary, extra): per run label, means over seeds of the last step (0–100; ``SUMMARY_KEYS``) and,
    in ``extra``, the standard deviations of every score, the per-seed values and the seeds."""
    labels = list(dict.fromkeys(r["label"] for r in runs))
    summary, extra = {}, {}
    for label in labels:
        last = [r["steps"][-1] for r in runs if r["label"] == label and r["steps"]]
        col = {k: [s.get(k) for s in last] for k in ("all", "new", "old", "old_no_bg", "hiou", "base_forgetting")}
        summary[label] = {"all": _mean(col["all"]), "all_std": _std(col["all"]), "new": _mean(col["new"]),
                          "old": _mean(col["old"]), "old_no_bg": _mean(col["old_no_bg"]),
                          "base_forgetting": _mean(col["base_forgetting"])}
        extra[label] = {"seeds": [r["seed"] for r in runs if r["label"] == label],
                        "std": {k: _std(v) for k, v in col.items()},
                        "hiou": _mean(col["hiou"]),
                        "per_seed": {k: [None if v is None else round(100 * v, 2) for v in vals]
                                     for k, vals in col.items()}}
    return summary, extra


def pct(v: float | None) -> str:
    return "  –  " if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:5.1f}"


def num(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def print_tables(runs: list[dict[str, Any]], summary: dict[str, dict[str, float | None]],
                 extra: dict[str, dict[str, Any]]) -> None:
    """Per-step rows of every run, the seed summary, and per-class IoU (forgetting) of seed runs."""
    print("\n| run | seed | step | old | old w/o bg | new | all | hIoU | train s | img/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        for r in run["steps"]:
            print(f"| {run['label']} | {run['seed']} | {r['step']} | {pct(r['old'])} | {pct(r['old_no_bg'])} | "
                  f"{pct(r['new'])} | {pct(r['all'])} | {pct(r['hiou'])} | {r['train_seconds']:.0f} | "
                  f"{r['images_per_second']:.1f} |")
    print("\nLast step, mean over seeds (± std of all)\n")
    print("| run | seeds | all | old | old w/o bg | new | hIoU | base forgetting |")
    print("|---|---|---|---|---|---|---|---|")
    for label, s in summary.items():
        e = extra[label]
        print(f"| {label} | {len(e['seeds'])} | {num(s['all'])} ± {num(s['all_std'])} | {num(s['old'])} | "
              f"{num(s['old_no_bg'])} | {num(s['new'])} | {num(e['hiou'])} | {num(s['base_forgetting'])} |")
    first = [r for r in runs if r["seed"] == runs[0]["seed"]] if runs else []
    classes = list(first[0]["steps"][-1]["per_class"]) if first and first[0]["steps"] else []
    print(f"\nIoU (forgetting) per class after the last step, seed {runs[0]['seed'] if runs else '-'}\n")
    print("| class | " + " | ".join(r["label"] for r in first) + " |")
    print("|---|" + "---|" * len(first))
    for c in classes:
        cells = [f"{pct(r['steps'][-1]['per_class'].get(c))} ({pct(r['steps'][-1]['forgetting'].get(c)).strip()})"
                 for r in first]
        print(f"| {c} | " + " | ".join(cells) + " |")
