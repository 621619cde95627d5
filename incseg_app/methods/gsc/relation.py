"""Soft–sharp semantic relation distillation (Cong et al., "Gradient-Semantic Compensation for
Incremental Semantic Segmentation", arXiv 2307.10822, section "Soft-Sharp Semantic Relation
Distillation").

Class prototypes p_c are masked averages of decoder pixel embeddings; the relation matrix
R_ij = cos(p_i, p_j) is computed for the old (frozen) and the new model with the same masks, and each
old class's row is distilled as a distribution at a soft (high) and a sharp (low) temperature:

    L_rel = sum_{T in {T_soft, T_sharp}} lambda_T * mean_{i old, seen}
            KL( softmax(R_old[i] / T) || softmax(R_new[i] / T) ).

Masks: pixels whose current target is a class (not background, not 255) use that target (ground truth
for the new classes); background pixels use the old model's argmax (pseudo-labels for old classes,
background included).

Choices where the paper is open (options; measured in ``docs/benchmarks.md``):

* ``new_columns`` (default false): rows hold only old classes. A new-class column would compare the
  old model's embedding of new-class pixels — a model that never learned those classes — with the
  new model's, and so hold the new classes' prototypes where the old model put them.
* ``momentum`` (default 0.9): prototypes are running averages over batches, for the old and the new
  model alike (the new model's carries the gradient of the current batch's share, the rest is
  detached), so a class seen in few pixels of one batch no longer makes its row noise; a class seen
  in no batch yet takes no part. 0 uses the current batch's prototypes only.
* The diagonal R_ii (always 1) is left out of each row, since at a sharp temperature it would swamp
  the row; rows are averaged, not summed; no T^2 factor (the lambdas carry the scale); a class needs
  ``min_pixels`` pixels (at h×w) in a batch to update its prototype.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ...domain.errors import ValidationError
from ...domain.records import BACKGROUND_ID
from ..labelmaps import channel_argmax, resize_labels
from ..parts import Part, StepContext, StepRun


@dataclass(frozen=True)
class RelationOptions:
    """Options of ``gsc_relation`` (``MethodConfig.parts["gsc_relation"]``)."""

    weight: float = 1.0  # overall loss weight
    soft_temperature: float = 1.0  # high T: flat relation distribution
    sharp_temperature: float = 0.1  # low T: peaked relation distribution
    soft_weight: float = 1.0  # lambda of the soft term
    sharp_weight: float = 1.0  # lambda of the sharp term
    include_background: bool = True  # background (channel 0) is a row/column like any old class
    new_columns: bool = False  # rows also compare old classes to the new classes (see the docstring)
    momentum: float = 0.9  # running average of the prototypes over batches (0 = this batch only)
    min_pixels: int = 4  # pixels (at h×w) a class needs in a batch to update its prototype

    def validate(self) -> None:
        if self.soft_temperature <= 0 or self.sharp_temperature <= 0:
            raise ValidationError("gsc_relation: temperatures must be positive")
        if self.sharp_temperature > self.soft_temperature:
            raise ValidationError(
                f"gsc_relation: sharp_temperature ({self.sharp_temperature}) must not exceed "
                f"soft_temperature ({self.soft_temperature})")
        if min(self.weight, self.soft_weight, self.sharp_weight) < 0:
            raise ValidationError("gsc_relation: weights must be non-negative")
        if not 0.0 <= self.momentum < 1.0 or self.min_pixels < 1:
            raise ValidationError(f"gsc_relation: momentum in [0, 1) and min_pixels >= 1 are required, got "
                                  f"{self.momentum}, {self.min_pixels}")


def prototype_labels(labels: Tensor, old_logits: Tensor, old_channels: Sequence[int]) -> Tensor:
    """Masks for prototypes: targets where they name a class, old-model argmax where they are background.

    Args:
        labels: B×H×W int64 current targets (0 = background, 255 = ignore).
        old_logits: B×K_old×H×W logits of the previous model; index i is channel ``old_channels[i]``.
        old_channels: K_old channel ids of the old model's outputs.
    Returns:
        B×H×W int64 channel map (255 = ignore).
    """
    lut = torch.as_tensor(list(old_channels), device=labels.device, dtype=torch.long)
    pseudo = lut[channel_argmax(old_logits)]
    return torch.where(labels == BACKGROUND_ID, pseudo, labels)


def class_prototypes(emb: Tensor, labels: Tensor, num_classes: int) -> tuple[Tensor, Tensor]:
    """Masked average of pixel embeddings per class over the whole batch.

    Args:
        emb: B×D×h×w pixel embeddings.
        labels: B×h×w int64 channel map at the embedding resolution (255 or >= K = ignored).
        num_classes: K.
    Returns:
        (prototypes K×D float, zero rows for absent classes; counts K int64 pixels per class).
    """
    d = emb.shape[1]
    flat = emb.float().permute(0, 2, 3, 1).reshape(-1, d)
    lab = labels.reshape(-1)
    keep = (lab >= 0) & (lab < num_classes)
    lab, flat = lab[keep], flat[keep]
    sums = flat.new_zeros(num_classes, d).index_add_(0, lab, flat)
    counts = torch.bincount(lab, minlength=num_classes)
    return sums / counts.clamp_min(1)[:, None].to(sums.dtype), counts


def relation_matrix(prototypes: Tensor) -> Tensor:
    """P×D prototypes -> P×P cosine similarities R_ij = cos(p_i, p_j)."""
    p = F.normalize(prototypes.float(), dim=1)
    return p @ p.t()


def relation_kl(r_old: Tensor, r_new: Tensor, rows: Tensor, temperature: float) -> Tensor:
    """Mean over ``rows`` of KL(softmax(R_old[i]/T) || softmax(R_new[i]/T)), diagonal left out.

    Args:
        r_old, r_new: P×P relation matrices (old one is treated as a constant).
        rows: R int64 indices into the P classes (the old classes to distil).
        temperature: T > 0.
    Returns:
        Scalar >= 0; 0 when the rows agree (or when P < 2 or no rows).
    """
    p = r_old.shape[0]
    if p < 2 or rows.numel() == 0:
        return r_new.sum() * 0.0
    off_diag = ~torch.eye(p, dtype=torch.bool, device=r_old.device)[rows]
    old = r_old.detach()[rows][off_diag].view(len(rows), p - 1) / temperature
    new = r_new[rows][off_diag].view(len(rows), p - 1) / temperature
    log_q_old, log_q_new = F.log_softmax(old, dim=1), F.log_softmax(new, dim=1)
    return (log_q_old.exp() * (log_q_old - log_q_new)).sum(dim=1).mean()


def soft_sharp_relation_loss(r_old: Tensor, r_new: Tensor, rows: Tensor, options: RelationOptions) -> Tensor:
    """``options.weight`` × (λ_soft KL at T_soft + λ_sharp KL at T_sharp), see ``relation_kl``."""
    soft = relation_kl(r_old, r_new, rows, options.soft_temperature)
    sharp = relation_kl(r_old, r_new, rows, options.sharp_temperature)
    return options.weight * (options.soft_weight * soft + options.sharp_weight * sharp)


class SoftSharpRelationDistillation(Part):
    """``gsc_relation``: loss ``gsc_relation`` distilling the old model's class-relation rows."""

    name = "gsc_relation"
    Options = RelationOptions

    def __init__(self, options: RelationOptions | None = None) -> None:
        super().__init__(options)
        self._old: Tensor | None = None  # K×D running old-model prototypes (detached)
        self._new: Tensor | None = None  # K×D running new-model prototypes (detached between batches)
        self._seen: Tensor | None = None  # K bool, classes with a running prototype

    def on_step_start(self, run: StepRun) -> None:
        self._old = self._new = self._seen = None

    def losses(self, ctx: StepContext) -> dict[str, Tensor]:
        if ctx.old_out is None or not ctx.step.old_channels:
            return {}
        k, size = ctx.step.num_classes, tuple(ctx.out.pixel_emb.shape[-2:])
        # nearest-resizing labels and old logits first gives the same masks as resizing the combined map
        old_logits = F.interpolate(ctx.old_out.logits.float(), size=size, mode="nearest")
        masks = prototype_labels(resize_labels(ctx.labels, size), old_logits, ctx.step.old_channels)
        new_p, counts = class_prototypes(ctx.out.pixel_emb, masks, k)
        old_p, _ = class_prototypes(ctx.old_out.pixel_emb.detach(), resize_labels(masks, ctx.old_out.pixel_emb.shape[-2:]), k)
        old_p, new_p, seen = self._running(old_p, new_p, counts >= self.options.min_pixels)
        present = self._columns(seen, ctx.step.old_channels)
        old_set = set(ctx.step.old_channels) - ({BACKGROUND_ID} if not self.options.include_background else set())
        rows = torch.tensor([i for i, c in enumerate(present.tolist()) if c in old_set],
                            dtype=torch.long, device=counts.device)
        loss = soft_sharp_relation_loss(relation_matrix(old_p[present]), relation_matrix(new_p[present]),
                                        rows, self.options)
        return {self.name: loss}

    def _running(self, old_p: Tensor, new_p: Tensor, fresh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Fold this batch's K×D prototypes (rows ``fresh``) into the running ones; (old, new, seen K bool)."""
        m = self.options.momentum
        if self._old is None or m == 0.0:
            old_run, new_run, seen = old_p, new_p, fresh
        else:
            prev_old, prev_new = self._old.to(old_p.device), self._new.to(new_p.device)
            known = self._seen.to(fresh.device)
            blend = (fresh & known)[:, None]
            old_run = torch.where(blend, m * prev_old + (1 - m) * old_p, torch.where(fresh[:, None], old_p, prev_old))
            new_run = torch.where(blend, m * prev_new + (1 - m) * new_p, torch.where(fresh[:, None], new_p, prev_new))
            seen = known | fresh
        self._old, self._new, self._seen = old_run.detach(), new_run.detach(), seen
        return old_run, new_run, seen

    def _columns(self, seen: Tensor, old_channels: Sequence[int]) -> Tensor:
        """Channels with a prototype that take part in the relation matrix."""
        allowed = torch.zeros_like(seen, dtype=torch.bool)
        if self.options.new_columns:
            allowed[:] = True
        else:
            allowed[list(old_channels)] = True
        if not self.options.include_background:
            allowed[BACKGROUND_ID] = False
        return torch.nonzero(seen & allowed).flatten()
