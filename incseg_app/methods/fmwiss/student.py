"""FMWISS student losses (Yu et al., CVPR 2023, Sec. 3.3): the segmentation model learns from the
plug-in teacher's refined pseudo-labels on weak (image-level-tagged) images of an incremental step.

With t = sigmoid(teacher logits) (detached, B×K×H×W), y the pseudo-mask, o = softmax(old logits)
over the K_old old channels, N the new channels and O = {0, ..., K_old-1} the old ones (background
included):

* new classes (``new_class_targets``): q_c = α·t_c + (1-α)·[y = c] for c ∈ N; at pseudo-mask pixels
  marked unsure (255) q_c = t_c. Loss: Σ_{c∈N} w_c · BCE(sigmoid(s_c), q_c) / |N|, mean over pixels.
* old classes (``old_class_targets``): p̃ = β·o + (1-β)·t̂, where t̂ is the teacher's distribution in
  the old model's label space (its new-class mass folded into background, as the old model calls new
  classes background): t̂_0 ∝ t_0 + Σ_{c∈N} t_c, t̂_c ∝ t_c for old c ≠ 0, normalised to sum 1.
  Loss: -Σ_{c∈O} w_c · p̃_c · log softmax(s_O)_c, mean over all pixels (standard KD with soft targets,
  ``losses.knowledge_distillation`` form).

``fmwiss_student`` = new_weight · L_new + old_weight · L_old over weak images only; w =
``ctx.channel_weights``. Without the teacher part (ablated) α = 0 and β = 1: the plain pseudo-mask
and old-model distillation. The paper does not spell out how background enters the old-class
average; the folding above is this project's choice.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ...domain.errors import ValidationError
from ...domain.records import IGNORE_ID
from ..parts import Part, StepContext


def new_class_targets(teacher_probs: Tensor | None, labels: Tensor, new_channels: Sequence[int], alpha: float
                      ) -> tuple[Tensor, Tensor]:
    """Soft targets of the new channels and the pixels they hold on.

    Args: teacher_probs B×|N|×H×W teacher sigmoids of the new channels (None: no teacher); labels
    B×H×W pseudo-mask (255 = unsure); new_channels: the channel ids N; alpha in [0, 1].
    Returns: targets B×|N|×H×W in [0, 1]; valid B×H×W bool (all pixels with a teacher, else non-255).
    """
    onehot = torch.stack([labels == c for c in new_channels], dim=1).float()
    unsure = (labels == IGNORE_ID).unsqueeze(1)
    if teacher_probs is None:
        return onehot, labels != IGNORE_ID
    targets = alpha * teacher_probs + (1.0 - alpha) * onehot
    return torch.where(unsure, teacher_probs, targets), torch.ones_like(labels, dtype=torch.bool)


def old_class_targets(old_logits: Tensor, teacher_probs: Tensor | None, beta: float) -> Tensor:
    """p̃ = β·softmax(old_logits) + (1-β)·t̂ (see the module docstring).

    Args: old_logits B×K_old×H×W; teacher_probs B×K×H×W teacher sigmoids of all K channels, the
    first K_old being the old ones (None: no teacher, returns the old softmax); beta in [0, 1].
    Returns B×K_old×H×W, a distribution over the old channels at every pixel.
    """
    old_probs = F.softmax(old_logits.float(), dim=1)
    if teacher_probs is None:
        return old_probs
    k_old = old_logits.shape[1]
    t = teacher_probs.float()
    folded = torch.cat([t[:, :1] + t[:, k_old:].sum(dim=1, keepdim=True), t[:, 1:k_old]], dim=1)
    t_hat = folded / folded.sum(dim=1, keepdim=True).clamp(min=1e-6)
    return beta * old_probs + (1.0 - beta) * t_hat


def student_loss(logits: Tensor, labels: Tensor, old_logits: Tensor, teacher_probs: Tensor | None,
                 channel_weights: Tensor, *, alpha: float, beta: float, new_weight: float = 1.0,
                 old_weight: float = 1.0) -> Tensor:
    """new_weight · L_new + old_weight · L_old on weak images (module docstring). Scalar.

    Args: logits B×K×H×W student; labels B×H×W pseudo-mask; old_logits B×K_old×H×W; teacher_probs
    B×K×H×W or None; channel_weights K. New channels are K_old..K-1.
    """
    num_classes, k_old = logits.shape[1], old_logits.shape[1]
    new_channels = list(range(k_old, num_classes))
    w = channel_weights.float()
    loss = logits.new_zeros((), dtype=torch.float32)
    if new_channels and new_weight:
        t_new = None if teacher_probs is None else teacher_probs[:, k_old:]
        targets, valid = new_class_targets(t_new, labels, new_channels, alpha)
        bce = F.binary_cross_entropy_with_logits(logits[:, k_old:].float(), targets, reduction="none")
        per_pixel = (bce * w[k_old:].view(1, -1, 1, 1)).sum(dim=1) / len(new_channels)
        loss = loss + new_weight * (per_pixel * valid).sum() / valid.sum().clamp(min=1)
    if old_weight:
        p_tilde = old_class_targets(old_logits, teacher_probs, beta)
        log_q = F.log_softmax(logits[:, :k_old].float(), dim=1)
        loss = loss + old_weight * -(w[:k_old].view(1, -1, 1, 1) * p_tilde * log_q).sum(dim=1).mean()
    return loss


@dataclass(frozen=True)
class StudentOptions:
    """Options of ``fmwiss_student``."""

    alpha: float = 0.5  # teacher share of the new-class targets, in [0, 1]
    beta: float = 0.5  # old model's share of the old-class targets, in [0, 1]
    new_weight: float = 1.0  # weight of L_new
    old_weight: float = 1.0  # weight of L_old

    def validate(self) -> None:
        if not (0.0 <= self.alpha <= 1.0 and 0.0 <= self.beta <= 1.0):
            raise ValidationError(f"alpha and beta must be in [0, 1], got {self.alpha}, {self.beta}")
        if min(self.new_weight, self.old_weight) < 0:
            raise ValidationError("new_weight and old_weight must be >= 0")


class StudentPart(Part):
    """Part ``fmwiss_student``: the student's soft-target losses on weak images of incremental steps.

    Reads the teacher's probabilities from ``StepContext.teacher`` (so it must come after
    ``fmwiss_teacher``, which ``Method.build`` checks); without a teacher (ablated) α = 0 and β = 1.
    Nothing in the base step (no old model).
    """

    name = "fmwiss_student"
    Options = StudentOptions
    reads = ("teacher",)

    def losses(self, ctx: StepContext) -> dict[str, Tensor]:
        if ctx.old_out is None:
            return {}
        weak = ctx.batch.weak.bool()
        if not bool(weak.any()):
            return {"fmwiss_student": ctx.out.logits.new_zeros((), dtype=torch.float32)}
        o = self.options
        index = weak.nonzero().squeeze(1) if ctx.teacher is None else ctx.teacher.index
        probs = None if ctx.teacher is None else ctx.teacher.probs
        loss = student_loss(ctx.out.logits[index], ctx.labels[index], ctx.old_out.logits[index].detach(), probs,
                            ctx.channel_weights, alpha=o.alpha, beta=o.beta, new_weight=o.new_weight,
                            old_weight=o.old_weight)
        return {"fmwiss_student": loss}
