"""Scale benchmark (issue 15): a store of N small images with masks, and what users wait for on it.

    python bench/scale.py --images 50000 --out bench/results/scale_50k.json

Builds the store through the product's own bulk paths, then measures:

- ``dry_run_s``: ``incseg train --dry-run`` as a fresh process (CLI start-up included), median of 3;
- ``images_list_s``: ``incseg images list`` as a fresh process, median of 3;
- ``review_click_ms``: one click of the review tab (its accept handler: review the shown mask, load the
  next one), median of 10 clicks;
- ``gallery_page_ms``: one page of the Images tab's gallery (its images with their newest masks, thumbnails and
  the filter count) at the start, middle and end of the store, the slowest of those medians;
- ``pseudo_label_peak_mb``: peak RSS of a child process running the product's ``pseudo_label`` over
  the store (every tagged train image feeds the tag localiser; the unlabelled ones are labelled);
- ``zip_vs_folder``: time to import a zip of 4,000 images over the time to import the same images
  from a folder (each into a fresh store in a fresh process, best of five alternating runs each, the
  stores on a RAM disk when there is one; the on-disk runs are reported beside it).

The store: N images of 64×48 pixels in 5 classes, 80 % train / 20 % val, imported as a dataset with
ground-truth masks (``datasets.import_dataset``: checked, written in blob batches, committed in row
batches); then 40 % of the train images get a pseudo-mask revision waiting for review (the review
queue), and N/50 more tagged images without a mask are imported (what pseudo-labelling labels).
Pseudo-labelling runs with the tiny encoder and one localiser epoch (its memory is dominated by what
it holds per image, not by the model), and is stopped past ``--pseudo-timeout`` seconds or
``--pseudo-max-mb`` of memory (the run is then reported unfinished, with the peak so far). The machine's
load average is recorded, with the cost of a bare interpreter start and of importing SQLAlchemy's ORM
under that load: timings taken under load are pessimistic.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from incseg_app.domain import MaskKind, ReviewStatus  # noqa: E402
from incseg_app.services import StoreSettings, datasets, images, masks, open_store, ui_support  # noqa: E402
from incseg_app.storage.chunks import chunked  # noqa: E402
from incseg_app.storage.repositories import MaskRepo  # noqa: E402

W, H = 64, 48
CLASSES = ("background", "car", "road", "tree", "sky", "person")
CLI = "import sys; from incseg_app.cli import main; main(sys.argv[1:])"


def _picture(k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A smooth H×W×3 image with 1–2 coloured blocks and its H×W label (class ids 1..5, 0 background)."""
    image = np.empty((H, W, 3), np.uint8)
    image[:] = rng.integers(60, 200, 3, dtype=np.uint8)
    label = np.zeros((H, W), np.uint8)
    for c in rng.choice(np.arange(1, len(CLASSES)), size=1 + k % 2, replace=False):
        y, x = rng.integers(0, H - 12), rng.integers(0, W - 16)
        image[y:y + 12, x:x + 16] = (40 * c) % 256, (90 * c) % 256, (150 * c) % 256
        label[y:y + 12, x:x + 16] = c
    return image, label


def write_source(folder: Path, n: int, seed: int) -> None:
    """A dataset folder: train/ and val/ (images/ + labels/) and classes.json, ``n`` images in all."""
    rng = np.random.default_rng(seed)
    for k in range(n):
        split = "val" if k % 5 == 0 else "train"
        image, label = _picture(k, rng)
        for sub, array in (("images", image), ("labels", label)):
            path = folder / split / sub / f"{k:06d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(path, compress_level=1)
    (folder / "classes.json").write_text(json.dumps({"classes": list(CLASSES), "background_index": 0}))


