"""Review-screen latency: server time of the clicks a reviewer makes, on CPU with the fallback refiner.

A store is built from a folder dataset (``--data``, the ``../shared/data`` layout: ``train/images``,
``train/labels``, ``classes.json``): a seeded random subset of train images, tagged with the classes
their label map contains, each with a draft mask waiting for review (the dataset's label map, shifted
by one because the store keeps id 0 for background, with a random mean confidence). Then the review
tab's own handlers run as the browser would call them, and each call is timed, including encoding the
value sent to the browser (the editor's ``postprocess``):

* ``accept_next_ms`` — Accept, then the next item opens (``review_tab.decide`` + the new editor value);
* ``refine_ms`` — one click-to-refine (the editor's ``refine`` server function: decode the map,
  answer the click, encode the result), after the item's region tree was built when it opened
  (``regions_ms`` times that build, done once per image while the reviewer looks at it);
* ``save_ms`` — Save of an edited map (``review_tab.save`` with a PNG of class ids + the next item).

Between clicks the bench waits for the background prefetch of the next items, as a reviewer's look
at the image does. ``queue_ms`` times the queue query on a synthetic store of ``--queue-images``
images (rows only). Results: p50/p95 in milliseconds and the load average (the machine is shared).

    python bench/ui_latency.py --data ../shared/data/camvid --out bench/results/ui_latency.json
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")

import io  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from incseg_app.domain.enums import MaskKind, ReviewStatus, Split  # noqa: E402
from incseg_app.services import StoreSettings, classes, images, masks, open_store, review_editor  # noqa: E402
from incseg_app.services.ml_settings import MLSettings  # noqa: E402
from incseg_app.ui import review_tab  # noqa: E402
from incseg_app.ui.mask_editor import MaskEditor  # noqa: E402
from incseg_app.ui.mask_editor.component import EditorState, pack_ids, unpack_ids  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from click_regions import next_click  # noqa: E402  (the simulated reviewer of bench/click_regions.py)

FILTERS = ("to_review", "", "likely_wrong")


def build_store(root: Path, data: Path, n_images: int, seed: int):
    """A store with the dataset's classes and ``n_images`` drafts waiting for review."""
    ctx = open_store(root, StoreSettings(), ml=MLSettings())
    names = json.loads((data / "classes.json").read_text())["classes"]
    for name in names:
        classes.create_class(ctx, name)
    files = sorted((data / "train" / "images").glob("*"))
    rng = np.random.default_rng(seed)
    picked = [files[i] for i in sorted(rng.choice(len(files), min(n_images, len(files)), replace=False))]
    for path in picked:
        label = np.asarray(Image.open(data / "train" / "labels" / f"{path.stem}.png"))
        shifted = np.where(label == 255, 255, label.astype(np.int32) + 1).astype(np.uint8)
        tags = [names[c] for c in np.unique(label) if c != 255]
        record = images.import_images(ctx, [path], tags, Split.TRAIN).imported[0]
        masks.save_mask(ctx, record.id, shifted, MaskKind.PSEUDO, ReviewStatus.TO_REVIEW, force=True,
                        confidence=float(rng.uniform(0.3, 0.95)), source="dataset labels (bench)")
    return ctx


