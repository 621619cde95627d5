"""FMWISS plug-in teacher (Yu et al., "Foundation Model Drives Weakly Incremental Learning for Semantic
Segmentation", CVPR 2023, Sec. 3.3 "pseudo label optimization").

A small ASPP head on the shared encoder's fused features (``SegOutput.features``) is trained on the
weak images' pseudo-masks and its sigmoid outputs then soften the student's targets
(``student.py``). The head lives only for the step (``trainable_modules``); it is never part of the
Segmenter, so it is dropped at inference and never saved with a version.

Equations:
* L_bce (teacher vs. one-hot pseudo-mask, per-class sigmoid): ``teacher_bce``.
* L_nce (dense contrastive loss, positives = pixels with the same pseudo-label): ``dense_info_nce``.
* Teacher targets: like WILSON (Cermelli et al., CVPR 2022), which FMWISS builds on, the pseudo-mask's
  background pixels take the old model's confident old-class predictions (``merge_old_predictions``),
  so the teacher's old channels are not trained to say "absent" on every old object.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...domain.errors import ValidationError
from ..parts import Part, StepContext, StepRun

log = logging.getLogger(__name__)

IGNORE = 255
TEACHER_SCRATCH = "fmwiss_teacher"  # ctx.scratch key: {"index": weak rows, "probs": teacher sigmoid}


def _norm(channels: int) -> nn.GroupNorm:
    # GroupNorm, not DeepLab's BatchNorm: steps train with small batches and must give the same
    # weights on one or several DDP ranks.
    return nn.GroupNorm(8 if channels % 8 == 0 else 1, channels)


class ASPP(nn.Module):
    """Atrous Spatial Pyramid Pooling (Chen et al., "Rethinking Atrous Convolution", 2017, Sec. 3.3).

    Branches: a 1×1 conv, one 3×3 conv per dilation rate, and image-level pooling (global average →
    1×1 conv, broadcast back); concatenated and projected by a 1×1 conv.
    Input B×C×h×w -> output B×``out_channels``×h×w.
    """

    def __init__(self, in_channels: int, out_channels: int, rates: Sequence[int] = (6, 12, 18)) -> None:
        super().__init__()
        branches = [nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False), _norm(out_channels),
                                  nn.ReLU(inplace=True))]
        for r in rates:
            branches.append(nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 3, padding=int(r), dilation=int(r), bias=False),
                _norm(out_channels), nn.ReLU(inplace=True)))
        self.branches = nn.ModuleList(branches)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, out_channels, 1),
                                  nn.ReLU(inplace=True))
        self.project = nn.Sequential(nn.Conv2d(out_channels * (len(branches) + 1), out_channels, 1, bias=False),
                                     _norm(out_channels), nn.ReLU(inplace=True))

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        outs = [branch(x) for branch in self.branches]
        outs.append(self.pool(x).expand(-1, -1, h, w))
        return self.project(torch.cat(outs, dim=1))


@dataclass
class TeacherOutput:
    """logits: B×K×h×w per-class sigmoid logits; embeddings: B×D'×h×w, L2-normalised along D'."""

    logits: Tensor
    embeddings: Tensor


class TeacherHead(nn.Module):
    """ASPP + a K-way per-class classifier + a 2-layer projection head for dense contrast.

    Args:
        in_channels: C of ``SegOutput.features``.
        num_classes: K, the model's channels this step (background included).
        width: ASPP width.
        embed_dim: D' of the contrastive embedding.
        rates: ASPP dilation rates (in feature pixels).
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 128, embed_dim: int = 64,
                 rates: Sequence[int] = (6, 12, 18)) -> None:
        super().__init__()
        self.aspp = ASPP(in_channels, width, rates)
        self.classifier = nn.Conv2d(width, num_classes, 1)
        self.projector = nn.Sequential(nn.Conv2d(width, width, 1), nn.ReLU(inplace=True),
                                       nn.Conv2d(width, embed_dim, 1))

    def forward(self, features: Tensor) -> TeacherOutput:
        x = self.aspp(features)
        return TeacherOutput(self.classifier(x), F.normalize(self.projector(x), dim=1))


