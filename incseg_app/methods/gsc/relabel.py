"""Prototypical pseudo re-labelling (Cong et al., "Gradient-Semantic Compensation for Incremental
Semantic Segmentation", arXiv 2307.10822, section "Prototypical Pseudo Re-labeling").

For a pixel x labelled background in the current step, let c = argmax of the old model at x and f(x)
the old model's (L2-normalised) pixel embedding. With the prototype of c

    p_c = normalise(mean f(y) over confident pixels y of c)   (old max prob > ``confidence``),
    d(x, c) = 1 - cos(f(x), p_c),      tau_c = q-quantile_{y confident of c} d(y, c),

the pixel becomes c if d(x, c) <= tau_c, else background or 255 (``reject_to``); pixels the old model
calls background stay background.

Choices where the paper is open (options; measured in ``docs/benchmarks.md``):

* ``quantile`` (default 0.9): the paper's class-adaptive threshold read as the median (0.5) rejects,
  by construction, half of the very pixels that define the prototype — half the confident old-class
  pixels became 255 in every batch. A high quantile keeps the confident core and rejects only the
  outliers, which is what the rule is for.
* ``momentum`` (default 0.9): prototypes and thresholds are running averages over batches (the old
  model is frozen, so they estimate dataset-level statistics); 0 uses each batch's own statistics.
* A class with fewer than ``min_pixels`` confident pixels uses all the pixels it is predicted on
  (``fallback_to_all``; without it, a weak old model leaves whole classes unverified and they are
  forgotten), else it keeps its last statistics; a class never seen has no prototype, so its pixels
  are rejected. Under data parallelism each rank keeps its own statistics (a quantile does not
  decompose over ranks). Statistics are computed at the embedding resolution h×w; distances are
  upsampled bilinearly to H×W for the per-pixel rule.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ...domain.errors import ValidationError
from ...domain.records import BACKGROUND_ID, IGNORE_ID
from ..parts import Part, StepContext, StepRun
from ..labelmaps import channel_argmax, resize_labels

log = logging.getLogger(__name__)

REJECT_TO = {"background": BACKGROUND_ID, "ignore": IGNORE_ID}
TIE_TOLERANCE = 1e-6  # distances within this of the threshold count as near (float noise at the median)


@dataclass(frozen=True)
class RelabelOptions:
    """Options of ``gsc_relabel`` (``MethodConfig.parts["gsc_relabel"]``)."""

    confidence: float = 0.5  # old max prob above which a pixel defines its class's prototype
    quantile: float = 0.9  # threshold = this quantile of the confident pixels' distances (0.5 = median)
    reject_to: str = "ignore"  # "background" | "ignore": target of pseudo-labels that are too far
    momentum: float = 0.9  # EMA of prototypes/thresholds over batches (0 = this batch's statistics)
    min_pixels: int = 4  # confident pixels (at h×w) a class needs for its statistics to update
    fallback_to_all: bool = True  # a class short of confident pixels uses all its predicted pixels

    def validate(self) -> None:
        if not 0.0 <= self.confidence < 1.0:
            raise ValidationError(f"confidence must be in [0, 1), got {self.confidence}")
        if not 0.0 < self.quantile <= 1.0:
            raise ValidationError(f"quantile must be in (0, 1], got {self.quantile}")
        if self.reject_to not in REJECT_TO:
            raise ValidationError(
                f"reject_to must be 'background' or 'ignore', got {self.reject_to!r}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValidationError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.min_pixels < 1:
            raise ValidationError(f"min_pixels must be >= 1, got {self.min_pixels}")


def confident_prototypes(emb: Tensor, probs: Tensor, region: Tensor, confidence: float,
                         min_pixels: int = 1, fallback_to_all: bool = False, quantile: float = 0.5
                         ) -> tuple[Tensor, Tensor, Tensor]:
    """Per old output class: prototype and median distance of its confident pixels.

    Args:
        emb: B×D×h×w old-model pixel embeddings (L2-normalised along D).
        probs: B×K_old×h×w old-model softmax probabilities at the embedding resolution.
        region: B×h×w bool, pixels allowed to define prototypes (the current background).
        confidence: a pixel is confident when its max probability is > this.
        min_pixels: classes with fewer confident pixels get no statistics (but see ``fallback_to_all``).
        fallback_to_all: a class with fewer than ``min_pixels`` confident pixels uses every region pixel
            it is predicted on instead (if there are at least ``min_pixels`` of them).
        quantile: which quantile of the distances is the threshold (lower interpolation; 0.5 is
            torch's lower median).
    Returns:
        (prototypes K_old×D unit vectors, thresholds K_old = median (``quantile``) 1-cos distance of the
        confident pixels, valid K_old bool); rows with valid False are zero / -inf.
    """
    k, d = probs.shape[1], emb.shape[1]
    conf, pred = probs.float().max(dim=1)
    flat = F.normalize(emb.float(), dim=1).permute(0, 2, 3, 1).reshape(-1, d)
    region = region.reshape(-1)
    chosen = region & (conf > confidence).reshape(-1)
    pred = pred.reshape(-1)
    protos = flat.new_zeros(k, d)
    thresholds = flat.new_full((k,), float("-inf"))
    valid = torch.zeros(k, dtype=torch.bool, device=flat.device)
    for i in range(k):
        members = flat[chosen & (pred == i)]
        if len(members) < min_pixels and fallback_to_all:
            members = flat[region & (pred == i)]
        if len(members) < min_pixels:
            continue
        protos[i] = F.normalize(members.mean(dim=0), dim=0)
        thresholds[i] = torch.quantile(1.0 - members @ protos[i], quantile, interpolation="lower")
        valid[i] = True
    return protos, thresholds, valid


def prototype_distances(emb: Tensor, prototypes: Tensor, size: tuple[int, int]) -> Tensor:
    """1 - cos(f(x), p_i) for every pixel and prototype, upsampled bilinearly.

    Args:
        emb: B×D×h×w pixel embeddings; prototypes: K×D unit vectors; size: (H, W).
    Returns:
        B×K×H×W distances in [0, 2].
    """
    cos = torch.einsum("bdhw,kd->bkhw", F.normalize(emb.float(), dim=1), prototypes.float())
    dist = 1.0 - cos
    if tuple(dist.shape[-2:]) != tuple(size):
        dist = F.interpolate(dist, size=size, mode="bilinear", align_corners=False)
    return dist


def prototype_relabel(labels: Tensor, old_logits: Tensor, distances: Tensor, thresholds: Tensor,
                      old_channels: Sequence[int], reject_to: str = "ignore") -> Tensor:
    """The re-labelling rule on background pixels (see the module docstring).

    Args:
        labels: B×H×W int64 current targets (0 = background, 255 = ignore).
        old_logits: B×K_old×H×W old-model logits; output i is channel ``old_channels[i]``.
        distances: B×K_old×H×W distance of each pixel's old feature to each class prototype.
        thresholds: K_old class-adaptive thresholds (-inf: class has no prototype, always rejected).
        old_channels: K_old channel ids.
        reject_to: "background" or "ignore", the target of rejected pseudo-labels.
    Returns:
        B×H×W int64 targets; only pixels whose label was 0 can change.
    """
    lut = torch.as_tensor(list(old_channels), device=labels.device, dtype=torch.long)
    pred = channel_argmax(old_logits)
    channel = lut[pred]
    dist = distances.gather(1, pred[:, None])[:, 0]
    near = dist <= thresholds.to(dist.device)[pred] + TIE_TOLERANCE
    pseudo = torch.where(near, channel, torch.full_like(channel, REJECT_TO[reject_to]))
    pseudo = torch.where(channel == BACKGROUND_ID, torch.zeros_like(channel), pseudo)
    return torch.where(labels == BACKGROUND_ID, pseudo, labels)


class PrototypicalPseudoRelabel(Part):
    """``gsc_relabel``: label source turning current background into verified old-class pseudo-labels."""

    name = "gsc_relabel"
    Options = RelabelOptions
    writes = ("labels",)

    def __init__(self, options: RelabelOptions | None = None) -> None:
        super().__init__(options)
        self.prototypes: Tensor | None = None  # K_old×D running prototypes
        self.thresholds: Tensor | None = None  # K_old running thresholds (-inf = none yet)
        self._rates = torch.zeros(3)  # running sums: pseudo-labelled, rejected, background pixel shares

    def on_step_start(self, run: StepRun) -> None:
        self.prototypes, self.thresholds = None, None
        self._rates = torch.zeros(3)

    def state_dict(self) -> dict[str, Tensor]:
        """Resumable state (``training.resume``): running prototypes and thresholds once seen."""
        if self.prototypes is None or self.thresholds is None:
            return {}
        return {"prototypes": self.prototypes.clone(), "thresholds": self.thresholds.clone()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.prototypes = state["prototypes"].clone() if "prototypes" in state else None
        self.thresholds = state["thresholds"].clone() if "thresholds" in state else None

    @torch.no_grad()
    def update_statistics(self, emb: Tensor, probs: Tensor, region: Tensor) -> None:
        """Fold this batch's prototypes/thresholds into the running ones (see ``confident_prototypes``)."""
        protos, thresholds, valid = confident_prototypes(emb, probs, region, self.options.confidence,
                                                         self.options.min_pixels, self.options.fallback_to_all,
                                                         self.options.quantile)
        if self.prototypes is None:
            self.prototypes, self.thresholds = protos, thresholds
            return
        m = self.options.momentum
        self.prototypes, self.thresholds = self.prototypes.to(protos.device), self.thresholds.to(protos.device)
        seen = valid & torch.isfinite(self.thresholds)
        fresh = valid & ~seen
        blended = F.normalize(m * self.prototypes + (1 - m) * protos, dim=1)
        self.prototypes = torch.where(seen[:, None], blended, torch.where(fresh[:, None], protos, self.prototypes))
        self.thresholds = torch.where(seen, m * self.thresholds + (1 - m) * thresholds,
                                      torch.where(fresh, thresholds, self.thresholds))

    @torch.no_grad()
    def relabel(self, ctx: StepContext) -> Tensor | None:
        if ctx.old_out is None or not ctx.step.old_channels:
            return None
        emb, old_logits = ctx.old_out.pixel_emb, ctx.old_out.logits.float()
        probs = F.interpolate(old_logits.softmax(dim=1), size=emb.shape[-2:], mode="area")
        region = resize_labels(ctx.labels, emb.shape[-2:]) == BACKGROUND_ID
        self.update_statistics(emb, probs, region)
        distances = prototype_distances(emb, self.prototypes, ctx.labels.shape[-2:])
        labels = prototype_relabel(ctx.labels, old_logits, distances, self.thresholds,
                                   ctx.step.old_channels, self.options.reject_to)
        background = ctx.labels == BACKGROUND_ID
        self._rates += torch.stack([((labels != BACKGROUND_ID) & (labels != IGNORE_ID) & background).float().mean(),
                                    ((labels == IGNORE_ID) & background).float().mean(),
                                    background.float().mean()]).cpu()
        return labels

    def summary(self) -> dict[str, Any]:
        """Shares of the background-labelled pixels that became old classes / were rejected, and the
        final per-class thresholds (None: the class was never seen)."""
        if self.thresholds is None or float(self._rates[2]) == 0:
            return {}
        pseudo, rejected, background = (float(v) for v in self._rates)
        return {"pseudo_share_of_background": pseudo / background, "rejected_share_of_background": rejected / background,
                "thresholds": [None if not math.isfinite(t) else round(t, 4) for t in self.thresholds.tolist()]}
