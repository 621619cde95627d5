"""Child process of the crash and concurrency tests: runs one long write against a store until the
test SIGKILLs it (or until it ends).

Usage: ``python crash_child.py MODE STORE [SOURCE]`` with MODE one of
- ``import``: imports the image files of the folder SOURCE in calls of 10 files, forever;
- ``import_batched``: one import of every file of SOURCE, committed in batches of 10;
- ``import_slow``: one import of SOURCE whose file checks take 0.1 s each (a long check phase);
- ``import_long_tx``: one import of SOURCE whose write transactions last 0.25 s per image
  (``INCSEG_TEST_BATCH`` images per batch), so each batch holds the write lock that long;
  imports use ``INCSEG_TEST_BATCH`` (default 10) and ``INCSEG_TEST_BUSY_MS`` (default 30000);
- ``export``: ``export_store`` of STORE into SOURCE/k.zip, forever;
- ``restore``: ``import_store`` of the archive SOURCE into STORE/restored-k, forever;
- ``dataset_zip``: ``import_dataset`` of the zip SOURCE, forever;
- ``pseudo_label`` and ``train``: a JobRunner job, exactly what the web UI starts, waited for.
Prints READY once the store is open, DONE when a finite mode ends.
"""
from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

from incseg_app.services import StoreSettings, open_store
from incseg_app.services.ml_settings import tiny_settings

TRAIN_EPOCHS = 40


def _slow(module, name: str, seconds: float) -> None:
    """Make ``module.name`` sleep ``seconds`` per call (per image for a batch insert) before running."""
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        n = len(args[1]) if name == "add_many" else 1
        time.sleep(seconds * n)
        return real(*args, **kwargs)
    setattr(module, name, wrapped)


def _imports(mode: str, store: str, source: str) -> None:
    from incseg_app.services import images
    from incseg_app.storage.repositories import ImageRepo

    files = sorted(Path(source).iterdir())
    batch = int(os.environ.get("INCSEG_TEST_BATCH", "10"))
    busy_ms = int(os.environ.get("INCSEG_TEST_BUSY_MS", "30000"))
    ctx = open_store(store, StoreSettings(import_batch=batch, busy_timeout_ms=busy_ms), tiny_settings())
    print("READY", flush=True)
    if mode == "import":
        while True:
            for start in range(0, len(files), 10):
                images.import_images(ctx, files[start:start + 10], tags=["red square"])
    if mode == "import_slow":
        _slow(images, "validate_image", 0.1)
    if mode == "import_long_tx":
        _slow(ImageRepo, "add_many", 0.25)
    images.import_images(ctx, files, tags=["red square"])
    print("DONE", flush=True)


def _loops(mode: str, store: str, source: str) -> None:
    from incseg_app.services import backup, datasets

    if mode == "restore":
        print("READY", flush=True)
        for k in itertools.count():
            backup.import_store(source, Path(store) / f"restored-{k}")  # STORE: the folder to restore in
    ctx = open_store(store, StoreSettings(), tiny_settings())
    print("READY", flush=True)
    for k in itertools.count():
        if mode == "export":
            backup.export_store(ctx, Path(source) / f"{k % 2}.zip")
        else:
            datasets.import_dataset(ctx, source)


def main(mode: str, store: str, source: str | None = None) -> None:
    if mode.startswith("import"):
        _imports(mode, store, source)
        return
    if mode in ("export", "restore", "dataset_zip"):
        _loops(mode, store, source)
    ctx = open_store(store, StoreSettings(), tiny_settings())
    print("READY", flush=True)
    from incseg_app.services.runner import JobRunner
    runner = JobRunner(ctx, heartbeat_s=0.2, min_interval_s=0.0)
    if mode == "pseudo_label":
        from incseg_app.services.labeling import start_pseudo_labeling
        job = start_pseudo_labeling(ctx, runner)
    elif mode == "train":
        from incseg_app.services.training import TrainRequest, start_training
        job = start_training(ctx, runner, TrainRequest(method="finetune", epochs=TRAIN_EPOCHS))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(runner.wait(job.id).status.value, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
