"""Merge ``bench/ciss.py`` results of separate seed runs into one seed summary (mean ± std per run label).

Runs of one seed each are often started as separate processes (one per core); this reads their JSON
files, checks that they share the protocol (split, epochs, crop, batch, data), and prints the same
summary table ``ciss.py --seeds N`` prints, plus each run's all-mIoU per step averaged over the seeds.

Example:
    python bench/ciss_merge.py bench/results/ciss_camvid_6-1_s0.json bench/results/ciss_camvid_6-1_s1.json \\
        bench/results/ciss_camvid_6-1_s2.json --out merged.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ciss_report import num, summarise  # noqa: E402

PROTOCOL = ("data", "split", "epochs", "crop", "batch_size", "lr", "encoder_lr_mult", "train_split", "eval_split",
            "max_images", "joint_epochs")


def merge(paths: list[str]) -> tuple[list[dict], dict]:
    """(runs of every file, the shared protocol); ValueError when the files' protocols differ."""
    runs, protocol = [], None
    for path in paths:
        data = json.loads(Path(path).read_text())
        mine = {k: data["args"].get(k) for k in PROTOCOL}
        if protocol is not None and mine != protocol:
            diff = {k: (protocol[k], mine[k]) for k in PROTOCOL if protocol[k] != mine[k]}
            raise ValueError(f"{path} was run with another protocol: {diff}")
        protocol = mine
        runs += data["runs"]
    return runs, protocol or {}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--out", default="")
    args = p.parse_args(argv)
    runs, protocol = merge(args.files)
    summary, extra = summarise(runs)
    print("\n| run | seeds | all | per seed | old | new | hIoU | base forgetting |")
    print("|---|---|---|---|---|---|---|---|")
    for label, s in summary.items():
        e = extra[label]
        seeds = ", ".join(num(v) for v in e["per_seed"]["all"])
        print(f"| {label} | {len(e['seeds'])} | {num(s['all'])} ± {num(s['all_std'])} | {seeds} | {num(s['old'])} | "
              f"{num(s['new'])} | {num(e['hiou'])} | {num(s['base_forgetting'])} |")
    steps: dict[str, list[float]] = {}
    print("\nall-mIoU per step, mean over seeds\n")
    for label in summary:
        mine = [r for r in runs if r["label"] == label]
        n = max(len(r["steps"]) for r in mine)
        steps[label] = [100 * statistics.mean(r["steps"][i]["all"] for r in mine if len(r["steps"]) > i)
                        for i in range(n)]
        print(f"{label}: " + " → ".join(f"{v:.1f}" for v in steps[label]))
    if args.out:
        Path(args.out).write_text(json.dumps({"files": args.files, "protocol": protocol, "summary": summary,
                                              "summary_extra": extra, "steps_all": steps}, indent=1))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
