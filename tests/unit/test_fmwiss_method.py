"""FMWISS as a method: its parts, combination with GSC / Incrementer, and a base + weak increment on
the tiny model through the engine."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from incseg_app.domain.config import MethodConfig, ModelConfig, TrainConfig
from incseg_app.domain.errors import ValidationError
from incseg_app.methods.fmwiss import FMWISS, InstanceMemory
from incseg_app.methods.parts import Method

TINY = ModelConfig(encoder="tiny", pretrained=False, embed_dim=32, decoder_heads=4, decoder_layers=1)


def test_fmwiss_parts_in_order_and_ablation():
    assert FMWISS.part_names == ("fmwiss_copypaste", "bg_init", "ce", "kd", "fmwiss_teacher", "fmwiss_student")
    parts = FMWISS.build(MethodConfig(name="fmwiss", parts={"fmwiss_teacher": {"enabled": False},
                                                              "fmwiss_student": {"alpha": 1}}))
    assert [p.name for p in parts] == ["fmwiss_copypaste", "bg_init", "ce", "kd", "fmwiss_student"]
    assert parts[-1].options.alpha == 1.0
    with pytest.raises(ValidationError, match="fmwiss_teacher"):
        FMWISS.build(MethodConfig(name="fmwiss", parts={"fmwiss_teacher": {"temperature": 0}}))
    with pytest.raises(ValidationError, match="rates"):
        FMWISS.build(MethodConfig(name="fmwiss", parts={"fmwiss_teacher": {"rates": "6,12"}}))


def test_a_student_listed_before_its_teacher_is_refused_when_the_method_is_built():
    from incseg_app.methods.parts import PartSpec

    specs = {s.name: s for s in FMWISS.parts}
    swapped = Method("swapped", FMWISS.paper, tuple(specs[n] for n in (
        "fmwiss_copypaste", "ce", "fmwiss_student", "fmwiss_teacher")))
    with pytest.raises(ValidationError, match="fmwiss_student.*teacher.*fmwiss_teacher"):
        swapped.build(MethodConfig(name="swapped"))
    # without the teacher the student runs alone (alpha = 0, beta = 1): no ordering problem
    alone = swapped.build(MethodConfig(name="swapped", parts={"fmwiss_teacher": {"enabled": False}}))
    assert [p.name for p in alone] == ["fmwiss_copypaste", "ce", "fmwiss_student"]
    assert isinstance(specs["ce"], PartSpec)


def test_fmwiss_combines_with_gsc_and_incrementer_without_duplicate_parts():
    from incseg_app.methods.gsc import GSC
    from incseg_app.methods.incrementer import INCREMENTER

    for other in (GSC, INCREMENTER):
        combined = FMWISS + other
        names = combined.part_names
        assert len(names) == len(set(names)) and names.count("ce") == 1
        assert set(FMWISS.part_names) | set(other.part_names) == set(names)
        assert isinstance(combined, Method) and combined.name == f"fmwiss+{other.name}"


def _square_item(classes: dict[int, tuple[int, int, int]], weak: bool, seed: int) -> dict:
    """64×64 image with one 20×20 square per class (colour-coded), a pseudo-mask when ``weak``."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 40, (64, 64, 3), dtype=np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    for i, (cid, colour) in enumerate(classes.items()):
        top, left = int(rng.integers(0, 12)) + 32 * (i // 2), int(rng.integers(0, 12)) + 32 * (i % 2)
        image[top:top + 20, left:left + 20] = colour
        mask[top:top + 20, left:left + 20] = cid
    item = {"image": image, "mask": mask, "weak": weak, "image_id": seed}
    if weak:
        mask[60:][mask[60:] == 0] = 255  # unsure pixels
        item["confidence"] = np.where(mask == 0, 0.6, 0.9).astype(np.float32)
    return item


def test_fmwiss_trains_base_and_a_weak_increment_on_the_tiny_model():
    from incseg_app.training.checkpoint import Checkpoint
    from incseg_app.training.data import InMemoryDataset
    from incseg_app.training.step import run_incremental_step

    red, green, blue = (220, 30, 30), (30, 220, 30), (30, 30, 220)
    base = InMemoryDataset([_square_item({1: red, 2: green}, False, s) for s in range(4)])
    weak = InMemoryDataset([_square_item({3: blue, 1: red}, True, 10 + s) for s in range(4)])
    cfg = MethodConfig(name="fmwiss", parts={"fmwiss_copypaste": {"prob": 1.0, "min_area": 16},
                                            "fmwiss_teacher": {"width": 16, "embed_dim": 8, "samples": 128}})
    base_cfg = TrainConfig(epochs=2, batch_size=2, crop_size=48, lr=1e-2, device="cpu", max_iters=4)
    first = run_incremental_step(TINY, base_cfg, FMWISS, cfg, base, (1, 2))
    memory = InstanceMemory.from_bytes(first.carry.memory)
    # needs StepRun.class_ids (training/step.py passes the channel -> stable class id map)
    assert memory.classes == (1, 2), "the engine did not pass StepRun.class_ids"
    assert all(len(memory.get(c)) == 4 for c in (1, 2))
    assert first.losses["fmwiss_teacher_bce"] == 0.0 and "fmwiss_student" not in first.losses

    parent = Checkpoint(state={k: v.detach().clone() for k, v in first.model.state_dict().items()},
                        model_cfg=TINY, group_sizes=first.group_sizes, class_ids=first.class_ids)
    step_cfg = TrainConfig(epochs=1, batch_size=2, crop_size=48, lr=1e-3, device="cpu", max_iters=2)
    second = run_incremental_step(TINY, step_cfg, FMWISS, cfg, weak, (3,), parent,
                                  carry=first.carry)
    # every image is weak: the student distils the old classes there, so the KD slot stays silent
    assert {"unce", "fmwiss_teacher_bce", "fmwiss_teacher_nce", "fmwiss_student"} <= set(second.losses)
    assert "kd" not in second.losses and "unkd" not in second.losses
    assert all(math.isfinite(v) for v in second.losses.values()), second.losses
    assert second.losses["fmwiss_teacher_bce"] > 0 and second.losses["fmwiss_student"] > 0
    # the teacher is dropped: the only new weights are the grown token group's
    assert set(second.model.state_dict()) - set(first.model.state_dict()) == {
        "decoder.token_groups.1", "decoder.bias_groups.1"}
    grown = InstanceMemory.from_bytes(second.carry.memory)
    assert grown.classes == (1, 2, 3) and len(grown.get(3)) == 4
    with torch.no_grad():
        assert second.model(torch.rand(1, 3, 48, 48)).logits.shape == (1, 4, 48, 48)


@pytest.mark.parametrize("other", ["gsc", "incrementer"])
def test_fmwiss_combined_with_another_method_trains_a_weak_increment(other):
    from incseg_app.methods.gsc import GSC
    from incseg_app.methods.incrementer import INCREMENTER
    from incseg_app.training.checkpoint import Checkpoint
    from incseg_app.training.data import InMemoryDataset
    from incseg_app.training.step import run_incremental_step

    method = FMWISS + {"gsc": GSC, "incrementer": INCREMENTER}[other]
    red, green, blue = (220, 30, 30), (30, 220, 30), (30, 30, 220)
    base = InMemoryDataset([_square_item({1: red, 2: green}, False, s) for s in range(2)])
    weak = InMemoryDataset([_square_item({3: blue, 1: red}, True, 10 + s) for s in range(2)])
    cfg = MethodConfig(name=method.name, parts={"fmwiss_teacher": {"width": 16, "embed_dim": 8, "samples": 64}})
    train = TrainConfig(epochs=1, batch_size=2, crop_size=48, lr=1e-3, device="cpu", max_iters=1)
    first = run_incremental_step(TINY, train, method, cfg, base, (1, 2))
    parent = Checkpoint(state={k: v.detach().clone() for k, v in first.model.state_dict().items()},
                        model_cfg=TINY, group_sizes=first.group_sizes, class_ids=first.class_ids)
    second = run_incremental_step(TINY, train, method, cfg, weak, (3,), parent,
                                  carry=first.carry)
    assert {"fmwiss_teacher_bce", "fmwiss_student"} <= set(second.losses)
    assert all(math.isfinite(v) for v in second.losses.values()), second.losses