class Clock:
    """Wall and CPU milliseconds of the timed calls (CPU time does not grow with other processes' load)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> "Clock":
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall.append(1000 * (time.perf_counter() - self._wall))
        self.cpu.append(1000 * (time.process_time() - self._cpu))


def open_item(editor: MaskEditor, view: tuple) -> dict | None:
    cur, value = view[0], view[1]
    editor.postprocess(value)
    return cur


def bench_accept(ctx, editor: MaskEditor, n: int) -> Clock:
    cur = open_item(editor, review_tab.at(ctx, 0, *FILTERS))
    clock = Clock()
    for _ in range(n):
        review_editor.wait_for_prefetch()  # the reviewer looks at the image meanwhile
        with clock:
            result = review_tab.decide(ctx, "accept", cur, None, [], *FILTERS)
            editor.postprocess(result[2])
        cur = result[1]
    return clock


def bench_refine_and_save(ctx, editor: MaskEditor, n_items: int, clicks: int) -> tuple[Clock, ...]:
    """Clocks of the region maps (per item), one refine click, and a save (per item)."""
    regions, refine, save = Clock(), Clock(), Clock()
    cur = open_item(editor, review_tab.at(ctx, 0, *FILTERS))
    for _ in range(n_items):
        review_editor.wait_for_prefetch()  # the reviewer looks at the image meanwhile
        image_id = cur["image_id"]
        with regions:
            editor.regions({"image_id": image_id})
        draft = masks.read_mask(ctx, cur["mask_id"])
        target = draft == draft[draft.shape[0] // 2, draft.shape[1] // 2]
        cid = int(draft[draft.shape[0] // 2, draft.shape[1] // 2]) or 1
        if cid == 255:
            cid = 1
        base, points, work = np.zeros_like(draft), [], np.zeros_like(draft)
        for _ in range(clicks):
            click = next_click(work == cid, target, draft != 255)
            if click is None:
                break
            points.append(list(click))
            payload = {"image_id": image_id, "width": draft.shape[1], "height": draft.shape[0], "class_id": cid,
                       "points": points, "scale": "medium", "labels": pack_ids(base)}
            with refine:
                out = editor.refine(payload)
            work = unpack_ids(out["labels"], draft.shape[1], draft.shape[0])
        edited = draft.copy()
        edited[work == cid] = cid
        edited[:8, :8] = 0 if draft[0, 0] else 255  # a change even when the clicks rebuilt the draft
        state = EditorState(image_id, cur["mask_id"], png_bytes(edited))
        with save:
            result = review_tab.save(ctx, cur, state, [], *FILTERS)
            assert result[0].startswith("✓"), result[0]
            editor.postprocess(result[2])
        cur = result[1]
    return regions, refine, save


def png_bytes(mask: np.ndarray) -> bytes:
    """The grey PNG of class ids the editor sends on Save."""
    buf = io.BytesIO()
    Image.fromarray(mask, mode="L").save(buf, format="PNG")
    return buf.getvalue()


def time_queue(root: Path, n_images: int, repeats: int = 5) -> dict:
    """Median ms of one queue page on a store of ``n_images`` images with a draft each (rows only:
    every row points at the same image blob), at the start, the middle and the end of the queue."""
    from sqlalchemy import insert

    from incseg_app.services import review
    from incseg_app.storage.orm import ImageRow, ImageTagRow, MaskRow

    ctx = open_store(root, StoreSettings(), ml=MLSettings())
    for name in ("a", "b", "c"):
        classes.create_class(ctx, name)
    rng = np.random.default_rng(0)
    with ctx.unit_of_work(write=True) as s:
        s.execute(insert(ImageRow), [{"id": i, "sha256": f"{i:064x}", "width": 480, "height": 360, "split": "train",
                                      "original_name": f"img{i}.jpg"} for i in range(1, n_images + 1)])
        s.execute(insert(ImageTagRow), [{"image_id": i, "class_id": 1 + i % 3} for i in range(1, n_images + 1)])
        s.execute(insert(MaskRow), [{"image_id": i, "kind": "pseudo", "status": "to_review", "sha256": "0" * 64,
                                     "confidence": float(c), "author": "", "source": ""}
                                    for i, c in zip(range(1, n_images + 1), rng.uniform(0, 1, n_images))])
    out = {}
    for label, filt, position in (("first", review.QueueFilter(), 0),
                                  ("middle", review.QueueFilter(), n_images // 2),
                                  ("last", review.QueueFilter(), n_images - 1),
                                  ("tagged", review.QueueFilter(tag="b"), 0),
                                  ("image_order", review.QueueFilter(order="image"), n_images // 2)):
        clock = Clock()
        for _ in range(repeats):
            with clock:
                review.queue_item(ctx, filt, position)
        out[label] = {"wall": round(float(np.median(clock.wall)), 2), "cpu": round(float(np.median(clock.cpu)), 2)}
    out["images"] = n_images
    ctx.close()
    return out


def stats(clock: Clock) -> dict:
    """p50/p95 (and mean, max) of the wall times, and the same of the CPU times under "cpu"."""
    def summary(values: list[float]) -> dict:
        arr = np.asarray(values, dtype=np.float64)
        return {"p50": round(float(np.percentile(arr, 50)), 2), "p95": round(float(np.percentile(arr, 95)), 2),
                "mean": round(float(arr.mean()), 2), "max": round(float(arr.max()), 2), "n": int(arr.size)}
    return {**summary(clock.wall), "cpu": summary(clock.cpu)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/camvid"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--images", type=int, default=60, help="drafts in the store (seeded random subset)")
    parser.add_argument("--accepts", type=int, default=30)
    parser.add_argument("--edit-items", type=int, default=12, help="items clicked on and saved")
    parser.add_argument("--clicks", type=int, default=5, help="refine clicks per item")
    parser.add_argument("--queue-images", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory(prefix="incseg-ui-latency-") as tmp:
        ctx = build_store(Path(tmp) / "store", args.data, args.images, args.seed)
        editor = MaskEditor(refine_fn=review_tab.refine_fn(ctx), render=False,
                            regions_fn=lambda image_id: review_editor.region_maps(ctx, image_id))
        regions, refine, save = bench_refine_and_save(ctx, editor, args.edit_items, args.clicks)
        accept = bench_accept(ctx, editor, min(args.accepts, args.images - args.edit_items - 1))
        queue = time_queue(Path(tmp) / "big", args.queue_images) if args.queue_images else {}
        ctx.close()
    result = {"accept_next_ms": stats(accept), "refine_ms": stats(refine), "save_ms": stats(save),
              "regions_ms": stats(regions), "queue_ms": queue, "threads": torch.get_num_threads(),
              "refiner": "region hierarchy over SLIC superpixels (no SAM)", "images": args.images,
              "data": str(args.data), "seed": args.seed, "loadavg": [round(x, 2) for x in os.getloadavg()],
              "targets_ms": {"accept_next_ms": 300, "refine_ms_p95": 150, "save_ms": 300}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"{'what':16s} {'p50 ms':>8s} {'p95 ms':>8s} {'cpu p50':>8s} {'cpu p95':>8s} {'n':>4s}")
    for key in ("accept_next_ms", "refine_ms", "save_ms", "regions_ms"):
        r = result[key]
        print(f"{key:16s} {r['p50']:8.1f} {r['p95']:8.1f} {r['cpu']['p50']:8.1f} {r['cpu']['p95']:8.1f} {r['n']:4d}")
    for key, value in queue.items():
        print(f"queue {key:10s} {value}")
    print(f"load average {result['loadavg']}")


if __name__ == "__main__":
    main()
