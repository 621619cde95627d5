"""FMWISS plug-in teacher (Yu et al., "Foundation Model Drives Weakly Incremental Learning for Semantic
Segmentation", CVPR 2023, Sec. 3.3 "pseudo label optimization").

A small ASPP head on the shared encoder's fused features (``SegOutput.features``) is trained on the
weak images' pseudo-masks and its sigmoid outputs then soften the student's targets
(``student.py``). The head lives only for the step (``trainable_modules``); it is never part of the
Segmenter, so it is dropped at inference and never saved with a version.

The ASPP is torchvision's (``torchvision.models.segmentation.deeplabv3.ASPP``, DeepLabV3's module)
with its BatchNorm layers swapped for GroupNorm (``group_norm_aspp``): steps train with small batches,
the image-pooling branch sees one value per channel and image, and the weights must be the same on
one or several DDP ranks.

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
from torchvision.models.segmentation.deeplabv3 import ASPP

from ...domain.errors import ValidationError
from ...domain.records import IGNORE_ID
from ..parts import Part, StepContext, StepRun, TeacherSignal

log = logging.getLogger(__name__)



def group_norm_aspp(in_channels: int, out_channels: int, rates: Sequence[int]) -> nn.Module:
    """torchvision's DeepLabV3 ASPP (Chen et al., "Rethinking Atrous Convolution", 2017, Sec. 3.3) with
    every BatchNorm2d replaced by a GroupNorm of the same width (8 groups when they divide it, else 1).

    Input B×C×h×w -> output B×``out_channels``×h×w (a 1×1 branch, one 3×3 branch per rate, image
    pooling; concatenated and projected, with DeepLab's dropout of 0.5 in training).
    """
    aspp = ASPP(in_channels, [int(r) for r in rates], out_channels)
    for module in list(aspp.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                c = child.num_features
                setattr(module, name, nn.GroupNorm(8 if c % 8 == 0 else 1, c))
    return aspp


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
        self.aspp = group_norm_aspp(in_channels, width, rates)
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
    valid = (labels != IGNORE_ID) & weak.bool().view(-1, 1, 1)
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


@dataclass(frozen=True)
class TeacherOptions:
    """Options of ``fmwiss_teacher``."""

    bce_weight: float = 1.0  # λ of L_bce
    nce_weight: float = 0.1  # λ of L_nce
    temperature: float = 0.1  # τ of L_nce
    samples: int = 1024  # pixels sampled per batch for L_nce (bounds memory to samples² similarities)
    width: int = 128  # ASPP width
    embed_dim: int = 64  # D' of the contrastive embedding
    rates: tuple[int, ...] = (6, 12, 18)  # ASPP dilation rates, in feature pixels
    old_pseudo: bool = True  # fill pseudo-mask background with confident old-model predictions
    old_pseudo_threshold: float = 0.5  # minimum old softmax probability for that
    detach_features: bool = False  # True: the teacher's losses do not reach the shared encoder

    def validate(self) -> None:
        if self.temperature <= 0 or self.samples < 2 or self.width < 1 or self.embed_dim < 1 or not self.rates:
            raise ValidationError("temperature > 0, samples >= 2, width >= 1, embed_dim >= 1 and at least one "
                                  "ASPP rate are required")
        if min(self.bce_weight, self.nce_weight) < 0 or not 0.0 <= self.old_pseudo_threshold <= 1.0:
            raise ValidationError("loss weights must be >= 0 and old_pseudo_threshold in [0, 1]")


class TeacherPart(Part):
    """Part ``fmwiss_teacher``: trains the plug-in teacher on weak images and hands its sigmoid to the
    student through ``StepContext.teacher`` (options in ``TeacherOptions``)."""

    name = "fmwiss_teacher"
    Options = TeacherOptions
    writes = ("teacher",)

    def __init__(self, options: TeacherOptions | None = None) -> None:
        super().__init__(options)
        self.head: TeacherHead | None = None

    def on_step_start(self, run: StepRun) -> None:
        in_channels = int(run.model.encoder.out_channels)
        o = self.options
        self.head = TeacherHead(in_channels, run.step.num_classes, o.width, o.embed_dim, o.rates)
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
        o = self.options
        index = weak.nonzero().squeeze(1)
        features = ctx.out.features[index]
        out = self.head(features.detach() if o.detach_features else features)
        labels = ctx.labels[index]
        if o.old_pseudo and ctx.old_out is not None:
            labels = merge_old_predictions(labels, ctx.old_out.logits[index].detach(), o.old_pseudo_threshold)
        logits = F.interpolate(out.logits, size=labels.shape[-2:], mode="bilinear", align_corners=False)
        bce = teacher_bce(logits, labels, torch.ones_like(index, dtype=torch.bool), ctx.batch.confidence[index])
        nce = self._contrast(out.embeddings, labels)
        ctx.teacher = TeacherSignal(index=index, probs=torch.sigmoid(logits.detach().float()))
        return {"fmwiss_teacher_bce": o.bce_weight * bce, "fmwiss_teacher_nce": o.nce_weight * nce}

    def _contrast(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """L_nce on ``samples`` pixels of the B×D'×h×w embeddings, labels nearest-resized to h×w."""
        small = F.interpolate(labels[:, None].float(), size=embeddings.shape[-2:], mode="nearest")[:, 0].long()
        flat_labels = small.reshape(-1)
        flat_emb = embeddings.permute(0, 2, 3, 1).reshape(-1, embeddings.shape[1])
        keep = (flat_labels != IGNORE_ID).nonzero().squeeze(1)
        pick = keep[sample_pixels(flat_labels[keep], self.options.samples)]
        return dense_info_nce(flat_emb[pick], flat_labels[pick], self.options.temperature)
