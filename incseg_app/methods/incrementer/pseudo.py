"""Old-class pseudo-labels from the previous-step model, selected by normalised entropy.

Douillard et al., "PLOP: Learning without Forgetting for Continual Semantic Segmentation",
CVPR 2021, Sec. 3.2, the confidence-based pseudo-labelling equation: a background pixel takes the old
model's argmax class ĉ = argmax_c p_old(c) when its normalised entropy
S = −Σ_c p_old(c) log p_old(c) / log K_old is below the threshold τ_ĉ of that class, where τ_c is
the median S of the background pixels the old model assigns to c (PLOP computes it over the
dataset; here over the batch, which needs no extra pass), floored: τ_c = max(median, floor).
Incrementer (Shang et al., CVPR 2023) trains with these pseudo-labels.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from ...domain.errors import ValidationError
from ..parts import Part, StepContext

IGNORE = 255


def normalised_entropy(probs: Tensor) -> Tensor:
    """S = −Σ_c p log p / log K over dim 1: B×K×H×W probabilities -> B×H×W in [0, 1] (K >= 2)."""
    k = probs.shape[1]
    return -(probs * probs.clamp_min(1e-12).log()).sum(dim=1) / math.log(k)


def class_entropy_thresholds(entropy: Tensor, pred: Tensor, mask: Tensor, num_classes: int,
                             floor: float) -> Tensor:
    """τ_c = max(median S over pixels in ``mask`` predicted as c, floor); ``floor`` for unseen classes.

    Args:
        entropy: B×H×W normalised entropy S.
        pred: B×H×W int64 old-model argmax.
        mask: B×H×W bool, the pixels that take part (background-labelled ones).
        num_classes: K_old.
        floor: lower bound of every threshold.

    Returns:
        K_old float thresholds. The median is ``torch.median``'s lower median for even counts.
    """
    thresholds = torch.full((num_classes,), float(floor), device=entropy.device)
    s, p = entropy[mask], pred[mask]
    for c in p.unique().tolist():
        thresholds[c] = max(float(s[p == c].median()), floor)
    return thresholds


def entropy_pseudo_labels(old_logits: Tensor, labels: Tensor, floor: float = 0.001,
                          ignore_uncertain: bool = False) -> Tensor:
    """PLOP Sec. 3.2 pseudo-labelling: relabel background pixels with the old model's confident argmax.

    Args:
        old_logits: B×K_old×H×W previous-step logits (channel 0 = background).
        labels: B×H×W int64 current targets (0 = background, 255 = ignore).
        floor: minimum per-class threshold τ_c.
        ignore_uncertain: mark background pixels whose entropy is not below τ as 255 (PLOP's
            original choice) instead of leaving them background.

    Returns:
        B×H×W int64 targets: background pixels with S < τ_ĉ become ĉ (which may be 0 again);
        every other pixel is unchanged.
    """
    if old_logits.shape[1] < 2:
        return labels
    with torch.no_grad():
        probs = old_logits.float().softmax(dim=1)
        entropy = normalised_entropy(probs)
        pred = probs.argmax(dim=1)
        background = labels == 0
        thresholds = class_entropy_thresholds(entropy, pred, background, probs.shape[1], floor)
        confident = entropy < thresholds[pred]
        out = labels.clone()
        out[background & confident] = pred[background & confident].to(labels.dtype)
        if ignore_uncertain:
            out[background & ~confident] = IGNORE
    return out


class EntropyPseudoLabels(Part):
    """Label source: PLOP-style entropy pseudo-labels (PLOP Sec. 3.2) for Incrementer.

    Options: ``floor`` (minimum threshold, default 0.001), ``ignore_uncertain`` (default true, as in
    PLOP: unconfident background pixels become 255; false keeps them background). Why true: about
    half of every old class's background-labelled pixels are above its median entropy, and training
    them as background teaches the new model that old classes are background — on CamVid 6-1 (short
    CPU run) keeping them background collapsed all-mIoU to 0.0 like ``finetune``, ignoring them kept
    5.7 (MiB 2.9). Acts only when a previous-step model exists.
    """

    name = "inc_pseudo"

    def __init__(self, floor: float = 0.001, ignore_uncertain: bool = True) -> None:
        if not 0.0 <= floor <= 1.0:
            raise ValidationError(f"part inc_pseudo: floor must be in [0, 1], got {floor}")
        self.floor = floor
        self.ignore_uncertain = ignore_uncertain

    def relabel(self, ctx: StepContext) -> Tensor | None:
        if ctx.old_out is None:
            return None
        return entropy_pseudo_labels(ctx.old_out.logits, ctx.labels, self.floor, self.ignore_uncertain)
