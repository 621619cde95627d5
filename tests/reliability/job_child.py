"""Child process of the job crash-window tests: does one thing with jobs on a store, then waits to be
SIGKILLed (or finishes).

Usage: ``python job_child.py MODE STORE`` with MODE one of
- ``queue``: create an exclusive training job (QUEUED, owned by this process), print its id, sleep;
- ``train``: run a long training job in a thread of this process (what ``incseg train`` does), print
  RUNNING once it runs, wait for it;
- ``train_kill_after_ready``: train a short step and SIGKILL this process the moment the new version
  has been committed ready (the crash window between "ready" and "activate").
"""
from __future__ import annotations

import os
import signal
import sys
import time

from incseg_app.services import StoreSettings, jobs, open_store, versions
from incseg_app.services.ml_settings import tiny_settings
from incseg_app.services.runner import JobRunner
from incseg_app.services.training import TrainRequest, start_training


def main(mode: str, store: str) -> None:
    ctx = open_store(store, StoreSettings(), tiny_settings())
    if mode == "queue":
        from incseg_app.domain import JobKind
        print(jobs.create_job(ctx, JobKind.TRAIN, exclusive=True).id, flush=True)
        time.sleep(600)
        return
    if mode == "train_kill_after_ready":
        mark_ready = versions.mark_ready

        def ready_then_die(*args, **kwargs):
            result = mark_ready(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
            return result

        versions.mark_ready = ready_then_die
    epochs = 400 if mode == "train" else 2
    runner = JobRunner(ctx, heartbeat_s=0.2, min_interval_s=0.0)
    job = start_training(ctx, runner, TrainRequest(method="finetune", epochs=epochs))
    while jobs.get_job(ctx, job.id).progress <= 0:
        time.sleep(0.05)
    print("RUNNING", job.id, flush=True)
    print(runner.wait(job.id).status.value, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