def merge_old_predictions(labels: Tensor, old_logits: Tensor, threshold: float) -> Tensor:
    """Pseudo-mask background pixels where the old model predicts an old foreground class.

    Args: labels B×H×W (0 = background, 255 = ignore); old_logits B×K_old×H×W; threshold: minimum
    old softmax probability in [0, 1]. Returns B×H×W labels with those pixels set to the old class.
    """
    prob, cls = F.softmax(old_logits.float(), dim=1).max(dim=1)
    take = (labels == 0) & (cls > 0) & (prob >= threshold)
    return torch.where(take, cls, labels)


def teacher_bce(logits: Tensor, labels: Tensor, weak: Tensor, confidence: Tensor) -> Tensor:
    """FMWISS L_bce: per-class BCE of the teacher against the one-hot pseudo-mask.

    Args: logits B×K×H×W; labels B×H×W (255 ignored); weak B bool (only weak images count);
    confidence B×H×W in [0, 1] (pixel weight). Loss = Σ_p conf_p · mean_c BCE_pc / #valid pixels.
    """
    num_classes = logits.shape[1]
    valid = (labels != IGNORE) & weak.bool().view(-1, 1, 1)
    if bool((labels[valid] >= num_classes).any()):
        raise ValidationError(f"teacher targets hold a channel >= the teacher's {num_classes} classes")
    target = F.one_hot(labels * valid, num_classes).permute(0, 3, 1, 2).float()
    bce = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none").mean(dim=1)
    return (bce * confidence.float() * valid).sum() / valid.sum().clamp(min=1)


