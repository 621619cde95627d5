"""Incrementer token growth: new class tokens each step, old class tokens frozen or slowed down.

Shang et al., "Incrementer", CVPR 2023, Sec. 3.2: at step t the decoder receives the class tokens
of all classes seen so far; the tokens of steps < t are kept (frozen) while the new step's tokens
and the shared decoder are trained. The engine has already appended the new token group
(``Segmenter.grow``) when ``on_step_start`` runs; this part only decides how old groups move.

Choice where the paper is open: the background token is an old token too and is frozen with the
others by default (``train_background`` false). With the plain CE its meaning shifts every step
(pixels of the new classes leave it) and a trainable background row was the earlier port's choice;
with the unbiased CE the shift is absorbed by the loss, and ``docs/benchmarks.md`` measures both.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ...domain.errors import ValidationError
from ..parts import Part, StepContext, StepRun

log = logging.getLogger(__name__)

MODES = ("frozen", "low_lr")


@dataclass(frozen=True)
class TokenOptions:
    """Options of ``inc_tokens``."""

    mode: str = "frozen"  # "frozen" (old rows never change) | "low_lr" (old rows move at lr_mult)
    lr_mult: float = 0.1  # update multiplier of old rows in low_lr mode, in (0, 1]
    train_background: bool = False  # the background row keeps training at the full rate

    def validate(self) -> None:
        if self.mode not in MODES:
            raise ValidationError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not 0.0 < self.lr_mult <= 1.0:
            raise ValidationError(f"lr_mult must be in (0, 1], got {self.lr_mult}")


def unwrap_model(model: nn.Module) -> nn.Module:
    """The ``Segmenter`` inside a DistributedDataParallel wrapper (or the model itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def old_row_scales(group_sizes: tuple[int, ...], step: int, scale: float,
                   train_background: bool) -> list[Tensor]:
    """Per-row update scale of every old group (steps < ``step``): ``scale``, background row 1 if trained.

    Returns:
        one float tensor of length K_s per old step s (values in [0, 1]; 0 = frozen, 1 = free).
    """
    scales = []
    for s in range(min(step, len(group_sizes))):
        rows = torch.full((group_sizes[s],), float(scale))
        if s == 0 and train_background:
            rows[0] = 1.0
        scales.append(rows)
    return scales


class TokenGrowthFreeze(Part):
    """Model adapter: old class tokens (and their logit biases) frozen or trained at a low rate.

    Incrementer Sec. 3.2 (class tokens per step, old ones kept; decoder shared); options in
    ``TokenOptions``.

    An old group whose rows are all frozen gets ``requires_grad_(False)`` (no gradient, no weight
    decay). Rows that move at a reduced rate — and frozen rows that share a Parameter with the
    background token — are handled by update scaling: the parameter is snapshot in ``before_loss``
    and, after ``optimizer.step()``, set to ``snapshot + scale × (new − snapshot)``. Scaling the
    update instead of the gradient keeps the low rate meaningful with Adam-type optimisers, which
    are invariant to a constant gradient scale, and stops decoupled weight decay moving frozen rows.
    ``requires_grad`` flags are restored in ``on_step_end``.
    """

    name = "inc_tokens"
    Options = TokenOptions

    def __init__(self, options: TokenOptions | None = None) -> None:
        super().__init__(options)
        self._frozen: list[nn.Parameter] = []
        self._scaled: list[tuple[nn.Parameter, Tensor]] = []
        self._snapshots: list[Tensor] = []

    def on_step_start(self, run: StepRun) -> None:
        self._frozen, self._scaled, self._snapshots = [], [], []
        if run.step.step == 0:
            return
        model = unwrap_model(run.model)
        o = self.options
        scale = 0.0 if o.mode == "frozen" else o.lr_mult
        sizes = tuple(int(t.shape[0]) for t in model.token_groups)
        for s, rows in enumerate(old_row_scales(sizes, run.step.step, scale, o.train_background)):
            for param in (model.token_groups[s], model.bias_groups[s]):
                if bool((rows == 0).all()):
                    param.requires_grad_(False)
                    self._frozen.append(param)
                elif bool((rows != 1).any()):
                    self._scaled.append((param, rows.to(param.device, param.dtype)))
        log.info("inc_tokens: step %d, %s old groups: %d frozen, %d rate-scaled parameters",
                 run.step.step, o.mode, len(self._frozen), len(self._scaled))

    def before_loss(self, ctx: StepContext) -> None:
        self._snapshots = [param.detach().clone() for param, _ in self._scaled]

    def after_update(self, ctx: StepContext) -> None:
        if len(self._snapshots) != len(self._scaled):
            return
        with torch.no_grad():
            for (param, rows), before in zip(self._scaled, self._snapshots):
                rows = rows.to(param.device).view(-1, *([1] * (param.dim() - 1)))
                param.copy_(before + rows * (param - before))
        self._snapshots = []

    def on_step_end(self, run: StepRun) -> None:
        for param in self._frozen:
            param.requires_grad_(True)
        self._frozen, self._scaled, self._snapshots = [], [], []
