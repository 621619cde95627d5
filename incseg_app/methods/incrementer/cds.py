"""Incrementer CDS: class deconfusion strategy.

Shang et al., "Incrementer", CVPR 2023, Sec. 3.4. New classes are learned from many fully labelled
pixels while old classes only survive through distillation and pseudo-labels, so the model drifts
towards predicting new classes on old-class pixels. CDS counters this in two ways:

* (a) the cross-entropy on new-class pixels is down-weighted (``new_class_weight`` × the new
  channels' entries of ``StepContext.channel_weights``; the engine's CE honours them);
* (b) an old/new discrimination map m = Σ_{c ∈ new} softmax(logits)_c (``new_class_probability``)
  is trained with a Dice loss (``dice_loss``) against the binary mask "pixel is labelled with a new
  class", so the model learns explicitly where new classes are and are not.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ...domain.errors import ValidationError
from ..parts import Part, StepContext

IGNORE = 255


def dice_loss(prob: Tensor, target: Tensor, valid: Tensor, smooth: float = 1.0) -> Tensor:
    """Soft Dice loss 1 − (2 Σ m·t + s) / (Σ m + Σ t + s) over the valid elements (all of the batch).

    Args:
        prob: predicted map m, any shape, values in [0, 1].
        target: binary target t, same shape (bool or {0, 1}).
        valid: bool mask, same shape; invalid elements (ignore pixels) are left out of every sum.
        smooth: s, added to numerator and denominator (pixels); keeps the loss defined and 0 for
            an empty target predicted empty.

    Returns:
        scalar in [0, 1]: 0 for a perfect prediction, ≈ 1 for disjoint maps.
    """
    v = valid.float()
    m = prob.float() * v
    t = target.float() * v
    inter = (m * t).sum()
    return 1.0 - (2.0 * inter + smooth) / (m.sum() + t.sum() + smooth)


def new_class_probability(logits: Tensor, new_channels: Sequence[int]) -> Tensor:
    """Old/new discrimination map m (CDS, Incrementer Sec. 3.4): B×K×H×W logits -> B×H×W in [0, 1]."""
    idx = torch.as_tensor(list(new_channels), device=logits.device, dtype=torch.long)
    return logits.float().softmax(dim=1)[:, idx].sum(dim=1)


def scale_new_channel_weights(channel_weights: Tensor, new_channels: Sequence[int], factor: float) -> None:
    """CDS (a): multiply the K-vector ``channel_weights`` at ``new_channels`` by ``factor`` in place."""
    idx = torch.as_tensor(list(new_channels), device=channel_weights.device, dtype=torch.long)
    channel_weights[idx] = channel_weights[idx] * factor


class ClassDeconfusion(Part):
    """Hook + loss term: CDS (Incrementer Sec. 3.4); loss named ``inc_cds_dice``.

    Options: ``new_class_weight`` (factor in (0, 1] on the new channels' CE weight; 1 = off),
    ``dice_weight`` (λ of the Dice term; 0 = off), ``smooth`` (Dice smoothing, pixels). Both halves
    act only at incremental steps (at step 0 every channel is new, so there is nothing to separate).
    """

    name = "inc_cds"

    def __init__(self, new_class_weight: float = 0.5, dice_weight: float = 1.0, smooth: float = 1.0) -> None:
        if not 0.0 < new_class_weight <= 1.0 or dice_weight < 0 or smooth <= 0:
            raise ValidationError("part inc_cds: new_class_weight must be in (0, 1], dice_weight >= 0 and "
                                  f"smooth > 0, got {new_class_weight}, {dice_weight}, {smooth}")
        self.new_class_weight = new_class_weight
        self.dice_weight = dice_weight
        self.smooth = smooth

    def before_loss(self, ctx: StepContext) -> None:
        if ctx.step.step > 0 and ctx.step.new_channels and self.new_class_weight != 1.0:
            scale_new_channel_weights(ctx.channel_weights, ctx.step.new_channels, self.new_class_weight)

    def losses(self, ctx: StepContext) -> dict[str, Tensor]:
        if ctx.step.step == 0 or not ctx.step.new_channels or self.dice_weight == 0:
            return {}
        new = torch.as_tensor(list(ctx.step.new_channels), device=ctx.labels.device, dtype=ctx.labels.dtype)
        prob = new_class_probability(ctx.out.logits, ctx.step.new_channels)
        target = torch.isin(ctx.labels, new)
        loss = dice_loss(prob, target, ctx.labels != IGNORE, self.smooth)
        return {"inc_cds_dice": self.dice_weight * loss}