def sample_pixels(labels: Tensor, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
    """Class-balanced random pixel indices: up to ceil(num_samples / #labels) per label. labels: N int."""
    classes = labels.unique()
    if classes.numel() == 0:
        return labels.new_zeros(0)
    per_class = -(-num_samples // classes.numel())
    picks = []
    for c in classes:
        idx = (labels == c).nonzero().squeeze(1)
        perm = torch.randperm(idx.numel(), generator=generator, device="cpu")[:per_class].to(idx.device)
        picks.append(idx[perm])
    return torch.cat(picks)


def dense_info_nce(embeddings: Tensor, labels: Tensor, temperature: float) -> Tensor:
    """FMWISS L_nce: pixel InfoNCE where positives share the pseudo-label.

    For anchor i with positives P_i (same label, j ≠ i) and negatives N_i (other labels):
    L_i = 1/|P_i| Σ_{j∈P_i} -log( e^{z_i·z_j/τ} / (e^{z_i·z_j/τ} + Σ_{k∈N_i} e^{z_i·z_k/τ}) ),
    averaged over anchors with at least one positive.

    Args: embeddings N×D, L2-normalised; labels N int; temperature τ > 0. Scalar (0 when no anchor
    has a positive, still attached to the graph).
    """
    sim = embeddings.float() @ embeddings.float().t() / temperature
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(labels.numel(), dtype=torch.bool, device=labels.device)
    pos, neg = same & ~eye, ~same
    # A finite fill (not -inf) keeps logsumexp's gradient finite for anchors without negatives.
    neg_lse = torch.logsumexp(sim.masked_fill(~neg, -1e4), dim=1, keepdim=True)
    pair = F.softplus(neg_lse - sim)  # = -log(e^s / (e^s + Σ_neg e^s'))
    n_pos = pos.sum(dim=1)
    has = n_pos > 0
    if not bool(has.any()):
        return embeddings.sum() * 0.0
    per_anchor = (pair * pos).sum(dim=1) / n_pos.clamp(min=1)
    return per_anchor[has].mean()


class TeacherPart(Part):
    """Part ``fmwiss_teacher``: trains the plug-in teacher on weak images and shares its sigmoid.

    Options: ``bce_weight`` (L_bce), ``nce_weight`` (L_nce), ``temperature`` (τ of L_nce),
    ``samples`` (pixels sampled per batch for L_nce, bounds memory to samples² similarities),
    ``width`` / ``embed_dim`` / ``rates`` (head shape), ``old_pseudo`` and ``old_pseudo_threshold``
    (fill background with confident old-model predictions, see ``merge_old_predictions``),
    ``detach_features`` (True: the teacher's losses do not reach the shared encoder).
    """

    def __init__(self, bce_weight: float = 1.0, nce_weight: float = 0.1, temperature: float = 0.1,
                 samples: int = 1024, width: int = 128, embed_dim: int = 64, rates: tuple[int, ...] = (6, 12, 18),
                 old_pseudo: bool = True, old_pseudo_threshold: float = 0.5, detach_features: bool = False) -> None:
        if temperature <= 0 or samples < 2 or width < 1 or embed_dim < 1 or not rates:
            raise ValidationError("part 'fmwiss_teacher': temperature > 0, samples >= 2, width >= 1, "
                                  "embed_dim >= 1 and at least one ASPP rate are required")
        self.bce_weight, self.nce_weight, self.temperature = bce_weight, nce_weight, temperature
        self.samples, self.width, self.embed_dim, self.rates = samples, width, embed_dim, tuple(int(r) for r in rates)
        self.old_pseudo, self.old_pseudo_threshold = old_pseudo, old_pseudo_threshold
        self.detach_features = detach_features
        self.head: TeacherHead | None = None

    def on_step_start(self, run: StepRun) -> None:
        in_channels = int(run.model.encoder.out_channels)
        self.head = TeacherHead(in_channels, run.step.num_classes, self.width, self.embed_dim, self.rates)
        self.head.to(run.device).train()
        log.info("fmwiss teacher: ASPP head %d -> %d classes (%d parameters)", in_channels, run.step.num_classes,
                 sum(p.numel() for p in self.head.parameters()))

    def trainable_modules(self) -> list[nn.Module]:
        return [] if self.head is None else [self.head]

    def on_step_end(self, run: StepRun) -> None:
        self.head = None  # dropped at inference: the teacher is never saved with the model

    def losses(self, ctx: StepContext) -> dict[str, Tensor]:
        if self.head is None:
            raise ValidationError("part 'fmwiss_teacher' used before on_step_start built its head")
        weak = ctx.batch.weak.bool()
        if not bool(weak.any()):
            # Zero, yet attached to every teacher parameter (DDP expects each one to get a gradient).
            zero = sum(p.sum() for p in self.head.parameters()) * 0.0
            return {"fmwiss_teacher_bce": zero, "fmwiss_teacher_nce": zero}
        index = weak.nonzero().squeeze(1)
        features = ctx.out.features[index]
        out = self.head(features.detach() if self.detach_features else features)
        labels = ctx.labels[index]
        if self.old_pseudo and ctx.old_out is not None:
            labels = merge_old_predictions(labels, ctx.old_out.logits[index].detach(), self.old_pseudo_threshold)
        logits = F.interpolate(out.logits, size=labels.shape[-2:], mode="bilinear", align_corners=False)
        bce = teacher_bce(logits, labels, torch.ones_like(index, dtype=torch.bool), ctx.batch.confidence[index])
        nce = self._contrast(out.embeddings, labels)
        ctx.scratch[TEACHER_SCRATCH] = {"index": index, "probs": torch.sigmoid(logits.detach().float())}
        return {"fmwiss_teacher_bce": self.bce_weight * bce, "fmwiss_teacher_nce": self.nce_weight * nce}

    def _contrast(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """L_nce on ``samples`` pixels of the B×D'×h×w embeddings, labels nearest-resized to h×w."""
        small = F.interpolate(labels[:, None].float(), size=embeddings.shape[-2:], mode="nearest")[:, 0].long()
        flat_labels = small.reshape(-1)
        flat_emb = embeddings.permute(0, 2, 3, 1).reshape(-1, embeddings.shape[1])
        keep = (flat_labels != IGNORE).nonzero().squeeze(1)
        pick = keep[sample_pixels(flat_labels[keep], self.samples)]
        return dense_info_nce(flat_emb[pick], flat_labels[pick], self.temperature)
