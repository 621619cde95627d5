"""FMWISS student: soft targets of new and old classes on hand-made examples, and the part."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from incseg_app.domain.config import MethodConfig, TrainConfig
from incseg_app.methods.fmwiss.student import (
    StudentOptions, StudentPart, new_class_targets, old_class_targets, student_loss,
)
from incseg_app.methods.parts import Batch, StepContext, StepInfo, StepRun, TeacherSignal
from incseg_app.models.outputs import SegOutput


def test_new_class_targets_blend_teacher_and_pseudo_mask():
    labels = torch.tensor([[[2, 0, 255]]])
    teacher = torch.full((1, 1, 1, 3), 0.8)
    targets, valid = new_class_targets(teacher, labels, [2], alpha=0.25)
    # labelled 2: 0.25·0.8 + 0.75·1; background: 0.25·0.8; unsure (255): the teacher alone
    assert targets[0, 0, 0].tolist() == pytest.approx([0.95, 0.2, 0.8])
    assert valid.all()
    plain, valid = new_class_targets(None, labels, [2], alpha=0.25)
    assert plain[0, 0, 0].tolist() == [1.0, 0.0, 0.0]
    assert valid[0, 0].tolist() == [True, True, False]


def test_old_class_targets_fold_teacher_new_mass_into_background():
    old_logits = torch.log(torch.tensor([0.7, 0.3])).view(1, 2, 1, 1)
    teacher = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1)  # bg, old class 1, new class 2
    mixed = old_class_targets(old_logits, teacher, beta=0.5)
    # folded teacher: bg 0.2 + 0.6, class 1 0.4 -> normalised (2/3, 1/3)
    assert mixed.flatten().tolist() == pytest.approx([0.5 * 0.7 + 0.5 * 2 / 3, 0.5 * 0.3 + 0.5 / 3])
    assert old_class_targets(old_logits, None, beta=0.5).flatten().tolist() == pytest.approx([0.7, 0.3])


def test_student_loss_matches_the_formula_on_one_pixel():
    logits = torch.tensor([1.0, -0.5, 2.0]).view(1, 3, 1, 1)
    old_logits = torch.log(torch.tensor([0.7, 0.3])).view(1, 2, 1, 1)
    teacher = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1)
    labels = torch.tensor([[[2]]])
    weights = torch.tensor([1.0, 2.0, 3.0])
    loss = student_loss(logits, labels, old_logits, teacher, weights, alpha=0.5, beta=0.5,
                        new_weight=1.0, old_weight=1.0)
    q = 0.5 * 0.6 + 0.5 * 1.0
    sig = 1 / (1 + math.exp(-2.0))  # the new channel's logit is 2
    bce = -(q * math.log(sig) + (1 - q) * math.log(1 - sig))
    p = [0.5 * 0.7 + 0.5 * 2 / 3, 0.5 * 0.3 + 0.5 / 3]
    log_q = F.log_softmax(torch.tensor([1.0, -0.5]), dim=0).tolist()
    kd = -(1.0 * p[0] * log_q[0] + 2.0 * p[1] * log_q[1])
    assert loss.item() == pytest.approx(3.0 * bce + kd, rel=1e-5)


def test_student_loss_channel_weight_zero_silences_new_class():
    logits = torch.randn(1, 3, 4, 4)
    old_logits = torch.randn(1, 2, 4, 4)
    labels = torch.randint(0, 3, (1, 4, 4))
    only_old = student_loss(logits, labels, old_logits, None, torch.ones(3), alpha=0.5, beta=0.5, new_weight=0.0)
    weighted = student_loss(logits, labels, old_logits, None, torch.tensor([1.0, 1.0, 0.0]), alpha=0.5, beta=0.5)
    assert weighted.item() == pytest.approx(only_old.item(), rel=1e-6)


def _ctx(weak: list[bool], old: bool = True) -> StepContext:
    b = len(weak)
    step = StepInfo(1, (0, 1), (2,), (0, 0, 1))
    run = StepRun(model=torch.nn.Identity(), old_model=None, step=step, method=MethodConfig(name="fmwiss"),
                  train=TrainConfig(), device=torch.device("cpu"))
    logits = torch.randn(b, 3, 4, 4, requires_grad=True)
    out = SegOutput(logits, torch.zeros(b, 2, 1, 1), torch.zeros(b, 3, 2), torch.zeros(b, 2, 1, 1))
    old_out = SegOutput(torch.randn(b, 2, 4, 4), out.pixel_emb, out.class_emb, out.features) if old else None
    labels = torch.randint(0, 3, (b, 4, 4))
    batch = Batch(torch.rand(b, 3, 4, 4), labels, torch.tensor(weak), torch.ones(b, 4, 4), torch.ones(b, 3),
                  torch.arange(b))
    return StepContext(run=run, batch=batch, out=out, old_out=old_out, labels=labels, channel_weights=torch.ones(3))


def test_student_part_uses_only_weak_images_and_the_shared_teacher():
    part = StudentPart(StudentOptions(alpha=0.5, beta=0.5))
    ctx = _ctx([False, True])
    ctx.teacher = TeacherSignal(index=torch.tensor([1]), probs=torch.full((1, 3, 4, 4), 0.5))
    loss = part.losses(ctx)["fmwiss_student"]
    expected = student_loss(ctx.out.logits[1:], ctx.labels[1:], ctx.old_out.logits[1:], ctx.teacher.probs,
                            ctx.channel_weights, alpha=0.5, beta=0.5)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    loss.backward()
    assert ctx.out.logits.grad[0].abs().sum() == 0 and ctx.out.logits.grad[1].abs().sum() > 0


def test_student_part_is_silent_in_the_base_step_and_zero_without_weak_images():
    part = StudentPart()
    assert part.losses(_ctx([True], old=False)) == {}
    assert part.losses(_ctx([False, False]))["fmwiss_student"].item() == 0.0
