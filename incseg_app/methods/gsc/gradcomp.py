"""Step-aware gradient compensation (Cong et al., "Gradient-Semantic Compensation for Incremental
Semantic Segmentation", arXiv 2307.10822, section "Step-Aware Gradient Compensation").

Old classes learned at different steps forget at different paces because their logits receive
unequal gradient. Per past step k this part tracks G_k, the mean |dL/dlogit| over the channels
introduced at step k (an EMA over iterations), and multiplies ``StepContext.channel_weights`` of those
channels by

    w_k = mean_j(G_j) / G_k,  normalised so that mean_k w_k = 1,           (paper: step weight)

a constant (no gradient), so every CE/KD term that honours ``channel_weights`` is re-weighted.

Choices where the paper is open (documented for ablations):

* j and k run over the *past* steps only (the new step is not compensated), so with a single past
  step the weights are all 1; the part matters from the second increment on.
* The background channel is neither measured nor re-weighted unless ``include_background``: in an
  increment its gradient is dominated by the shifted-background CE, not by forgetting.
* ``unweighted`` (default) divides each measured channel gradient by the factor this part applied in
  that iteration, so the measurement tracks the loss's own imbalance instead of feeding back on the
  compensation (with feedback the fixed point is w ~ 1/sqrt(G) instead of w ~ 1/G). The division is
  exact for terms that scale channel c's logit gradient by w_c and approximate where the softmax
  couples channels (a background pixel's CE also pushes old logits down, unscaled).
* Under data parallelism the measurement is averaged over ranks, so all ranks apply equal weights.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.distributed as dist
from torch import Tensor

from ...domain.config import from_dict
from ...domain.errors import ValidationError
from ..parts import Part, StepContext, StepRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GradCompOptions:
    """Options of ``gsc_gradcomp`` (``MethodConfig.parts["gsc_gradcomp"]``)."""

    momentum: float = 0.9  # EMA momentum of the per-channel gradient magnitude, in [0, 1)
    max_weight: float = 5.0  # safety cap on a step weight after normalisation
    include_background: bool = False  # measure and re-weight channel 0 with step 0
    unweighted: bool = True  # divide the measured gradient by the factor this part applied
    eps: float = 1e-12  # floor on G_k

    def validate(self) -> None:
        if not 0.0 <= self.momentum < 1.0:
            raise ValidationError(f"gsc_gradcomp.momentum must be in [0, 1), got {self.momentum}")
        if self.max_weight < 1.0:
            raise ValidationError(f"gsc_gradcomp.max_weight must be >= 1, got {self.max_weight}")
        if self.eps <= 0.0:
            raise ValidationError(f"gsc_gradcomp.eps must be positive, got {self.eps}")


def step_weights(step_grads: Tensor, max_weight: float = float("inf"), eps: float = 1e-12) -> Tensor:
    """Step weights from per-step gradient magnitudes (GSC step-aware compensation).

    Args:
        step_grads: S float, G_k >= 0 for each past step k (mean |dL/dlogit| over its channels).
        max_weight: upper bound applied after normalisation.
        eps: floor on G_k, so a step with no gradient yet gets a large (capped) weight.
    Returns:
        S float, w_k = mean_j(G_j) / G_k normalised to mean 1, then capped at ``max_weight``;
        detached. E.g. G = [1, 2, 4] -> [12/7, 6/7, 3/7].
    """
    g = step_grads.detach().float().clamp_min(eps)
    w = g.mean() / g
    return (w / w.mean()).clamp_max(max_weight)


def channel_step_grads(channel_grads: Tensor, channel_steps: Sequence[int],
                       channels: Sequence[int]) -> tuple[list[int], Tensor]:
    """Average per-channel gradient magnitudes into per-step ones.

    Args:
        channel_grads: K float, mean |dL/dlogit_c| per channel.
        channel_steps: K ints, the step each channel was introduced at.
        channels: the channels to group (e.g. the old, non-background channels).
    Returns:
        (steps, G): the sorted distinct steps among ``channels`` and S float mean gradient per step.
    """
    steps = sorted({channel_steps[c] for c in channels})
    grads = [channel_grads[[c for c in channels if channel_steps[c] == s]].mean() for s in steps]
    return steps, torch.stack(grads) if grads else channel_grads.new_zeros(0)


def logit_grad_magnitude(grad: Tensor) -> Tensor:
    """B×K×H×W gradient w.r.t. logits -> K float, mean |grad| per channel over batch and pixels."""
    return grad.detach().float().abs().mean(dim=(0, 2, 3))


class StepGradientCompensation(Part):
    """``gsc_gradcomp``: re-weights old channels per step by their measured logit gradient.

    ``before_loss`` multiplies ``ctx.channel_weights`` of old channels of step k by w_k (see
    ``step_weights``) and registers a hook on ``ctx.out.logits`` that records mean |dL/dlogit| per
    channel during ``backward``; ``after_update`` folds it into the EMA (averaged over DDP ranks, so
    every rank applies the same weights).
    """

    name = "gsc_gradcomp"

    def __init__(self, options: GradCompOptions | None = None) -> None:
        self.options = options or GradCompOptions()
        self.ema: Tensor | None = None  # K float, EMA of mean |dL/dlogit| per channel
        self._pending: Tensor | None = None  # summed measurements since the last update
        self._pending_count = 0
        self._channels: list[int] = []
        self._channel_steps: tuple[int, ...] = ()

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "StepGradientCompensation":
        return cls(from_dict(GradCompOptions, options))

    def on_step_start(self, run: StepRun) -> None:
        info = run.step
        first = 0 if self.options.include_background else 1
        self._channels = [c for c in info.old_channels if c >= first]
        self._channel_steps = info.channel_steps
        self.ema, self._pending, self._pending_count = None, None, 0

    def state_dict(self) -> dict[str, Tensor]:
        """Resumable state (``training.resume``): the gradient EMA once measured."""
        return {} if self.ema is None else {"ema": self.ema.detach().clone()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.ema = state["ema"].clone() if "ema" in state else None

    def current_factors(self, num_classes: int, device: torch.device) -> Tensor:
        """K float multiplicative factors: w_k on old channels of step k, 1 elsewhere."""
        factors = torch.ones(num_classes, device=device)
        if self.ema is None or not self._channels:
            return factors
        steps, grads = channel_step_grads(self.ema, self._channel_steps, self._channels)
        weights = step_weights(grads, self.options.max_weight, self.options.eps).to(device)
        by_step = dict(zip(steps, weights))
        for c in self._channels:
            factors[c] = by_step[self._channel_steps[c]]
        return factors

    def before_loss(self, ctx: StepContext) -> None:
        if not self._channels:
            return
        factors = self.current_factors(ctx.channel_weights.numel(), ctx.channel_weights.device)
        ctx.channel_weights = ctx.channel_weights * factors.to(ctx.channel_weights.dtype)
        if ctx.out.logits.requires_grad:
            applied = factors.detach().clone() if self.options.unweighted else None
            ctx.out.logits.register_hook(lambda grad: self._record(grad, applied))

    def _record(self, grad: Tensor, applied: Tensor | None) -> None:
        magnitude = logit_grad_magnitude(grad)
        if applied is not None:
            magnitude = magnitude / applied.to(magnitude.device)
        self._pending = magnitude if self._pending is None else self._pending + magnitude
        self._pending_count += 1

    def after_update(self, ctx: StepContext) -> None:
        if self._pending is None:
            return
        measured = self._pending / self._pending_count  # mean over accumulated backward passes
        self._pending, self._pending_count = None, 0
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(measured)
            measured /= dist.get_world_size()
        m = self.options.momentum
        self.ema = measured if self.ema is None else m * self.ema.to(measured.device) + (1.0 - m) * measured
        if log.isEnabledFor(logging.DEBUG):
            log.debug("gsc_gradcomp iteration %d: per-channel |dL/dlogit| EMA %s",
                      ctx.run.iteration, self.ema.tolist())
