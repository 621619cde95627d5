"""FMWISS instance memory and copy-paste: capacity, policies, pickle-free bytes, instance extraction,
pasting exactly under the mask, and the part's step hooks."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from incseg_app.domain.config import MethodConfig, TrainConfig
from incseg_app.domain.errors import BadFileError, ValidationError
from incseg_app.methods.fmwiss.copypaste import CopyPasteOptions, CopyPastePart, instance_tensors, paste_instance
from incseg_app.methods.fmwiss.memory import Instance, InstanceMemory, extract_instances
from incseg_app.methods.parts import Batch, StepCarry, StepInfo, StepRun


def _instance(channel: int, score: float = 1.0, h: int = 3, w: int = 4, seed: int = 0) -> Instance:
    rng = np.random.default_rng(seed)
    mask = rng.random((h, w)) > 0.3
    mask[0, 0] = True
    return Instance(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), mask, channel, score)


@pytest.mark.parametrize("policy", ["reservoir", "best"])
def test_memory_keeps_at_most_capacity_per_class(policy):
    memory = InstanceMemory(capacity=3, policy=policy, seed=0)
    for i in range(10):
        memory.add(_instance(1, score=i / 10, seed=i))
    memory.add(_instance(2))
    assert len(memory.get(1)) == 3 and len(memory.get(2)) == 1
    assert memory.seen == {1: 10, 2: 1}
    assert memory.classes == (1, 2)


def test_best_policy_keeps_the_highest_scores():
    memory = InstanceMemory(capacity=2, policy="best")
    for score in (0.3, 0.9, 0.1, 0.5):
        memory.add(_instance(1, score=score))
    assert sorted(i.score for i in memory.get(1)) == [0.5, 0.9]


def test_reservoir_keeps_late_instances_too():
    memory = InstanceMemory(capacity=5, policy="reservoir", seed=3)
    for i in range(200):
        memory.add(_instance(1, score=i / 200, h=1, w=1))
    assert max(i.score for i in memory.get(1)) > 0.25  # not just the first five offered


def test_memory_round_trips_through_pickle_free_bytes():
    memory = InstanceMemory(capacity=4, policy="best")
    for i, channel in enumerate((1, 1, 3)):
        memory.add(_instance(channel, score=0.5 + i / 10, h=2 + i, w=5 - i, seed=i))
    blob = memory.to_bytes()
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)
    back = InstanceMemory.from_bytes(blob)
    assert (back.capacity, back.policy, back.seen) == (4, "best", {1: 2, 3: 1})
    for channel in (1, 3):
        for a, b in zip(memory.get(channel), back.get(channel)):
            assert np.array_equal(a.crop, b.crop) and np.array_equal(a.mask, b.mask)
            assert (a.channel, a.score) == (b.channel, pytest.approx(b.score))
    assert InstanceMemory.from_bytes(InstanceMemory(2).to_bytes()).classes == ()


def test_memory_rejects_blobs_that_are_not_memories():
    with pytest.raises(BadFileError, match="instance memory"):
        InstanceMemory.from_bytes(b"not a zip file")
    buf = io.BytesIO()
    np.savez(buf, format=np.array([1, 2, 0]))
    with pytest.raises(BadFileError, match="instance memory"):
        InstanceMemory.from_bytes(buf.getvalue())
    with pytest.raises(ValidationError):
        InstanceMemory(capacity=0)


def test_extract_instances_keeps_the_largest_component_with_its_confidence():
    labels = np.zeros((20, 20), dtype=np.uint8)
    labels[1:3, 1:6] = 2  # 10 pixels
    labels[10:16, 8:13] = 2  # 30 pixels, the largest
    labels[0:2, 15:17] = 4  # 4 pixels, under min_area
    image = np.arange(20 * 20 * 3, dtype=np.uint8).reshape(20, 20, 3)
    conf = np.full((20, 20), 0.5, dtype=np.float32)
    (inst,) = extract_instances(image, labels, conf, (2, 4), min_area=5)
    assert inst.channel == 2 and inst.mask.shape == (6, 5) and inst.mask.all()
    assert np.array_equal(inst.crop, image[10:16, 8:13]) and inst.score == pytest.approx(0.5)
    (small,) = extract_instances(image, labels, None, (2,), min_area=5, max_side=3)
    assert max(small.mask.shape) == 3 and small.score == 1.0


def test_paste_writes_the_channel_exactly_under_the_mask():
    torch.manual_seed(0)
    image, labels, conf = torch.rand(3, 8, 8), torch.randint(0, 3, (8, 8)), torch.rand(8, 8)
    before = (image.clone(), labels.clone(), conf.clone())
    crop = torch.rand(3, 3, 4)
    mask = torch.tensor([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1]], dtype=torch.bool)
    pasted = paste_instance(image, labels, conf, crop, mask, channel=5, top=6, left=2)  # bottom row cut off
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[6:8, 2:6] = mask[:2]
    assert torch.equal(pasted, expected)
    assert (labels[expected] == 5).all() and torch.equal(labels[~expected], before[1][~expected])
    assert (conf[expected] == 1).all() and torch.equal(conf[~expected], before[2][~expected])
    assert torch.equal(image[:, 6:8, 2:6][:, mask[:2]], crop[:, :2][:, mask[:2]])
    assert torch.equal(image[:, ~expected], before[0][:, ~expected])


def test_instance_tensors_scale_and_flip():
    inst = _instance(1, h=4, w=6)
    crop, mask = instance_tensors(inst, scale=0.5, flip=True)
    assert crop.shape == (3, 2, 3) and mask.shape == (2, 3) and 0 <= crop.min() and crop.max() <= 1
    same, same_mask = instance_tensors(inst, scale=1.0, flip=False)
    assert torch.equal(same_mask, torch.from_numpy(inst.mask)) and torch.allclose(same * 255, torch.from_numpy(
        inst.crop).permute(2, 0, 1).float())


def _run(step: StepInfo, **kwargs) -> StepRun:
    return StepRun(model=torch.nn.Identity(), old_model=None, step=step, method=MethodConfig(name="fmwiss"),
                   train=TrainConfig(), device=torch.device("cpu"), **kwargs)


def test_transform_batch_pastes_old_classes_only_and_leaves_the_input_alone():
    memory = InstanceMemory(capacity=2)
    memory.add(Instance(np.full((4, 4, 3), 255, np.uint8), np.ones((4, 4), bool), 1, 1.0))
    memory.add(Instance(np.full((4, 4, 3), 255, np.uint8), np.ones((4, 4), bool), 3, 1.0))  # a new class
    run = _run(StepInfo(1, (0, 1, 2), (3,), (0, 0, 0, 1)), carry_in=StepCarry(memory=memory.to_bytes()))
    part = CopyPastePart(CopyPasteOptions(prob=1.0, max_paste=1, scale_range=(1.0, 1.0)))
    part.on_step_start(run)
    labels = torch.full((2, 16, 16), 3)
    batch = Batch(torch.zeros(2, 3, 16, 16), labels, torch.tensor([True, True]), torch.full((2, 16, 16), 0.4),
                  torch.zeros(2, 4), torch.arange(2))
    out = part.transform_batch(batch, run)
    assert (batch.labels == 3).all() and (batch.images == 0).all()  # input untouched
    for b in range(2):
        pasted = out.labels[b] == 1
        assert pasted.sum() == 16 and not (out.labels[b] == 2).any()
        assert (out.images[b][:, pasted] == 1).all() and (out.images[b][:, ~pasted] == 0).all()
        assert (out.confidence[b][pasted] == 1).all() and (out.confidence[b][~pasted] == 0.4).all()
        assert out.tags[b].tolist() == [0, 1, 0, 0]


def test_step_end_stores_new_class_instances_and_writes_bytes():
    labels = np.zeros((32, 32), np.uint8)
    labels[4:14, 4:14] = 7  # stable id 7 = channel 2 (new)
    labels[20:30, 20:30] = 9  # stable id 9 = channel 1 (old)
    data = [{"image": np.full((32, 32, 3), 100, np.uint8), "mask": labels, "confidence": None}]
    old = InstanceMemory(capacity=3)
    old.add(_instance(1))
    run = _run(StepInfo(1, (0, 1), (2,), (0, 0, 1)), dataset=data, class_ids=(0, 9, 7),
               carry_in=StepCarry(memory=old.to_bytes()))
    part = CopyPastePart(CopyPasteOptions(capacity=3, min_area=10))
    part.on_step_start(run)
    part.on_step_end(run)
    memory = InstanceMemory.from_bytes(run.carry_out.memory)
    assert memory.classes == (1, 2) and len(memory.get(1)) == 1  # old class 1 not re-extracted
    (inst,) = memory.get(2)
    assert inst.mask.shape == (10, 10) and (inst.crop == 100).all()


def test_copypaste_options_are_validated():
    from incseg_app.methods.fmwiss import FMWISS
    with pytest.raises(ValidationError, match="fmwiss_copypaste"):
        FMWISS.build(MethodConfig(name="fmwiss", parts={"fmwiss_copypaste": {"probability": 0.5}}))
    with pytest.raises(ValidationError, match="capacity"):
        FMWISS.build(MethodConfig(name="fmwiss", parts={"fmwiss_copypaste": {"capacity": 2.5}}))
    with pytest.raises(ValidationError, match="policy"):
        FMWISS.build(MethodConfig(name="fmwiss", parts={"fmwiss_copypaste": {"policy": "fifo"}}))


def test_bad_memory_inputs_are_named():
    from incseg_app.methods.fmwiss.copypaste import load_memory
    from incseg_app.methods.fmwiss.memory import collect_instances

    with pytest.raises(ValidationError, match="memory"):
        load_memory(b"not a memory", capacity=2, policy="best", seed=0)
    with pytest.raises(ValidationError, match="bytes"):
        load_memory({"crops": []}, capacity=2, policy="best", seed=0)
    with pytest.raises(ValidationError, match="channel 3"):
        collect_instances(InstanceMemory(2), [], class_ids=(0, 5, 6), channels=(3,))
    shrunk = load_memory(InstanceMemory(5).to_bytes(), capacity=2, policy="best", seed=0)
    assert (shrunk.capacity, shrunk.policy) == (2, "best")
