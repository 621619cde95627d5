"""The training engine: every registered method trains base + one increment on the tiny model;
cancel, resume, frozen old model, and configuration errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from incseg_app.domain.config import MethodConfig, ModelConfig, TrainConfig
from incseg_app.domain.errors import CancelledError, ValidationError
from incseg_app.methods.registry import METHODS, get_method
from incseg_app.training import resume
from incseg_app.training.data import InMemoryDataset
from incseg_app.training.step import run_incremental_step

MODEL = ModelConfig(encoder="tiny", pretrained=False, embed_dim=32, decoder_heads=4, decoder_layers=1)
TRAIN = TrainConfig(epochs=2, batch_size=2, crop_size=32, lr=3e-3, seed=0)
COLOURS = {1: (220, 30, 30), 2: (30, 220, 30), 3: (30, 30, 220)}


def colour_items(n: int = 6, size: int = 48) -> InMemoryDataset:
    """Images whose classes are flat colours plus noise: quadrants of classes 1, 2, 3 and background."""
    rng = np.random.default_rng(0)
    items = []
    for i in range(n):
        mask = np.zeros((size, size), np.uint8)
        h = size // 2 + (i % 3) * 4
        mask[:h, :h], mask[:h, h:], mask[h:, :h] = 1, 2, 3
        image = rng.integers(0, 60, (size, size, 3)).astype(np.uint8)
        for cid, rgb in COLOURS.items():
            image[mask == cid] = np.clip(np.array(rgb) + rng.integers(-20, 20, 3), 0, 255).astype(np.uint8)
        items.append({"image": image, "mask": mask})
    return InMemoryDataset(items)


def _params(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_registered_method_trains_base_and_increment(name):
    method, data = get_method(name), colour_items()
    base = run_incremental_step(MODEL, TRAIN, method, MethodConfig(name), data, [1, 2])
    assert base.class_ids == (0, 1, 2) and base.step.step == 0
    parent = base.checkpoint()
    step = run_incremental_step(MODEL, TRAIN, method, MethodConfig(name), data, [3], parent)
    assert step.class_ids == (0, 1, 2, 3)
    assert step.group_sizes == ((4,) if method.joint else (3, 1))
    assert step.iterations == TRAIN.epochs * (len(data) // TRAIN.batch_size)
    assert step.losses and all(np.isfinite(v) for v in step.losses.values())
    after = _params(step.model)
    changed = [k for k, v in parent.state.items() if k in after and after[k].shape == v.shape
               and not torch.equal(after[k].cpu(), v)]
    assert "decoder.input_proj.weight" in changed
    with torch.no_grad():
        logits = step.model(torch.rand(1, 3, 32, 32)).logits
    assert logits.shape == (1, 4, 32, 32)


def test_loss_decreases_on_learnable_data():
    # whole 64×64 images in batches of 4: the tiny encoder's BatchNorm needs more than 2 tiny crops
    cfg = TrainConfig(epochs=5, batch_size=4, crop_size=64, lr=5e-3)
    data = colour_items(8, 64)
    result = run_incremental_step(MODEL, cfg, get_method("finetune"), MethodConfig("finetune"), data, [1, 2, 3])
    first, last = result.epoch_losses[0]["total"], result.epoch_losses[-1]["total"]
    assert last < 0.5 * first


def test_old_model_is_frozen_and_old_outputs_drive_distillation():
    data = colour_items()
    base = run_incremental_step(MODEL, TRAIN, get_method("mib"), MethodConfig("mib"), data, [1, 2])
    parent = base.checkpoint()
    step = run_incremental_step(MODEL, TRAIN, get_method("mib"), MethodConfig("mib"), data, [3], parent)
    assert step.step.old_channels == (0, 1, 2) and step.step.new_channels == (3,)
    assert "unkd" in step.losses and step.losses["unkd"] > 0
    assert all(torch.equal(v, parent.state[k]) for k, v in base.checkpoint().state.items())


def test_mib_background_init_sets_tokens_and_biases():
    data = colour_items()
    base = run_incremental_step(MODEL, TRAIN, get_method("mib"), MethodConfig("mib"), data, [1, 2])
    # exact values: without the bfloat16 rounding of changed weights that compact storage applies (test_deltas)
    one_iter = TrainConfig(epochs=1, batch_size=2, crop_size=32, lr=1e-12, max_iters=1, delta_weights=False)
    step = run_incremental_step(MODEL, one_iter, get_method("mib"), MethodConfig("mib"), data, [3], base.checkpoint())
    bias_bg_before = base.model.bias_groups[0][0].item()
    shift = float(np.log(2))
    assert step.model.bias_groups[0][0].item() == pytest.approx(bias_bg_before - shift, abs=1e-6)
    assert step.model.bias_groups[1][0].item() == pytest.approx(bias_bg_before - shift, abs=1e-6)
    bg = base.model.token_groups[0][0]
    noise = step.model.token_groups[1][0] - bg  # the copy plus noise of 2 × the background token's std
    assert 1.0 * bg.std() < noise.std() < 3.0 * bg.std()
    exact = run_incremental_step(MODEL, one_iter, get_method("mib"), MethodConfig("mib", {"mib_init": {"token_noise": 0}}),
                                 data, [3], base.checkpoint())
    assert torch.allclose(exact.model.token_groups[1][0], bg, atol=1e-6)


def test_cancel_raises_and_resume_continues_from_the_last_epoch(tmp_path):
    cfg = TrainConfig(epochs=3, batch_size=2, crop_size=32, lr=3e-3)
    method, data = get_method("mib"), colour_items()
    base = run_incremental_step(MODEL, cfg, method, MethodConfig("mib"), data, [1, 2]).checkpoint()
    straight = run_incremental_step(MODEL, cfg, method, MethodConfig("mib"), data, [3], base)
    calls = {"n": 0}

    def cancel_in_epoch_two() -> bool:
        calls["n"] += 1
        return calls["n"] > 4  # 3 iterations per epoch: stop in the second epoch

    with pytest.raises(CancelledError):
        run_incremental_step(MODEL, cfg, method, MethodConfig("mib"), data, [3], base,
                             should_cancel=cancel_in_epoch_two, resume_dir=tmp_path)
    saved = resume.load_state(tmp_path)
    assert saved is not None and saved.epoch == 1 and saved.iteration == 3
    resumed = run_incremental_step(MODEL, cfg, method, MethodConfig("mib"), data, [3], base, resume_dir=tmp_path)
    assert resumed.iterations == straight.iterations == 9
    assert resumed.epoch_losses[0] == straight.epoch_losses[0]
    for k, v in _params(straight.model).items():
        assert torch.allclose(_params(resumed.model)[k], v, atol=1e-6), k


def test_progress_reports_fraction_and_losses():
    seen = []
    run_incremental_step(MODEL, TRAIN, get_method("finetune"), MethodConfig("finetune"), colour_items(), [1],
                         progress=lambda f, msg, losses: seen.append((f, msg, losses)))
    assert [round(f, 3) for f, _, _ in seen] == [round(i / 6, 3) for i in range(1, 7)]
    assert "epoch 2/2" in seen[-1][1] and set(seen[-1][2]) == {"ce", "total"}


def test_a_method_with_every_loss_switched_off_is_rejected():
    cfg = MethodConfig("finetune", {"ce": {"enabled": False}})
    with pytest.raises(ValidationError, match="no loss term"):
        run_incremental_step(MODEL, TRAIN, get_method("finetune"), cfg, colour_items(), [1])


def test_step_inputs_are_validated():
    base = run_incremental_step(MODEL, TRAIN, get_method("finetune"), MethodConfig("finetune"), colour_items(), [1])
    with pytest.raises(ValidationError, match="already learned"):
        run_incremental_step(MODEL, TRAIN, get_method("finetune"), MethodConfig("finetune"), colour_items(), [1],
                             base.checkpoint())
    with pytest.raises(ValidationError, match="at least one new class"):
        run_incremental_step(MODEL, TRAIN, get_method("finetune"), MethodConfig("finetune"), colour_items(), [])
    with pytest.raises(ValidationError, match="no part"):
        run_incremental_step(MODEL, TRAIN, get_method("mib"), MethodConfig("mib", {"gsc": {}}), colour_items(), [1])


def test_unknown_method_lists_the_registry():
    with pytest.raises(ValidationError, match="finetune"):
        get_method("nope")


def test_resume_state_of_another_configuration_is_ignored(tmp_path):
    data = colour_items()
    cfg = TrainConfig(epochs=1, batch_size=2, crop_size=32, lr=3e-3)
    run_incremental_step(MODEL, cfg, get_method("finetune"), MethodConfig("finetune"), data, [1], resume_dir=tmp_path)
    assert resume.load_state(tmp_path).epoch == 1
    other = TrainConfig(epochs=1, batch_size=2, crop_size=32, lr=1e-3)
    result = run_incremental_step(MODEL, other, get_method("finetune"), MethodConfig("finetune"), data, [1],
                                  resume_dir=tmp_path)
    assert result.iterations == 3 and len(result.epoch_losses) == 1


def test_zero_encoder_lr_freezes_the_backbone_but_not_the_neck():
    cfg = TrainConfig(epochs=1, batch_size=2, crop_size=32, lr=3e-3, encoder_lr_mult=0.0)
    torch.manual_seed(0)
    from incseg_app.models.build import build_model
    start = _params(build_model(MODEL, (2,)))
    result = run_incremental_step(MODEL, cfg, get_method("finetune"), MethodConfig("finetune"), colour_items(), [1])
    after = _params(result.model)
    assert torch.equal(after["encoder.stages.0.0.weight"], start["encoder.stages.0.0.weight"])
    assert torch.equal(after["encoder.stages.0.1.running_mean"], start["encoder.stages.0.1.running_mean"])
    assert not torch.equal(after["encoder.fusion.smooth.0.weight"], start["encoder.fusion.smooth.0.weight"])
