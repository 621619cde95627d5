"""The GPU recipe's switches, exercised on CPU: DataLoader workers, torch.compile, pinned batches."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from incseg_app.domain.config import MethodConfig, TrainConfig
from incseg_app.methods.parts import Batch
from incseg_app.methods.registry import get_method
from incseg_app.training.step import run_incremental_step

sys.path.insert(0, str(Path(__file__).parent))
from test_loop import MODEL, colour_items  # noqa: E402

TRAINABLE = TrainConfig(epochs=2, batch_size=2, crop_size=32, lr=3e-3, encoder_lr_mult=0.1, seed=0)


def _train(cfg: TrainConfig):
    return run_incremental_step(MODEL, cfg, get_method("finetune"), MethodConfig("finetune"), colour_items(6), [1, 2])


def test_dataloader_workers_give_the_same_step_as_the_main_process():
    plain = _train(TRAINABLE)
    workers = _train(replace(TRAINABLE, num_workers=2))
    assert workers.epoch_losses == plain.epoch_losses
    for name, value in plain.model.state_dict().items():
        assert torch.equal(workers.model.state_dict()[name], value), name


@pytest.mark.parametrize("backend", ["eager", "aot_eager"])
def test_compiled_parts_train_like_the_eager_model(backend):
    plain = _train(replace(TRAINABLE, epochs=1))
    compiled = _train(replace(TRAINABLE, epochs=1, compile=backend))
    assert compiled.losses["ce"] == pytest.approx(plain.losses["ce"], rel=1e-4)
    assert set(compiled.model.state_dict()) == set(plain.model.state_dict())  # compiling keeps the checkpoint keys


def test_compiled_cached_step_runs_on_taps():
    cfg = replace(TRAINABLE, epochs=1, encoder_lr_mult=0.0, compile="eager")
    result = _train(cfg)
    assert result.feature_path["cached"] and result.losses["ce"] > 0


def test_batches_move_and_pin_both_pixels_and_taps():
    batch = Batch(None, torch.zeros(2, 4, 4, dtype=torch.long), torch.zeros(2, dtype=torch.bool), torch.ones(2, 4, 4),
                  torch.ones(2, 3), torch.arange(2), taps=(torch.zeros(2, 3, 1, 1, dtype=torch.float16),))
    moved = batch.to(torch.device("cpu"))
    assert moved.images is None and moved.taps[0].dtype == torch.float16 and moved.labels.shape == (2, 4, 4)
    if torch.cuda.is_available():  # page-locked memory needs a CUDA driver
        pinned = batch.pin_memory()
        assert pinned.images is None and pinned.taps[0].is_pinned() and pinned.labels.is_pinned()
