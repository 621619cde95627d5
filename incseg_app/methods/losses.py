"""Loss functions shared by the method parts. Shapes: logits / old_logits B×K×H×W (old_logits has
the K_old ≤ K channels of the previous model, which are the first K_old channels of the new one),
logp B×K×H×W float log-softmax of the logits over K (``SegOutput.log_probs``, computed once per
iteration and shared by the cross-entropy and the distillation),
labels B×H×W int64 channel ids (255 = ignore), channel_weights K float (1 = neutral), pixel_mask
B×H×W bool (True = the pixel counts; None = all pixels).

Normalisation: the cross-entropies divide the weighted sum by the number of non-ignored pixels and
the distillations by the number of counted pixels, so a channel weight of 2 doubles that channel's
share (which GSC's step weights rely on) rather than being normalised away.

Papers: standard KD is Li & Hoiem, "Learning without Forgetting" (TPAMI 2017) on softmax outputs
restricted to the old channels; unbiased CE and unbiased KD are Cermelli et al., "Modeling the
Background for Incremental Learning in Semantic Segmentation" (MiB, CVPR 2020), Eq. 4 and Eq. 5
(checked against the authors' ``utils/loss.py``: UNCE folds the old channels into background, UNKD
folds the new channels into background; MiB averages UNKD over the K_old classes and weighs it 10,
this project sums over the classes and weighs it 1, the same scale for K_old ≈ 10).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..domain.records import IGNORE_ID


def _weighted_pixel_mean(nll: Tensor, labels: Tensor, channel_weights: Tensor) -> Tensor:
    """Mean of B×H×W per-pixel losses over non-ignored pixels, each weighted by its target's channel weight."""
    valid = labels != IGNORE_ID
    safe = labels.clamp(max=channel_weights.numel() - 1) * valid
    w = channel_weights.to(nll.dtype)[safe] * valid
    return (nll * w).sum() / valid.sum().clamp(min=1)


def _masked_mean(per_pixel: Tensor, pixel_mask: Tensor | None) -> Tensor:
    if pixel_mask is None:
        return per_pixel.mean()
    m = pixel_mask.to(per_pixel.dtype)
    return (per_pixel * m).sum() / m.sum().clamp(min=1)


def weighted_cross_entropy(logp: Tensor, labels: Tensor, channel_weights: Tensor) -> Tensor:
    """Pixel cross-entropy, each pixel weighted by ``channel_weights[label]``; 255 ignored. Scalar."""
    nll = -logp.gather(1, (labels * (labels != IGNORE_ID)).unsqueeze(1)).squeeze(1)
    return _weighted_pixel_mean(nll, labels, channel_weights)


def unbiased_cross_entropy(logp: Tensor, labels: Tensor, num_old: int, channel_weights: Tensor) -> Tensor:
    """MiB unbiased cross-entropy (Cermelli et al. 2020, Eq. 4).

    A pixel labelled background (0) may belong to any old class, so its probability is the sum of the
    background and old-class probabilities: log q(bg) = logsumexp(logits[:num_old]) - logsumexp(logits).
    Other labels (new classes, and old classes a label source wrote) use the ordinary log-softmax.
    ``num_old`` = K_old old channels (background included); with ``num_old`` ≤ 1 this is the standard
    cross-entropy. Scalar.
    """
    nll = -logp.gather(1, (labels * (labels != IGNORE_ID)).unsqueeze(1)).squeeze(1)
    if num_old > 1:  # background rows: -log Σ_{c < num_old} p_c
        nll = torch.where(labels == 0, -torch.logsumexp(logp[:, :num_old], dim=1), nll)
    return _weighted_pixel_mean(nll, labels, channel_weights)


def knowledge_distillation(logits: Tensor, old_logits: Tensor, channel_weights: Tensor, temperature: float = 1.0,
                           pixel_mask: Tensor | None = None) -> Tensor:
    """Standard KD on the old channels (LwF): -Σ_c w_c p_old(c) log q(c), both softmaxes over the K_old
    old channels only, at ``temperature``; mean over the counted pixels. Scalar."""
    k_old = old_logits.shape[1]
    t = temperature
    q = F.log_softmax(logits[:, :k_old].float() / t, dim=1)
    p = F.softmax(old_logits.float() / t, dim=1)
    w = channel_weights[:k_old].to(q.dtype).view(1, -1, 1, 1)
    return _masked_mean(-(w * p * q).sum(1), pixel_mask)


def unbiased_knowledge_distillation(logp: Tensor, old_logits: Tensor, channel_weights: Tensor,
                                    pixel_mask: Tensor | None = None) -> Tensor:
    """MiB unbiased KD (Cermelli et al. 2020, Eq. 5).

    The new model's background probability absorbs the new classes, which the old model could only
    have called background: log q̂(bg) = logsumexp(logits[{0} ∪ new]) - logsumexp(logits), and
    log q̂(c) = logits[c] - logsumexp(logits) for old c ≠ 0. Loss = -Σ_{c<K_old} w_c p_old(c) log q̂(c),
    mean over the counted pixels (the paper's 1/|I| Σ_i Σ_c). Scalar.
    """
    k_old = old_logits.shape[1]
    log_bg = torch.logsumexp(torch.cat([logp[:, :1], logp[:, k_old:]], dim=1), dim=1, keepdim=True)
    log_q = torch.cat([log_bg, logp[:, 1:k_old]], dim=1)
    p = F.softmax(old_logits.float(), dim=1)
    w = channel_weights[:k_old].to(log_q.dtype).view(1, -1, 1, 1)
    return _masked_mean(-(w * p * log_q).sum(1), pixel_mask)
