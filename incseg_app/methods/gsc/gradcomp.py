"""Step-aware gradient compensation (Cong et al., "Gradient-Semantic Compensation for Incremental
Semantic Segmentation", arXiv 2307.10822, section "Step-Aware Gradient Compensation").

Old classes learned at different steps forget at different paces because their logits receive
unequal gradient: a step whose classes get little gradient from the losses that keep them (CE on
their pseudo-labels, KD) is the least protected and forgets fastest. Per past step k this part
tracks G_k, the mean |dL/dlogit| over the channels introduced at step k (an EMA over iterations), and
multiplies ``StepContext.channel_weights`` of those channels by

    w_k ∝ 1 / G_k                                                         (paper: step weight)

a constant (no gradient), so every CE/KD term that honours ``channel_weights`` is re-weighted and the
least protected step gets the most weight (``tests/unit/test_methods_behaviour.py`` checks this
direction against measured forgetting).

Choices where the paper is open (each an option, each measured in ``docs/benchmarks.md``):

* ``normalise="max"`` (default): the best-served step keeps weight 1 and the others get more — the
  compensation only adds weight. ``"channels"`` normalises the mean over the old *channels* to 1 and
  ``"steps"`` the mean over *steps* to 1 (the literal reading; with a 6-class base step and a 1-class
  step it cut the old channels' total weight from 7 to 2.9 and tilted CE and KD towards background,
  the collapse the first GSC benchmark showed). On the three-step synthetic task of
  ``tests/unit/test_methods_behaviour.py`` (a step whose class is absent from the new images forgets
  fastest and gets the least gradient) the absent step's forgetting fell from 0.67 IoU to 0.36 with
  "max", 0.32 with "channels" and 0.45 with "steps"; the base step's stayed within 0.02 for all three.
* ``power`` (default 1): w ∝ (1 / G)^power, 1 equalising the steps' gradients (the paper's aim).
* j and k run over the past steps only (the new step is not compensated); with a single past step
  every weight is 1, so the part acts from the second increment on.
* The background channel is neither measured nor re-weighted unless ``include_background``: in an
  increment its gradient is dominated by the shifted-background CE, not by forgetting.
* ``unweighted`` (default) divides each measured channel gradient by the factor this part applied in
  that iteration, so the measurement tracks the loss's own imbalance instead of feeding back on the
  compensation (with feedback the fixed point is w ~ 1/sqrt(G) instead of w ~ 1/G).
* Under data parallelism the measurement is averaged over ranks, so all ranks apply equal weights.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.distributed as dist
from torch import Tensor

from ...domain.errors import ValidationError
from ..parts import Part, StepContext, StepRun

log = logging.getLogger(__name__)

NORMALISATIONS = ("channels", "steps", "max")


@dataclass(frozen=True)
class GradCompOptions:
    """Options of ``gsc_gradcomp`` (``MethodConfig.parts["gsc_gradcomp"]``)."""

    momentum: float = 0.9  # EMA momentum of the per-channel gradient magnitude, in [0, 1)
    max_weight: float = 5.0  # safety cap on a step weight after normalisation
    normalise: str = "max"  # "max": the best-served step gets 1; "channels" / "steps": mean 1 over them
    power: float = 1.0  # w ∝ (1 / G)^power; 1 equalises the steps' gradients, 0 switches the part off
    include_background: bool = False  # measure and re-weight channel 0 with step 0
    unweighted: bool = True  # divide the measured gradient by the factor this part applied
    eps: float = 1e-12  # floor on G_k

    def validate(self) -> None:
        if not 0.0 <= self.momentum < 1.0:
            raise ValidationError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.max_weight < 1.0:
            raise ValidationError(f"max_weight must be >= 1, got {self.max_weight}")
        if self.normalise not in NORMALISATIONS:
            raise ValidationError(f"normalise must be one of {', '.join(NORMALISATIONS)}, got {self.normalise!r}")
        if self.eps <= 0.0:
            raise ValidationError(f"eps must be positive, got {self.eps}")
        if not 0.0 <= self.power <= 2.0:
            raise ValidationError(f"power must be in [0, 2], got {self.power}")


def step_weights(step_grads: Tensor, counts: Tensor | None = None, max_weight: float = float("inf"),
                 eps: float = 1e-12, power: float = 1.0, normalise: str = "mean") -> Tensor:
    """Step weights from per-step gradient magnitudes (GSC step-aware compensation).

    Args:
        step_grads: S float, G_k >= 0 for each past step k (mean |dL/dlogit| over its channels).
        counts: S float, channels per step; the weights get mean 1 over channels (Σ n_k w_k = Σ n_k).
            None gives every step the same count (mean 1 over steps).
        max_weight: upper bound applied after normalisation.
        eps: floor on G_k, so a step with no gradient yet gets a large (capped) weight.
        power: w_k ∝ (1 / G_k)^power.
        normalise: "mean" (the weighted mean above is 1) or "max" (the best-served step gets 1, the
            others more: compensation only adds).
    Returns:
        S float, w_k ∝ (1 / G_k)^power normalised as above, then capped at ``max_weight``; detached.
        E.g. G = [1, 2, 4] -> [12/7, 6/7, 3/7]; with counts [6, 1, 1] -> [32/27, 16/27, 8/27].
    """
    g = step_grads.detach().float().clamp_min(eps)
    n = torch.ones_like(g) if counts is None else counts.detach().float().to(g.device)
    inv = g.pow(-power)
    w = inv / inv.min() if normalise == "max" else inv * n.sum() / (n * inv).sum()
    return w.clamp_max(max_weight)


def channel_step_grads(channel_grads: Tensor, channel_steps: Sequence[int],
                       channels: Sequence[int]) -> tuple[list[int], Tensor, Tensor]:
    """Average per-channel gradient magnitudes into per-step ones.

    Args:
        channel_grads: K float, mean |dL/dlogit_c| per channel.
        channel_steps: K ints, the step each channel was introduced at.
        channels: the channels to group (e.g. the old, non-background channels).
    Returns:
        (steps, G, counts): the sorted distinct steps among ``channels``, S float mean gradient per
        step and S float number of those channels per step.
    """
    steps = sorted({channel_steps[c] for c in channels})
    members = [[c for c in channels if channel_steps[c] == s] for s in steps]
    grads = [channel_grads[m].mean() for m in members]
    counts = torch.tensor([float(len(m)) for m in members])
    return steps, (torch.stack(grads) if grads else channel_grads.new_zeros(0)), counts


def logit_grad_magnitude(grad: Tensor) -> Tensor:
    """B×K×H×W gradient w.r.t. logits -> K float, mean |grad| per channel over batch and pixels."""
    return grad.detach().float().abs().mean(dim=(0, 2, 3))


class StepGradientCompensation(Part):
    """``gsc_gradcomp``: re-weights old channels per step by their measured logit gradient.

    ``before_loss`` multiplies ``ctx.channel_weights`` of old channels of step k by w_k (see
    ``step_weights``) and registers a hook on ``ctx.out.logits`` that records mean |dL/dlogit| per
    channel during ``backward``; ``after_update`` folds it into the EMA (averaged over DDP ranks, so
    every rank applies the same weights). ``summary`` reports the factors per step at the end.
    """

    name = "gsc_gradcomp"
    Options = GradCompOptions
    writes = ("channel_weights",)

    def __init__(self, options: GradCompOptions | None = None) -> None:
        super().__init__(options)
        self.ema: Tensor | None = None  # K float, EMA of mean |dL/dlogit| per channel
        self._pending: Tensor | None = None  # summed measurements since the last update
        self._pending_count = 0
        self._channels: list[int] = []
        self._channel_steps: tuple[int, ...] = ()
        self._factor_sum: Tensor | None = None  # K float, sum of the applied factors (for the summary)
        self._factor_count = 0

    def on_step_start(self, run: StepRun) -> None:
        info = run.step
        first = 0 if self.options.include_background else 1
        self._channels = [c for c in info.old_channels if c >= first]
        self._channel_steps = info.channel_steps
        self.ema, self._pending, self._pending_count = None, None, 0
        self._factor_sum, self._factor_count = None, 0

    def state_dict(self) -> dict[str, Tensor]:
        """Resumable state (``training.resume``): the gradient EMA once measured."""
        return {} if self.ema is None else {"ema": self.ema.detach().clone()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.ema = state["ema"].clone() if "ema" in state else None

    def step_factors(self) -> dict[int, float]:
        """{past step: w_k} from the current EMA ({} before the first measurement)."""
        if self.ema is None or not self._channels:
            return {}
        steps, grads, counts = channel_step_grads(self.ema, self._channel_steps, self._channels)
        o = self.options
        weights = step_weights(grads, counts if o.normalise == "channels" else None, o.max_weight, o.eps, o.power,
                               "max" if o.normalise == "max" else "mean")
        return {s: float(w) for s, w in zip(steps, weights)}

    def current_factors(self, num_classes: int, device: torch.device) -> Tensor:
        """K float multiplicative factors: w_k on old channels of step k, 1 elsewhere."""
        factors = torch.ones(num_classes, device=device)
        by_step = self.step_factors()
        for c in self._channels if by_step else ():
            factors[c] = by_step[self._channel_steps[c]]
        return factors

    def before_loss(self, ctx: StepContext) -> None:
        if not self._channels:
            return
        factors = self.current_factors(ctx.channel_weights.numel(), ctx.channel_weights.device)
        ctx.channel_weights = ctx.channel_weights * factors.to(ctx.channel_weights.dtype)
        self._factor_sum = factors if self._factor_sum is None else self._factor_sum + factors
        self._factor_count += 1
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

    def summary(self) -> dict[str, Any]:
        """Final factor per past step, mean factor per channel over the step, final |dL/dlogit| per step."""
        if self.ema is None or not self._channels:
            return {}
        steps, grads, _ = channel_step_grads(self.ema, self._channel_steps, self._channels)
        mean = (self._factor_sum / max(self._factor_count, 1)).tolist() if self._factor_sum is not None else []
        return {"final_step_factors": {str(s): w for s, w in self.step_factors().items()},
                "step_gradients": {str(s): float(g) for s, g in zip(steps, grads)},
                "mean_channel_factors": [round(float(v), 4) for v in mean]}
