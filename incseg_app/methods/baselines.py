"""Reference methods' parts, and the background treatment every method can use.

* ``finetune`` (lower bound): cross-entropy on the current step's labels only.
* ``joint`` (upper bound): the same loss, trained on all classes at once with full labels
  (``Method.joint``; the step runner builds the targets).
* ``mib``: Cermelli et al., "Modeling the Background for Incremental Learning in Semantic
  Segmentation" (CVPR 2020): unbiased CE (Eq. 4), unbiased KD (Eq. 5) and the background-based
  initialisation of new classifiers (Sec. 3.4, ``BackgroundInit``).

**Background treatment as parts.** ``CrossEntropy`` and ``Distillation`` take ``unbiased``: false is
the standard loss, true is MiB's (``losses.unbiased_cross_entropy`` / ``unbiased_knowledge_distillation``).
Every incremental method has a ``ce`` and a ``kd`` slot and (except MiB, which names them after its
paper) a ``bg_init`` slot, so MiB's background modelling is available to every method and each
method's registry entry sets the defaults that measured best (``docs/benchmarks.md``). With
``weak_images`` false a loss skips the rows of weak (pseudo-mask) images, where another part
(FMWISS's student) owns the supervision.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..domain.errors import ValidationError
from .labelmaps import ignore_rows
from .losses import (
    knowledge_distillation, unbiased_cross_entropy, unbiased_knowledge_distillation, weighted_cross_entropy,
)
from .parts import Part, StepContext, StepRun


@dataclass(frozen=True)
class CrossEntropyOptions:
    """Options of a cross-entropy slot (``ce``, ``mib_unce``)."""

    weight: float = 1.0  # loss weight, >= 0
    unbiased: bool = False  # MiB Eq. 4: a background label means "background or any old class"
    weak_images: bool = True  # also train on weak (pseudo-mask) images

    def validate(self) -> None:
        if self.weight < 0:
            raise ValidationError(f"weight must be >= 0, got {self.weight}")


class CrossEntropy(Part):
    """Cross-entropy on ``ctx.labels`` weighted by ``ctx.channel_weights``; loss ``ce`` (``unce`` when
    unbiased at an incremental step). The unbiased form is the plain one at the base step."""

    Options = CrossEntropyOptions

    def losses(self, ctx: StepContext) -> dict[str, Tensor]:
        o = self.options
        labels = ctx.labels if o.weak_images else ignore_rows(ctx.labels, ctx.batch.weak.bool())
        num_old = len(ctx.step.old_channels)
        if o.unbiased and num_old > 1:
            unce = unbiased_cross_entropy(ctx.out.log_probs(), labels, num_old, ctx.channel_weights)
            return {"unce": o.weight * unce}
        return {"ce": o.weight * weighted_cross_entropy(ctx.out.log_probs(), labels, ctx.channel_weights)}


@dataclass(frozen=True)
class DistillationOptions:
    """Options of a distillation slot (``kd``, ``mib_unkd``)."""

    weight: float = 1.0  # loss weight, >= 0
    temperature: float = 1.0  # softmax temperature of the standard KD (the unbiased KD uses 1)
    unbiased: bool = False  # MiB Eq. 5: the new classes count as background for the old model
    weak_images: bool = True  # also distil on weak (pseudo-mask) images

    def validate(self) -> None:
        if self.weight < 0 or self.temperature <= 0:
            raise ValidationError(f"weight must be >= 0 and temperature > 0, got {self.weight}, {self.temperature}")


class Distillation(Part):
    """Output distillation on the old channels; loss ``kd`` (LwF) or ``unkd`` (MiB Eq. 5). Nothing in
    the base step."""

    Options = DistillationOptions

    def losses(self, ctx: StepContext) -> dict[str, Tensor]:
        if ctx.old_out is None:
            return {}
        o = self.options
        mask = None
        if not o.weak_images:
            keep = ~ctx.batch.weak.bool()
            if not bool(keep.any()):
                return {}
            mask = keep.view(-1, 1, 1).expand_as(ctx.labels)
        if o.unbiased:
            loss = unbiased_knowledge_distillation(ctx.out.log_probs(), ctx.old_out.logits, ctx.channel_weights, mask)
            return {"unkd": o.weight * loss}
        loss = knowledge_distillation(ctx.out.logits, ctx.old_out.logits, ctx.channel_weights, o.temperature, mask)
        return {"kd": o.weight * loss}


@dataclass(frozen=True)
class BackgroundInitOptions:
    """Options of a background-initialisation slot (``bg_init``, ``mib_init``)."""

    token_noise: float = 2.0  # std of the noise added to each copied token, in units of the background token's std

    def validate(self) -> None:
        if self.token_noise < 0:
            raise ValidationError(f"token_noise must be >= 0, got {self.token_noise}")


class BackgroundInit(Part):
    """MiB initialisation from the background (Sec. 3.4).

    Each new class token copies the background token; with n new classes the background bias and
    every new bias become ``bias_bg - log(n + 1)``, so at the start of the step the new classes and
    background share the old background probability and old-class probabilities are unchanged.
    Acts on ``model.token_groups`` / ``model.bias_groups`` (the last group is this step's).

    Choice where the paper is open (MiB initialises a linear 1×1 classifier): in a class-token decoder
    an exact copy (``token_noise`` 0) is a saddle the shared decoder does not leave — the copied
    token's output embedding stayed within cos 0.97 of the background's and the new class was never
    learned on the synthetic task of ``tests/unit/test_methods_behaviour.py`` (IoU 0.00 against 0.72
    with noise 2). The default adds Gaussian noise of ``token_noise`` × the background token's
    standard deviation to each copy; the biases follow MiB exactly.
    """

    Options = BackgroundInitOptions

    @torch.no_grad()
    def on_step_start(self, run: StepRun) -> None:
        if run.old_model is None:
            return
        model = run.model.module if hasattr(run.model, "module") else run.model
        tokens, biases = model.token_groups, model.bias_groups
        n_new = tokens[-1].shape[0]
        shift = math.log(n_new + 1)
        bg = tokens[0][0]
        noise = self.options.token_noise * bg.std() * torch.randn(tokens[-1].shape, generator=_generator(run),
                                                                   dtype=bg.dtype).to(bg.device)
        tokens[-1].copy_(bg.expand_as(tokens[-1]) + noise)
        biases[-1].copy_((biases[0][0] - shift).expand_as(biases[-1]))
        biases[0][0] -= shift


def _generator(run: StepRun) -> torch.Generator:
    """A CPU generator seeded by the run's seed and step (the same noise on every rank and rerun)."""
    return torch.Generator().manual_seed(run.train.seed * 1_000_003 + run.step.step)
