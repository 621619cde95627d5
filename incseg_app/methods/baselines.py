"""Reference methods users compare against, as parts.

* ``finetune`` (lower bound): cross-entropy on the current step's labels only.
* ``joint`` (upper bound): the same loss, trained on all classes at once with full labels
  (``Method.joint``; the step runner builds the targets).
* ``mib``: Cermelli et al., "Modeling the Background for Incremental Learning in Semantic
  Segmentation" (CVPR 2020): unbiased CE (Eq. 4, ``UnbiasedCrossEntropy``), unbiased KD (Eq. 5,
  ``UnbiasedDistillation``) and the background-based initialisation of new classifiers (Sec. 3.4,
  ``BackgroundInit``).

``Distillation`` (standard KD on old channels) is not part of a baseline; other methods add it on
top of cross-entropy (e.g. GSC's "standard CE/KD").
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .losses import (
    knowledge_distillation, unbiased_cross_entropy, unbiased_knowledge_distillation, weighted_cross_entropy,
)
from .parts import Part, StepContext, StepRun


def _options(opts: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    from ..domain.errors import ValidationError
    unknown = sorted(set(opts) - set(defaults))
    if unknown:
        raise ValidationError(f"unknown option(s) {', '.join(unknown)}; allowed: {', '.join(sorted(defaults))}")
    return {**defaults, **opts}


class CrossEntropy(Part):
    """Cross-entropy on ``ctx.labels`` weighted by ``ctx.channel_weights``. Options: ``weight``."""

    def __init__(self, opts: dict[str, Any]) -> None:
        self.weight = float(_options(opts, weight=1.0)["weight"])

    def losses(self, ctx: StepContext) -> dict[str, Tensor]:
        return {"ce": self.weight * weighted_cross_entropy(ctx.out.logits, ctx.labels, ctx.channel_weights)}


class Distillation(Part):
    """Standard KD on the old channels (LwF). Options: ``weight``, ``temperature``."""

    def __init__(self, opts: dict[str, Any]) -> None:
        o = _options(opts, weight=1.0, temperature=1.0)
        self.weight, self.temperature = float(o["weight"]), float(o["temperature"])

    def losses(self, ctx: StepContext) -> dict[str, Tensor]:
        if ctx.old_out is None:
            return {}
        kd = knowledge_distillation(ctx.out.logits, ctx.old_out.logits, ctx.channel_weights, self.temperature)
        return {"kd": self.weight * kd}


class UnbiasedCrossEntropy(Part):
    """MiB unbiased CE (Eq. 4); plain CE in the base step. Options: ``weight``."""

    def __init__(self, opts: dict[str, Any]) -> None:
        self.weight = float(_options(opts, weight=1.0)["weight"])

    def losses(self, ctx: StepContext) -> dict[str, Tensor]:
        num_old = len(ctx.step.old_channels)
        loss = unbiased_cross_entropy(ctx.out.logits, ctx.labels, num_old, ctx.channel_weights)
        return {"unce": self.weight * loss}


class UnbiasedDistillation(Part):
    """MiB unbiased KD (Eq. 5); nothing in the base step. Options: ``weight`` (MiB uses 10 with a
    per-class mean; the sum over classes used here makes 1 the comparable default)."""

    def __init__(self, opts: dict[str, Any]) -> None:
        self.weight = float(_options(opts, weight=1.0)["weight"])

    def losses(self, ctx: StepContext) -> dict[str, Tensor]:
        if ctx.old_out is None:
            return {}
        loss = unbiased_knowledge_distillation(ctx.out.logits, ctx.old_out.logits, ctx.channel_weights)
        return {"unkd": self.weight * loss}


class BackgroundInit(Part):
    """MiB initialisation from the background (Sec. 3.4).

    Each new class token copies the background token; with n new classes the background bias and
    every new bias become ``bias_bg - log(n + 1)``, so at the start of the step the new classes and
    background share the old background probability and old-class probabilities are unchanged.
    Acts on ``model.token_groups`` / ``model.bias_groups`` (the last group is this step's).
    """

    def __init__(self, opts: dict[str, Any]) -> None:
        _options(opts)

    @torch.no_grad()
    def on_step_start(self, run: StepRun) -> None:
        if run.old_model is None:
            return
        model = run.model
        tokens, biases = model.token_groups, model.bias_groups
        n_new = tokens[-1].shape[0]
        shift = math.log(n_new + 1)
        tokens[-1].copy_(tokens[0][0].expand_as(tokens[-1]))
        biases[-1].copy_((biases[0][0] - shift).expand_as(biases[-1]))
        biases[0][0] -= shift
