"""Every loss term on hand-computed tiny tensors (values worked out in the comments)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from incseg_app.methods.losses import (
    knowledge_distillation, unbiased_cross_entropy, unbiased_knowledge_distillation, weighted_cross_entropy,
)

LN3 = math.log(3.0)


def _logp(logits: torch.Tensor) -> torch.Tensor:
    """What the parts pass: ``SegOutput.log_probs()``, the log-softmax over the classes."""
    return F.log_softmax(logits, dim=1)


def _logits(*pixels: list[float]) -> torch.Tensor:
    """Pixels given as K-lists -> 1×K×1×P logits."""
    return torch.tensor(pixels, dtype=torch.float32).T.reshape(1, len(pixels[0]), 1, len(pixels))


def test_weighted_ce_weights_by_target_channel_and_ignores_255():
    # pixel a: logits (0, ln3), label 1 -> p = 3/4; pixel b: (ln3, 0), label 0 -> p = 3/4; pixel c ignored
    logits = _logits([0.0, LN3], [LN3, 0.0], [5.0, -5.0])
    labels = torch.tensor([[[1, 0, 255]]])
    weights = torch.tensor([1.0, 2.0])
    expected = (2 * math.log(4 / 3) + 1 * math.log(4 / 3)) / 2  # weighted sum / 2 valid pixels
    assert weighted_cross_entropy(_logp(logits), labels, weights).item() == pytest.approx(expected, rel=1e-6)


def test_weighted_ce_with_unit_weights_equals_torch_cross_entropy():
    logits = torch.randn(2, 4, 3, 5)
    labels = torch.randint(0, 4, (2, 3, 5))
    labels[0, 0, 0] = 255
    ours = weighted_cross_entropy(_logp(logits), labels, torch.ones(4))
    assert ours.item() == pytest.approx(F.cross_entropy(logits, labels, ignore_index=255).item(), rel=1e-6)


def test_weighted_ce_of_only_ignored_pixels_is_zero():
    labels = torch.full((1, 1, 2), 255)
    assert weighted_cross_entropy(_logp(torch.randn(1, 3, 1, 2)), labels, torch.ones(3)).item() == 0.0


def test_unbiased_ce_sums_background_and_old_probabilities():
    # K = 3: channels 0 (bg), 1 (old), 2 (new); uniform logits -> each p = 1/3.
    logits = _logits([0.0, 0.0, 0.0], [0.0, 0.0, 0.0])
    labels = torch.tensor([[[0, 2]]])
    # bg pixel: q = p0 + p1 = 2/3 -> -ln(2/3); new-class pixel: -ln(1/3)
    expected = (math.log(1.5) + LN3) / 2
    assert unbiased_cross_entropy(_logp(logits), labels, 2, torch.ones(3)).item() == pytest.approx(expected, rel=1e-6)


def test_unbiased_ce_without_old_classes_is_plain_ce():
    logits = torch.randn(1, 3, 2, 2)
    labels = torch.tensor([[[0, 1], [2, 255]]])
    assert unbiased_cross_entropy(_logp(logits), labels, 1, torch.ones(3)).item() == pytest.approx(
        weighted_cross_entropy(_logp(logits), labels, torch.ones(3)).item(), rel=1e-6)


def test_unbiased_ce_channel_weight_scales_background_pixels():
    logits = _logits([0.0, 0.0, 0.0])
    labels = torch.tensor([[[0]]])
    w = torch.tensor([3.0, 1.0, 1.0])
    assert unbiased_cross_entropy(_logp(logits), labels, 2, w).item() == pytest.approx(3 * math.log(1.5), rel=1e-6)


def test_kd_restricts_new_softmax_to_old_channels():
    # old model (2 channels) uniform: p = (1/2, 1/2); new logits (0, ln3, 5) -> over the first two q = (1/4, 3/4)
    old = _logits([0.0, 0.0])
    new = _logits([0.0, LN3, 5.0])
    expected = -(0.5 * math.log(0.25) + 0.5 * math.log(0.75))
    assert knowledge_distillation(new, old, torch.ones(3)).item() == pytest.approx(expected, rel=1e-6)
    weighted = -(0.5 * math.log(0.25) + 2 * 0.5 * math.log(0.75))
    assert knowledge_distillation(new, old, torch.tensor([1.0, 2.0, 7.0])).item() == pytest.approx(weighted, rel=1e-6)


def test_kd_is_entropy_when_models_agree():
    old = _logits([0.0, LN3])
    p = torch.tensor([0.25, 0.75])
    entropy = -(p * p.log()).sum().item()
    assert knowledge_distillation(_logits([0.0, LN3, -2.0]), old, torch.ones(3)).item() == pytest.approx(entropy, rel=1e-6)


def test_unbiased_kd_folds_new_classes_into_background():
    # new exp-logits (1, 1, 2), sum 4: q̂(bg) = (1 + 2)/4 = 3/4, q̂(1) = 1/4; old p = (1/2, 1/2)
    new = _logits([0.0, 0.0, math.log(2.0)])
    old = _logits([0.0, 0.0])
    expected = -(0.5 * math.log(0.75) + 0.5 * math.log(0.25))
    assert unbiased_knowledge_distillation(_logp(new), old, torch.ones(3)).item() == pytest.approx(expected, rel=1e-6)
    weighted = -(2 * 0.5 * math.log(0.75) + 0.5 * math.log(0.25))
    got = unbiased_knowledge_distillation(_logp(new), old, torch.tensor([2.0, 1.0, 1.0])).item()
    assert got == pytest.approx(weighted, rel=1e-6)


def test_unbiased_kd_equals_standard_kd_without_new_channels():
    old, new = torch.randn(2, 3, 2, 2), torch.randn(2, 3, 2, 2)
    assert unbiased_knowledge_distillation(_logp(new), old, torch.ones(3)).item() == pytest.approx(
        knowledge_distillation(new, old, torch.ones(3)).item(), rel=1e-5)


def test_segoutput_log_probs_is_computed_once_and_shared():
    from incseg_app.models.outputs import SegOutput
    logits = torch.randn(1, 3, 2, 2)
    out = SegOutput(logits=logits, pixel_emb=torch.zeros(1), class_emb=torch.zeros(1), features=torch.zeros(1))
    assert out.log_probs() is out.log_probs()
    assert torch.allclose(out.log_probs(), F.log_softmax(logits, dim=1))


def test_losses_backpropagate_to_logits():
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    labels = torch.tensor([[[0, 2], [1, 255]]])
    old = torch.randn(1, 2, 2, 2)
    total = (unbiased_cross_entropy(_logp(logits), labels, 2, torch.ones(3))
             + unbiased_knowledge_distillation(_logp(logits), old, torch.ones(3)))
    total.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