def write_images(folder: Path, n: int, seed: int, start: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(start, start + n):
        Image.fromarray(_picture(k, rng)[0]).save(folder / f"u{k:06d}.png", compress_level=1)


def add_review_queue(ctx, fraction: float, seed: int) -> int:
    """A pseudo-mask revision waiting for review on ``fraction`` of the train images (bulk insert; the
    pseudo mask reuses the ground truth's blob), with random confidences; returns how many."""
    rng = np.random.default_rng(seed)
    heads = masks.labelled_masks(ctx, "train")
    chosen = [heads[i] for i in sorted(rng.choice(len(heads), int(fraction * len(heads)), replace=False))]
    for batch in chunked(chosen, 2000):
        with ctx.unit_of_work(write=True) as s:
            repo = MaskRepo(s)
            repo.add_many([(m.image_id, MaskKind.PSEUDO, ReviewStatus.TO_REVIEW, m.sha256, m.id,
                            repo.class_pixels(m.id)) for m in batch], source="bench pseudo", author="bench",
                          confidences=rng.random(len(batch)).tolist())
    return len(chosen)


def build_store(work: Path, n: int, seed: int) -> tuple[Path, dict]:
    source, store = work / "source", work / "store"
    t0 = time.perf_counter()
    write_source(source, n, seed)
    write_images(work / "unlabelled", max(n // 50, 1), seed + 1, start=n)
    t1 = time.perf_counter()
    ctx = open_store(store, StoreSettings())
    report = datasets.import_dataset(ctx, source)
    t2 = time.perf_counter()
    queued = add_review_queue(ctx, 0.4, seed)
    unl = images.import_images(ctx, [work / "unlabelled"], tags=["car"])
    t3 = time.perf_counter()
    info = {"images": report.images + len(unl.imported), "ground_truth_masks": report.masks,
            "review_queue": queued, "unlabelled_tagged": len(unl.imported), "image_size": f"{W}x{H}",
            "write_source_s": round(t1 - t0, 1), "import_dataset_s": round(t2 - t1, 1),
            "queue_and_unlabelled_s": round(t3 - t2, 1)}
    ctx.close()
    return store, info


def run_cli(args: list[str], repeats: int = 3) -> float:
    """Median wall time of ``incseg ARGS`` as a fresh process (start-up included)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", CLI, *args], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        times.append(time.perf_counter() - t)
        if done.returncode != 0:
            raise RuntimeError(f"incseg {' '.join(args)} failed: {done.stderr[-2000:]}")
    return statistics.median(times)


def review_click_ms(ctx, clicks: int = 10) -> tuple[float, str]:
    """Median of ``clicks`` accept clicks of the review tab's handler (what one key press runs: review
    the shown mask, load the next one of the queue, most likely wrong first)."""
    from incseg_app.ui import review_tab

    filters = ("to_review", "", "likely_wrong")  # the review tab's defaults: drafts, any tag, likely wrong first
    current = review_tab.at(ctx, 0, *filters)[0]
    times = []
    for _ in range(clicks):
        t = time.perf_counter()
        out = review_tab.decide(ctx, "accept", current, None, [], *filters)
        times.append(time.perf_counter() - t)
        current = out[1]
    return 1000 * statistics.median(times), f"{review_tab.__name__}.decide(action='accept')"


def gallery_page_ms(ctx, n_images: int, repeats: int = 5) -> dict[str, float]:
    """Median time of one gallery page as the Images tab builds it (the page's images with their newest
    masks, thumbnails, captions and the page line) at three offsets."""
    from incseg_app.services.gallery import PAGE_SIZE
    from incseg_app.ui import gallery_view

    any_ = gallery_view.ANY
    last = max(n_images - 1, 0) // PAGE_SIZE
    out = {}
    for where, page in (("first", 0), ("middle", last // 2), ("last", last)):
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            pictures, ids, line, shown = gallery_view.page_values(ctx, any_, any_, any_, page)
            times.append(time.perf_counter() - t)
            assert ids and len(pictures) == len(ids) <= PAGE_SIZE and shown == page, (where, len(ids), line)
        out[where] = 1000 * statistics.median(times)
    return out


PSEUDO_CHILD = textwrap.dedent("""
    import sys, time
    from dataclasses import replace
    from incseg_app.services import open_store, StoreSettings
    from incseg_app.services.labeling import pseudo_label
    from incseg_app.services.ml_settings import tiny_settings
    ml = tiny_settings()
    if hasattr(ml, "localizer_epochs"):  # one pass of the tag localiser, where the labeller has one
        ml = replace(ml, localizer_epochs=1)
    ctx = open_store(sys.argv[1], StoreSettings(), ml)
    t = time.perf_counter()
    result = pseudo_label(ctx)
    print(f"RESULT {result['labelled']} {time.perf_counter() - t:.1f}", flush=True)
""")


def _proc_kb(pid: int, field: str) -> int:
    """``VmRSS``/``VmHWM`` of a live process in kB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pseudo_label_peak(store: Path, work: Path, timeout_s: float, max_mb: float) -> dict:
    """Peak RSS (MB) of a child process running the product's pseudo-labelling over the store. The
    child is stopped (and the run reported unfinished) past ``timeout_s`` or ``max_mb`` of memory:
    the machine is shared."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "2"}
    out, err = work / "pseudo.out", work / "pseudo.err"
    start, stopped, hwm = time.monotonic(), None, 0
    with out.open("w") as fo, err.open("w") as fe:
        proc = subprocess.Popen([sys.executable, "-c", PSEUDO_CHILD, str(store)], cwd=ROOT, env=env,
                                stdout=fo, stderr=fe)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            hwm = max(hwm, _proc_kb(proc.pid, "VmHWM"))
            if stopped is None and _proc_kb(proc.pid, "VmRSS") > max_mb * 1024:
                stopped = f"stopped at {max_mb:.0f} MB of memory"
            elif stopped is None and time.monotonic() - start > timeout_s:
                stopped = f"stopped after {timeout_s:.0f} s"
            if stopped and proc.poll() is None:
                proc.kill()
            time.sleep(0.5)
        proc.returncode = os.waitstatus_to_exitcode(status)
    peak = max(usage.ru_maxrss, hwm) / 1024  # the child's own peak, from the kernel
    result = {"peak_mb": peak, "seconds": round(time.monotonic() - start, 1), "finished": stopped is None}
    if stopped:
        return {**result, "stopped": stopped, "log_tail": err.read_text()[-1500:]}
    if proc.returncode != 0:
        raise RuntimeError(f"pseudo-labelling failed: {err.read_text()[-3000:]}")
    return {**result, "labelled": int(out.read_text().split("RESULT", 1)[1].split()[0])}


IMPORT_CHILD = textwrap.dedent("""
    import sys, time
    from incseg_app.services import open_store, StoreSettings, images
    ctx = open_store(sys.argv[1], StoreSettings())
    t, cpu = time.perf_counter(), time.process_time()
    report = images.import_images(ctx, [sys.argv[2]])
    print(f"RESULT {len(report.imported)} {time.perf_counter() - t:.4f} {time.process_time() - cpu:.4f}", flush=True)
""")


def _timed_import(store: Path, source: Path) -> tuple[int, float, float]:
    """(images imported, wall seconds, CPU seconds) of ``import_images(source)`` into a new store, in a
    fresh process (the bench's own heap does not slow it), after flushing the disk cache's dirty pages
    so each run starts from the same state."""
    os.sync()
    done = subprocess.run([sys.executable, "-c", IMPORT_CHILD, str(store), str(source)], cwd=ROOT, check=True,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    count, seconds, cpu = done.stdout.split("RESULT", 1)[1].split()
    shutil.rmtree(store)
    return int(count), float(seconds), float(cpu)


def _alternate(folder: Path, archive: Path, stores: Path, runs: int, n: int) -> dict:
    """``runs`` alternating imports of the folder and of the zip into fresh stores under ``stores``."""
    times: dict[str, list[float]] = {"folder": [], "zip": []}
    cpu: dict[str, list[float]] = {"folder": [], "zip": []}
    for k in range(runs):
        for kind, path in (("folder", folder), ("zip", archive)):
            count, seconds, used = _timed_import(stores / f"incseg-scale-{kind}-{k}", path)
            assert count == n, (kind, count)
            times[kind].append(round(seconds, 3))
            cpu[kind].append(round(used, 3))
    return {"folder_s": min(times["folder"]), "zip_s": min(times["zip"]), "runs_s": times, "cpu_s": cpu,
            "ratio": min(times["zip"]) / min(times["folder"]), "cpu_ratio": min(cpu["zip"]) / min(cpu["folder"])}


def zip_vs_folder(work: Path, source: Path, n: int) -> dict:
    """Import ``n`` images from a folder and from a (deflated) zip of the same files into fresh stores,
    alternating; the ratio of the best wall times. The reported ratio comes from stores on a RAM disk
    (``/dev/shm``) when there is one: writing the blobs costs the same on both paths, and on this
    machine's shared disk its flush latency varied threefold between identical runs, drowning the
    difference being measured. The on-disk runs are reported beside it."""
    folder = work / "zipcase" / "photos"
    folder.mkdir(parents=True)
    files = sorted((source / "train" / "images").iterdir())[:n]
    for f in files:
        shutil.copyfile(f, folder / f.name)
    archive = work / "zipcase" / "photos.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"photos/{f.name}")
    ram = Path("/dev/shm")
    on_disk = _alternate(folder, archive, work / "zipcase", 3, len(files))
    in_ram = _alternate(folder, archive, ram, 5, len(files)) if ram.is_dir() and os.access(ram, os.W_OK) else None
    chosen = in_ram or on_disk
    return {"images": len(files), "stores": "RAM disk" if in_ram else "disk", "ratio": chosen["ratio"],
            "ram_disk": in_ram, "disk": on_disk}


def baselines() -> dict:
    """What the machine's load costs every CLI command: bare interpreter start, and importing
    SQLAlchemy's ORM (which any command that reads the store needs), median of 3 fresh processes."""
    def wall(code: str) -> float:
        times = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times.append(time.perf_counter() - t)
        return round(statistics.median(times), 3)
    return {"python_start_s": wall("pass"), "import_sqlalchemy_orm_s": wall("import sqlalchemy.orm")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--zip-images", type=int, default=4_000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--workdir", type=Path, default=None, help="where the store is built (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pseudo-timeout", type=float, default=3600.0, help="stop pseudo-labelling after this many s")
    parser.add_argument("--pseudo-max-mb", type=float, default=4096.0, help="stop pseudo-labelling above this RSS")
    args = parser.parse_args()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="incseg-scale-", dir=args.workdir))
    load = [os.getloadavg()]
    try:
        store, built = build_store(work, args.images, args.seed)
        print(f"built {built}", flush=True)
        n_total = built["images"]
        cli = {"dry_run_s": run_cli(["train", "--dry-run", "--storage", str(store)]),
               "images_list_s": run_cli(["images", "list", "--storage", str(store)]), **baselines()}
        load.append(os.getloadavg())
        ctx = open_store(store, StoreSettings())
        click_ms, click_fn = review_click_ms(ctx)
        pages = gallery_page_ms(ctx, n_total)
        ctx.close()
        load.append(os.getloadavg())
        pseudo = pseudo_label_peak(store, work, args.pseudo_timeout, args.pseudo_max_mb)
        load.append(os.getloadavg())
        zipped = zip_vs_folder(work, work / "source", min(args.zip_images, args.images))
        load.append(os.getloadavg())
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result = {"dry_run_s": round(cli["dry_run_s"], 3), "images_list_s": round(cli["images_list_s"], 3),
              "review_click_ms": round(click_ms, 1), "gallery_page_ms": round(max(pages.values()), 1),
              "pseudo_label_peak_mb": round(pseudo["peak_mb"], 1), "zip_vs_folder": round(zipped["ratio"], 3),
              "details": {"store": built, "review_click": click_fn, "gallery_pages_ms": pages,
                          "pseudo_label": pseudo, "zip": zipped, "cli_baselines": {k: v for k, v in cli.items()
                                                                                   if "import" in k or "start" in k},
                          "command": " ".join(sys.argv),
                          "loadavg": [[round(x, 2) for x in la] for la in load], "cpus": os.cpu_count(),
                          "python": platform.python_version()}}
    table = [("train --dry-run (s)", result["dry_run_s"], "≤ 2"), ("images list (s)", result["images_list_s"], "≤ 1"),
             ("review click (ms)", result["review_click_ms"], "≤ 300"),
             ("gallery page (ms)", result["gallery_page_ms"], "≤ 300"),
             ("pseudo-label peak (MB)", result["pseudo_label_peak_mb"], "≤ 2048"),
             ("zip / folder import", result["zip_vs_folder"], "≤ 1.5")]
    print(f"\n{'measure':26} {'value':>10}  target")
    for name, value, target in table:
        print(f"{name:26} {value:>10}  {target}")
    print(f"load average: {result['details']['loadavg']}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
