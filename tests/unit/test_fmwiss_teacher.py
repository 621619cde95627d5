"""FMWISS plug-in teacher: ASPP shapes, L_bce masking and values, dense InfoNCE, the teacher part."""
from __future__ import annotations

import math

import pytest
import torch

from incseg_app.domain.config import MethodConfig, ModelConfig, TrainConfig
from incseg_app.methods.fmwiss.teacher import (
    TeacherHead, TeacherOptions, TeacherPart, dense_info_nce, group_norm_aspp, merge_old_predictions, sample_pixels,
    teacher_bce,
)
from incseg_app.methods.parts import Batch, StepContext, StepInfo, StepRun
from incseg_app.models.build import build_model

TINY = ModelConfig(encoder="tiny", pretrained=False, embed_dim=32, decoder_heads=4, decoder_layers=1)


def test_teacher_head_shapes_and_unit_embeddings():
    head = TeacherHead(in_channels=32, num_classes=5, width=16, embed_dim=8, rates=(1, 2, 3))
    out = head(torch.randn(2, 32, 8, 6))
    assert out.logits.shape == (2, 5, 8, 6)
    assert out.embeddings.shape == (2, 8, 8, 6)
    assert torch.allclose(out.embeddings.norm(dim=1), torch.ones(2, 8, 6), atol=1e-5)


def test_bce_is_log2_for_zero_logits_and_weighted_by_confidence():
    labels = torch.tensor([[[0, 1], [2, 255]]])
    conf = torch.tensor([[[1.0, 0.5], [0.0, 1.0]]])
    loss = teacher_bce(torch.zeros(1, 3, 2, 2), labels, torch.tensor([True]), conf)
    # three valid pixels, weights 1 + 0.5 + 0, each pixel's mean BCE is log 2
    assert loss.item() == pytest.approx(1.5 * math.log(2) / 3, rel=1e-6)


def test_bce_ignores_255_pixels_and_non_weak_images():
    torch.manual_seed(1)
    labels = torch.randint(0, 3, (2, 4, 4))
    labels[0, 0, :2] = 255
    weak = torch.tensor([True, False])
    conf = torch.ones(2, 4, 4)
    logits = torch.randn(2, 3, 4, 4)
    base = teacher_bce(logits, labels, weak, conf)
    changed = logits.clone()
    changed[0, :, 0, :2] += 5.0  # ignored pixels of the weak image
    changed[1] = torch.randn(3, 4, 4) * 10  # the fully labelled image
    assert teacher_bce(changed, labels, weak, conf).item() == pytest.approx(base.item(), rel=1e-6)
    changed[0, :, 3, 3] += 5.0  # a valid pixel does count
    assert teacher_bce(changed, labels, weak, conf).item() != pytest.approx(base.item(), rel=1e-3)


def test_info_nce_hand_value():
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    # anchors 0 and 1: one positive (s = 1) and one negative (s = 0); anchor 2 has no positive
    expected = -math.log(math.e / (math.e + 1.0))
    assert dense_info_nce(z, torch.tensor([0, 0, 1]), temperature=1.0).item() == pytest.approx(expected, rel=1e-5)


def test_info_nce_lower_when_embeddings_cluster_by_label():
    torch.manual_seed(0)
    labels = torch.arange(3).repeat_interleave(10)
    z = torch.nn.functional.normalize(torch.eye(4)[labels] + 0.05 * torch.randn(30, 4), dim=1)
    clustered = dense_info_nce(z, labels, temperature=0.1)
    shuffled = dense_info_nce(z, labels[torch.randperm(30)], temperature=0.1)
    assert clustered.item() < 0.05 < shuffled.item()


def test_info_nce_single_label_is_zero_with_finite_gradient():
    z = torch.nn.functional.normalize(torch.randn(6, 4), dim=1).requires_grad_()
    loss = dense_info_nce(z, torch.zeros(6, dtype=torch.long), temperature=0.1)
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert torch.isfinite(z.grad).all()


def test_sample_pixels_is_class_balanced():
    labels = torch.cat([torch.zeros(1000, dtype=torch.long), torch.ones(5, dtype=torch.long)])
    picked = labels[sample_pixels(labels, 20)]
    assert (picked == 1).sum().item() == 5
    assert (picked == 0).sum().item() == 10


def test_merge_old_predictions_fills_only_confident_background():
    labels = torch.tensor([[[0, 0, 3, 255]]])
    old_logits = torch.tensor([[[[0.0, 0.0, 0.0, 0.0]], [[5.0, 0.1, 5.0, 5.0]], [[0.0, 0.0, 0.0, 0.0]]]])
    merged = merge_old_predictions(labels, old_logits, threshold=0.5)
    assert merged.tolist() == [[[1, 0, 3, 255]]]


def _run(model, step: StepInfo) -> StepRun:
    return StepRun(model=model, old_model=None, step=step, method=MethodConfig(name="fmwiss"),
                   train=TrainConfig(), device=torch.device("cpu"))


def _ctx(run: StepRun, weak: list[bool]) -> StepContext:
    images = torch.rand(len(weak), 3, 32, 32)
    labels = torch.randint(0, run.step.num_classes, (len(weak), 32, 32))
    batch = Batch(images, labels, torch.tensor(weak), torch.ones(len(weak), 32, 32),
                  torch.ones(len(weak), run.step.num_classes), torch.arange(len(weak)))
    out = run.model(images)
    return StepContext(run=run, batch=batch, out=out, old_out=None, labels=labels,
                       channel_weights=torch.ones(run.step.num_classes))


def test_teacher_part_trains_on_weak_images_and_is_not_in_the_model_state():
    model = build_model(TINY, (3,))
    keys = set(model.state_dict())
    part = TeacherPart(TeacherOptions(width=16, embed_dim=8, samples=64, rates=(1, 2)))
    run = _run(model, StepInfo(0, (), (0, 1, 2), (0, 0, 0)))
    part.on_step_start(run)
    assert set(model.state_dict()) == keys
    (head,) = part.trainable_modules()
    ctx = _ctx(run, [True, False])
    terms = part.losses(ctx)
    assert set(terms) == {"fmwiss_teacher_bce", "fmwiss_teacher_nce"}
    shared = ctx.teacher
    assert shared.index.tolist() == [0]
    assert shared.probs.shape == (1, 3, 32, 32) and not shared.probs.requires_grad
    sum(terms.values()).backward()
    assert all(p.grad is not None for p in head.parameters())
    part.on_step_end(run)
    assert part.trainable_modules() == []


def test_teacher_part_without_weak_images_returns_attached_zeros():
    model = build_model(TINY, (3,))
    part = TeacherPart(TeacherOptions(width=16, embed_dim=8, rates=(1,)))
    run = _run(model, StepInfo(0, (), (0, 1, 2), (0, 0, 0)))
    part.on_step_start(run)
    ctx = _ctx(run, [False, False])
    terms = part.losses(ctx)
    assert all(t.item() == 0.0 and t.requires_grad for t in terms.values())
    assert ctx.teacher is None


def test_teacher_aspp_is_torchvisions_with_group_norm():
    from torchvision.models.segmentation.deeplabv3 import ASPP

    aspp = group_norm_aspp(32, 16, (1, 2))
    assert isinstance(aspp, ASPP)
    kinds = {type(m).__name__ for m in aspp.modules()}
    assert "GroupNorm" in kinds and "BatchNorm2d" not in kinds
    aspp.train()
    assert aspp(torch.rand(1, 32, 5, 7)).shape == (1, 16, 5, 7)  # one image: BatchNorm would refuse the pooling
