"""Behaviour of the incremental methods on a small synthetic task (tiny model, CPU, fixed seeds).

The task: 64×64 noise images (a multiple of the tiny encoder's coarsest stride, as the product's crops
are) with 16×16 coloured squares, one colour per class. The base step learns
classes 1 and 2; an increment learns class 3 on images that also show classes 1 and 2, labelled
background there (the overlapped CISS protocol), so a method that does nothing about background shift
forgets them. The assertions are about learning, not shapes: each would fail if the method stopped
doing what its paper says.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from incseg_app.domain.config import MethodConfig, ModelConfig, TrainConfig
from incseg_app.methods.fmwiss import InstanceMemory
from incseg_app.methods.registry import get_method
from incseg_app.training.data import InMemoryDataset
from incseg_app.training.evaluate import evaluate
from incseg_app.training.metrics import per_class_iou
from incseg_app.training.step import run_incremental_step

MODEL = ModelConfig(encoder="tiny", pretrained=False, embed_dim=32, decoder_heads=4, decoder_layers=1)
TRAIN = TrainConfig(epochs=30, batch_size=4, crop_size=64, lr=5e-3, device="cpu", seed=0, scales=(1.0,))
COLOURS = {1: (220, 40, 40), 2: (40, 220, 40), 3: (40, 40, 220), 4: (220, 220, 40)}
CPU = torch.device("cpu")


def squares(n: int, classes: tuple[int, ...], seed: int, weak: bool = False) -> InMemoryDataset:
    """n images, each with one square per class in a random quadrant; ``weak``: the masks keep only the
    last class (a pseudo-mask from tags of a one-class step) and mark a band as unsure."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        image = rng.integers(0, 70, (64, 64, 3)).astype(np.uint8)
        mask = np.zeros((64, 64), np.uint8)
        for cid, cell in zip(classes, rng.permutation(4)):
            y, x = (cell // 2) * 32 + int(rng.integers(0, 14)), (cell % 2) * 32 + int(rng.integers(0, 14))
            image[y:y + 16, x:x + 16] = np.clip(np.array(COLOURS[cid]) + rng.integers(-25, 25, 3), 0, 255)
            mask[y:y + 16, x:x + 16] = cid
        item = {"image": image, "mask": mask, "image_id": i}
        if weak:
            pseudo = np.where(mask == classes[-1], mask, 0).astype(np.uint8)
            pseudo[62:] = 255
            item.update(mask=pseudo, weak=True, confidence=np.where(pseudo == 0, 0.6, 0.9).astype(np.float32))
        items.append(item)
    return InMemoryDataset(items)


def ious(result, test: InMemoryDataset) -> np.ndarray:
    return per_class_iou(evaluate(result.model, test, result.class_ids, CPU))


@pytest.fixture(scope="module")
def base_step():
    torch.set_num_threads(1)
    base = run_incremental_step(MODEL, TRAIN, get_method("finetune"), MethodConfig("finetune"), squares(16, (1, 2), 0),
                                (1, 2))
    test = squares(8, (1, 2, 3, 4), 2)
    before = ious(base, test)
    assert before[1] > 0.6 and before[2] > 0.6, f"the base step did not learn the toy task: {before}"
    return base.checkpoint(), test


@pytest.fixture(scope="module")
def finetune_increment(base_step):
    parent, test = base_step
    step = run_incremental_step(MODEL, TRAIN, get_method("finetune"), MethodConfig("finetune"),
                                squares(16, (1, 2, 3), 1), (3,), parent)
    return ious(step, test)


@pytest.mark.parametrize("name, weak", [("mib", False), ("gsc", False), ("incrementer", False), ("fmwiss", False),
                                        ("fmwiss", True)])
def test_incremental_methods_keep_old_classes_far_better_than_finetune_and_learn_the_new_one(
        base_step, finetune_increment, name, weak):
    parent, test = base_step
    old_finetune = finetune_increment[1:3].mean()
    assert old_finetune < 0.15, f"finetune did not forget on this task, so it cannot tell: {finetune_increment}"
    step = run_incremental_step(MODEL, TRAIN, get_method(name), MethodConfig(name), squares(16, (1, 2, 3), 1, weak),
                                (3,), parent)
    after = ious(step, test)
    assert after[1:3].mean() > old_finetune + 0.4, f"{name} forgot the old classes: {after} vs finetune {finetune_increment}"
    assert after[3] > 0.3, f"{name} did not learn the new class: {after}"


@pytest.mark.xfail(strict=True, reason=(
    "known defect (issue 12, open): on this toy task the second increment's new class token takes over the "
    "pixels of the first increment's class within a few iterations (confusion: 1210 of 2048 class-3 pixels "
    "predicted as class 4 after 5 epochs at lr 1e-3), with or without gradient compensation, so the "
    "compensation cannot slow that step's forgetting; it passed on 48-px images before the backbone padded "
    "its input to a multiple of 32"))
def test_gsc_gives_more_weight_to_the_step_that_forgets_faster(base_step):
    """Three steps; class 3 (step 1) is absent from step 2's images, so without compensation it forgets
    fastest (at the step-2 learning rate used here) while the base classes, present and pseudo-labelled
    in every image, do not. GSC's factors must single out step 1, and the compensation must cut its
    forgetting without costing step 0."""
    parent, test = base_step
    gsc = get_method("gsc")
    step1 = run_incremental_step(MODEL, TRAIN, gsc, MethodConfig("gsc"), squares(16, (1, 2, 3), 1), (3,), parent)
    after1 = ious(step1, test)
    data2, fast = squares(16, (1, 2, 4), 3), replace(TRAIN, lr=1e-2)
    off = run_incremental_step(MODEL, fast, gsc, MethodConfig("gsc", {"gsc_gradcomp": {"enabled": False}}), data2,
                               (4,), step1.checkpoint())
    on = run_incremental_step(MODEL, fast, gsc, MethodConfig("gsc"), data2, (4,), step1.checkpoint())
    forget_off, forget_on = after1 - ious(off, test)[:4], after1 - ious(on, test)[:4]
    step0_off, step1_off = forget_off[1:3].mean(), forget_off[3]
    assert step1_off > step0_off + 0.3, f"the toy task did not make step 1 forget faster: {forget_off}"
    factors = on.part_summaries["gsc_gradcomp"]["final_step_factors"]
    assert factors["1"] > 1.1 * factors["0"], factors
    assert forget_on[3] < step1_off - 0.15, f"compensation did not slow step 1's forgetting: {forget_on} vs {forget_off}"
    assert forget_on[1:3].mean() < step0_off + 0.1, f"compensation cost the base step: {forget_on} vs {forget_off}"


def test_memory_copy_paste_pastes_in_a_multi_step_run(base_step):
    """FMWISS over two weak increments: the memory written by each step reaches the next one, which
    pastes instances of the classes it holds (and only old ones)."""
    parent, _ = base_step
    fmwiss = get_method("fmwiss")
    cfg = MethodConfig("fmwiss", {"fmwiss_copypaste": {"prob": 1.0, "min_area": 16},
                                  "fmwiss_teacher": {"width": 16, "embed_dim": 8, "samples": 128}})
    short = TrainConfig(epochs=2, batch_size=4, crop_size=64, lr=5e-3, device="cpu", seed=0, scales=(1.0,))
    step1 = run_incremental_step(MODEL, short, fmwiss, cfg, squares(8, (1, 2, 3), 1, weak=True), (3,), parent)
    assert step1.part_summaries["fmwiss_copypaste"]["pasted"] == 0  # the finetune base left no memory
    memory = InstanceMemory.from_bytes(step1.carry.memory)
    assert memory.classes == (3,) and len(memory.get(3)) == 8
    step2 = run_incremental_step(MODEL, short, fmwiss, cfg, squares(8, (1, 2, 4), 3, weak=True), (4,),
                                 step1.checkpoint(), carry=step1.carry)
    summary = step2.part_summaries["fmwiss_copypaste"]
    assert summary["pasted"] >= 4 * step2.iterations  # prob 1: every image gets at least one instance
    assert summary["memory"] == {"3": 8, "4": 8}
