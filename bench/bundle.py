"""Model bundle and batch predict on a real folder dataset (CamVid), measured end to end.

1. Imports a seeded random subset of ``DATA/train`` and all of ``DATA/val`` into a fresh store and trains
   a base version (EfficientNet-Lite0, ImageNet weights; ``--encoder-lr-mult 0`` freezes the backbone
   so a CPU run takes minutes): the model is real, its quality is beside the point here.
2. ``incseg predict DATA/val/images --out OUT/predict`` as a child process with a progress bar; it is
   killed with SIGKILL once ``--kill-after`` masks exist, then the same command resumes and finishes.
3. ``incseg versions export V OUT/bundle`` (ONNX checked against PyTorch at export time).
4. The bundle's ``predict.py`` runs in a fresh virtual environment that holds only onnxruntime, numpy
   and pillow (``--venv``, created with ``python -m venv`` + pip when missing) over the same images.
5. Per-image pixel agreement between the two label maps; JSON to ``--out-json``.

    python bench/bundle.py --data ../shared/data/camvid --work /tmp/bundle-bench \
        --out-json bench/results/bundle_camvid.json
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from incseg_app.services import StoreSettings, datasets, open_store, versions  # noqa: E402
from incseg_app.services.ml_settings import MLSettings  # noqa: E402
from incseg_app.services.training import TrainRequest, train_step  # noqa: E402

RUNTIME_PACKAGES = ("onnxruntime", "numpy", "pillow")


def _subset(data: Path, n: int, seed: int, dest: Path) -> None:
    """``dest/train`` with a seeded random ``n`` of ``data/train`` (images + labels), plus classes.json."""
    names = sorted(p.stem for p in (data / "train" / "images").iterdir())
    chosen = sorted(random.Random(seed).sample(names, min(n, len(names))))
    for sub in ("images", "labels"):
        (dest / "train" / sub).mkdir(parents=True, exist_ok=True)
        for stem in chosen:
            src = next((data / "train" / sub).glob(f"{stem}.*"))
            shutil.copyfile(src, dest / "train" / sub / src.name)
    shutil.copyfile(data / "classes.json", dest / "classes.json")


def _train(store_dir: Path, data: Path, work: Path, args: argparse.Namespace) -> tuple[int, float]:
    ml = MLSettings.from_env(device="cpu")
    ml = replace(ml, train=replace(ml.train, encoder_lr_mult=args.encoder_lr_mult, num_workers=0))
    ctx = open_store(store_dir, StoreSettings(), ml)
    try:
        _subset(data, args.train_images, args.seed, work / "subset")
        datasets.import_dataset(ctx, work / "subset" / "train")
        datasets.import_dataset(ctx, data / "val")
        start = time.perf_counter()
        version = train_step(ctx, TrainRequest(method="finetune", epochs=args.epochs, batch_size=args.batch_size,
                                               crop_size=args.crop))
        return version.id, time.perf_counter() - start
    finally:
        ctx.close()


def _incseg(*args: str) -> list[str]:
    return [sys.executable, "-c", "from incseg_app.cli import main; main()", *args]


def _predict_with_kill(store_dir: Path, images: Path, out: Path, kill_after: int, env: dict) -> dict:
    cmd = _incseg("predict", str(images), "--out", str(out), "--storage", str(store_dir), "--device", "cpu")
    masks = out / "masks"
    start = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while child.poll() is None and len(list(masks.glob("*.png"))) < kill_after:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    _, first_err = child.communicate()
    before = len(list(masks.glob("*.png")))
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    progress_lines = [ln for ln in resumed.stderr.replace("\r", "\n").splitlines() if "predicting" in ln]
    return {"command": " ".join(cmd[3:]), "killed_with": "SIGKILL", "exit_code_of_killed_run": child.returncode,
            "masks_before_kill": before, "resume_stdout": resumed.stdout.strip(),
            "masks_after_resume": len(list(masks.glob("*.png"))), "seconds_both_runs": round(seconds, 1),
            "progress_bar_sample": progress_lines[-3:], "killed_run_progress_sample":
                [ln for ln in first_err.replace("\r", "\n").splitlines() if "predicting" in ln][-2:]}


def _fresh_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *RUNTIME_PACKAGES], check=True)
    return python


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "camvid")
    p.add_argument("--work", type=Path, required=True, help="scratch folder (store, outputs, venv)")
    p.add_argument("--venv", type=Path, default=None, help="fresh venv with only onnxruntime, numpy, pillow")
    p.add_argument("--train-images", type=int, default=60)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--encoder-lr-mult", type=float, default=0.0)
    p.add_argument("--kill-after", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-json", type=Path, default=None)
    args = p.parse_args()
    work = args.work
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    store_dir = work / "store"
    version_id, train_s = _train(store_dir, args.data, work, args)
    print(f"trained version {version_id} in {train_s:.0f} s", flush=True)
    images = args.data / "val" / "images"
    predict = _predict_with_kill(store_dir, images, work / "predict", args.kill_after, env)
    print(f"incseg predict: {predict['masks_before_kill']} masks before SIGKILL, "
          f"{predict['masks_after_resume']} after the resume", flush=True)
    start = time.perf_counter()
    subprocess.run(_incseg("versions", "export", str(version_id), str(work / "bundle"), "--storage", str(store_dir)),
                   env=env, check=True)
    export_s = time.perf_counter() - start
    python = _fresh_venv(args.venv or work / "venv")
    bare = {"PATH": os.environ.get("PATH", "")}  # no PYTHONPATH: the venv sees only what it installed
    packages = subprocess.run([str(python), "-m", "pip", "list", "--format", "freeze"], capture_output=True,
                              text=True, check=True, env=bare).stdout.split()
    probe = "import importlib.util as u; print([m for m in ('torch', 'incseg_app') if u.find_spec(m)])"
    importable = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True, cwd=work,
                                env=bare).stdout.strip()
    start = time.perf_counter()
    bundle_cmd = [str(python), str(work / "bundle" / "predict.py"), str(images), "--out", str(work / "onnx"),
                  "--threads", "2"]
    subprocess.run(bundle_cmd, check=True, cwd=work, env=bare)
    onnx_s = time.perf_counter() - start
    per_image = {}
    equal = total = 0
    for path in sorted((work / "predict" / "masks").glob("*.png")):
        a = np.asarray(Image.open(path))
        b = np.asarray(Image.open(work / "onnx" / path.name))
        per_image[path.stem] = float((a == b).mean())
        equal, total = equal + int((a == b).sum()), total + a.size
    meta = json.loads((work / "bundle" / "bundle.json").read_text())
    result = {
        "data": str(args.data), "images": len(per_image), "version_id": version_id,
        "train": {"train_images": args.train_images, "epochs": args.epochs, "crop": args.crop,
                  "encoder_lr_mult": args.encoder_lr_mult, "seed": args.seed, "seconds": round(train_s, 1),
                  "val_miou": float(np.nanmean([m["iou"] for m in meta["metrics"] if m["iou"] is not None]))},
        "batch_predict": predict,
        "export": {"seconds": round(export_s, 1), "onnx_check": meta["onnx"]["check"],
                   "tolerance": meta["onnx"]["tolerance"], "opset": meta["onnx"]["opset"]},
        "bundle_predict": {"command": " ".join(bundle_cmd[1:]).replace(str(work), "WORK"),
                           "venv_packages": packages, "venv_finds_torch_or_incseg": importable,
                           "seconds": round(onnx_s, 1),
                           "images_per_second": round(len(per_image) / onnx_s, 2)},
        "agreement": {"pixels_equal": equal / total, "min_image": min(per_image.values()),
                      "images_below_99_9": sum(v < 0.999 for v in per_image.values())},
        "loadavg": os.getloadavg(),
    }
    print(json.dumps(result["agreement"]), flush=True)
    if args.out_json:
        args.out_json.parent.mkdir(parents=True, exist_ok=True)
        args.out_json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
