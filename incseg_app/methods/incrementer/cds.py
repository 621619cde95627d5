"""Incrementer CDS: class deconfusion strategy.

Shang et al., "Incrementer", CVPR 2023, Sec. 3.4. New classes are learned from many fully labelled
pixels while old classes only survive through distillation and pseudo-labels, so the model drifts
towards predicting new classes on old-class pixels. CDS counters this in two ways:

* (a) the cross-entropy on new-class pixels is down-weighted (``new_class_weight`` × the new
  channels' entries of ``StepContext.channel_weights``; the engine's CE honours them);
* (b) Dice losses on two discrimination maps (``dice_loss``): the new-class map
  P_new = Σ_{c ∈ new} softmax(logits)_c against the mask "labelled with a new class", and the old-class
  map P_old = Σ_{c ∈ old, c ≠ 0} softmax(logits)_c against M̄, the pixels where the old model predicts
  an old class and the label is not a new class — Dice(P_old, M̄), which an earlier port lacked — so
  the model learns explicitly where new classes are and where the old ones stay.

Choices where the paper is open: M̄ comes from the old model's argmax (so the term also works when the
pseudo-labels are switched off), background is in neither map, and pixels labelled 255 are left out
of both sums.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ...domain.errors import ValidationError
from ...domain.records import BACKGROUND_ID, IGNORE_ID
from ..labelmaps import channel_argmax, channel_mask
from ..parts import Part, StepContext


@dataclass(frozen=True)
class DeconfusionOptions:
    """Options of ``inc_cds``."""

    new_class_weight: float = 0.5  # factor in (0, 1] on the new channels' CE weight (1 = off)
    dice_weight: float = 1.0  # λ of Dice(P_new, new-label mask) (0 = off)
    old_dice_weight: float = 1.0  # λ of Dice(P_old, M̄) (0 = off)
    smooth: float = 1.0  # Dice smoothing, pixels

    def validate(self) -> None:
        if not 0.0 < self.new_class_weight <= 1.0 or min(self.dice_weight, self.old_dice_weight) < 0 \
                or self.smooth <= 0:
            raise ValidationError("new_class_weight must be in (0, 1], dice weights >= 0 and smooth > 0, got "
                                  f"{self.new_class_weight}, {self.dice_weight}, {self.old_dice_weight}, {self.smooth}")


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


def class_probability(logits: Tensor, channels: Sequence[int]) -> Tensor:
    """Σ_{c ∈ channels} softmax(logits)_c: B×K×H×W logits -> B×H×W in [0, 1]."""
    idx = torch.as_tensor(list(channels), device=logits.device, dtype=torch.long)
    return logits.float().softmax(dim=1)[:, idx].sum(dim=1)


def new_class_probability(logits: Tensor, new_channels: Sequence[int]) -> Tensor:
    """Old/new discrimination map P_new (CDS, Incrementer Sec. 3.4): B×K×H×W logits -> B×H×W in [0, 1]."""
    return class_probability(logits, new_channels)


def old_class_region(labels: Tensor, old_logits: Tensor, new_channels: Sequence[int]) -> Tensor:
    """M̄: B×H×W bool, the old model predicts an old non-background class and the label is not new."""
    return (channel_argmax(old_logits) != BACKGROUND_ID) & ~channel_mask(labels, new_channels)


def scale_new_channel_weights(channel_weights: Tensor, new_channels: Sequence[int], factor: float) -> None:
    """CDS (a): multiply the K-vector ``channel_weights`` at ``new_channels`` by ``factor`` in place."""
    idx = torch.as_tensor(list(new_channels), device=channel_weights.device, dtype=torch.long)
    channel_weights[idx] = channel_weights[idx] * factor


class ClassDeconfusion(Part):
    """Hook + loss term ``inc_cds``: CDS (Incrementer Sec. 3.4); losses ``inc_cds_dice`` and
    ``inc_cds_old_dice``. Acts only at incremental steps (at step 0 every channel is new)."""

    name = "inc_cds"
    Options = DeconfusionOptions
    writes = ("channel_weights",)

    def before_loss(self, ctx: StepContext) -> None:
        if ctx.step.step > 0 and ctx.step.new_channels and self.options.new_class_weight != 1.0:
            scale_new_channel_weights(ctx.channel_weights, ctx.step.new_channels, self.options.new_class_weight)

    def losses(self, ctx: StepContext) -> dict[str, Tensor]:
        o, info = self.options, ctx.step
        if info.step == 0 or not info.new_channels:
            return {}
        valid = ctx.labels != IGNORE_ID
        probs = ctx.out.logits.float().softmax(dim=1)  # one softmax for both maps
        out: dict[str, Tensor] = {}
        if o.dice_weight > 0:
            prob = probs[:, list(info.new_channels)].sum(dim=1)
            out["inc_cds_dice"] = o.dice_weight * dice_loss(prob, channel_mask(ctx.labels, info.new_channels),
                                                            valid, o.smooth)
        old_fg = [c for c in info.old_channels if c != BACKGROUND_ID]
        if o.old_dice_weight > 0 and ctx.old_out is not None and old_fg:
            prob = probs[:, old_fg].sum(dim=1)
            region = old_class_region(ctx.labels, ctx.old_out.logits, info.new_channels)
            out["inc_cds_old_dice"] = o.old_dice_weight * dice_loss(prob, region, valid, o.smooth)
        return out
