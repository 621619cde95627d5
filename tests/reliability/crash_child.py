"""Child process of the crash tests: runs one long write against a store until the test SIGKILLs it.

Usage: ``python crash_child.py MODE STORE [SOURCE]`` with MODE one of ``import`` (imports the image
files of the folder SOURCE in batches of 10, each an all-or-nothing call, forever), ``pseudo_label``
and ``train`` (a JobRunner job, exactly what the web UI starts, waited for). Prints READY once the
store is open so the parent knows the imports are done.
"""
from __future__ import annotations

import sys
from pathlib import Path

from incseg_app.services import StoreSettings, open_store
from incseg_app.services.ml_settings import tiny_settings

TRAIN_EPOCHS = 40


def main(mode: str, store: str, source: str | None = None) -> None:
    ctx = open_store(store, StoreSettings(), tiny_settings())
    print("READY", flush=True)
    if mode == "import":
        from incseg_app.services.images import import_images
        files = sorted(Path(source).iterdir())
        while True:
            for start in range(0, len(files), 10):
                import_images(ctx, files[start:start + 10], tags=["red square"])
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
