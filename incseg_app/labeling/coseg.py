"""Set-level co-segmentation: one region classifier learnt from the tags of the whole set.

Every region r of image i gets a candidate label set: background, or one of the image's tags. A
linear softmax classifier over [encoder descriptor, logit of the known-class evidence, logit of the
objectness prior] is fitted to the whole tagged set at once with a *soft partial-label* likelihood
(partial-label learning, Cour, Sapp & Taskar, JMLR 2011; used for tag-level segmentation as the
multiple-instance view of WILSON, Cermelli et al. CVPR 2022):

    L_r = − f_r · log Σ_{c ∈ tags(i)} p(c | r) − (1 − f_r) · log p(bg | r)

where f_r ∈ [0, 1] is the evidence that r is none of the classes already known (the active model's
probability of its known classes, WILSON's use of the old model; the objectness prior without one).
A region whose features also occur in images *not* tagged c cannot become c cheaply — what images
tagged c share and the others lack is what the classifier learns (the co-segmentation contrast).
Corrected or accepted masks add a plain cross-entropy on their regions (the user's word, weight
``supervised_weight``), so relabelling after k corrections uses them (our choice, a "small head on
encoder features fitted to the corrected pixels").

Shapes: features R×D, extra R×E, probabilities (1+K)×R over [background, class_ids...].
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..domain.errors import ValidationError

log = logging.getLogger(__name__)
EPS = 1e-4


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float32), EPS, 1 - EPS)
    return np.log(p / (1 - p)).astype(np.float32)


@dataclass
class RegionSample:
    """One image's regions as the co-segmentation sees them.

    Attributes:
        features: R×D float16 descriptors; extra: R×E float32 evidence channels.
        free: R float32 in [0, 1], evidence that the region is one of the tagged (new) classes.
        tags: class ids the image is tagged with (a subset of the fitted class ids).
        labels: R int64 corrected labels as label indices (0 = background, 1 + k = class_ids[k],
            −1 = not corrected), or None for a draft.
        weights: R float32 region weights (share of the image).
        targets: R×(1+K) float32 reviewed pixel counts per label index (void and other classes left
            out), or None for a draft; what ``CorrectionHead`` learns from.
        context: R×C float32 region means of the active model's ``ModelEvidence.context``, or None
            without a model; read by ``CorrectionHead`` only.
        colour: R×3 float32 mean CIE-Lab colour / 100 (``Regions.colour``) or None; read by
            ``CorrectionHead`` only.
        fine: R×D' float16 fine-pass descriptors (``Regions.fine``) or None; read by
            ``CorrectionHead`` instead of ``features`` when present.
    """

    features: np.ndarray
    extra: np.ndarray
    free: np.ndarray
    tags: tuple[int, ...]
    labels: np.ndarray | None
    weights: np.ndarray
    targets: np.ndarray | None = None
    context: np.ndarray | None = None
    colour: np.ndarray | None = None
    fine: np.ndarray | None = None


class CoSegmenter:
    """The set-level region classifier (fit once per labelling job, predict per image).

    Args:
        l2: weight decay of the linear layer.
        supervised_weight: weight of a corrected region relative to a draft region.
        iterations: L-BFGS iterations.
    """

    def __init__(self, l2: float = 1e-3, supervised_weight: float = 50.0, presence_weight: float = 1.0,
                 iterations: int = 60) -> None:
        self.l2 = l2
        self.supervised_weight = supervised_weight
        self.presence_weight = presence_weight
        self.iterations = iterations
        self.class_ids: tuple[int, ...] = ()
        self.weight: Tensor | None = None  # (1+K)×(D+E+1)
        self.temperature = 1.0

    @property
    def fitted(self) -> bool:
        return self.weight is not None

    def _allowed(self, tags: Sequence[int]) -> np.ndarray:
        allowed = np.zeros(1 + len(self.class_ids), bool)
        allowed[0] = True
        for t in tags:
            allowed[1 + self.class_ids.index(int(t))] = True
        return allowed

    def _design(self, samples: Sequence[RegionSample]) -> tuple[Tensor, ...]:
        x = torch.from_numpy(np.concatenate([np.concatenate([s.features.astype(np.float32), s.extra,
                                                             np.ones((len(s.free), 1), np.float32)], 1)
                                             for s in samples]))
        allowed = torch.from_numpy(np.concatenate([np.repeat(self._allowed(s.tags)[None], len(s.free), 0)
                                                   for s in samples]))
        free = torch.from_numpy(np.concatenate([s.free for s in samples]).astype(np.float32))
        w = torch.from_numpy(np.concatenate([s.weights for s in samples]).astype(np.float32))
        labels = torch.from_numpy(np.concatenate([s.labels if s.labels is not None else
                                                  np.full(len(s.free), -1, np.int64) for s in samples]))
        image = torch.from_numpy(np.concatenate([np.full(len(s.free), n, np.int64) for n, s in enumerate(samples)]))
        return x, allowed, free, w, labels, image

    def fit(self, samples: Sequence[RegionSample], class_ids: Sequence[int], seed: int = 0) -> list[float]:
        """Fit the classifier on every sample; returns the loss after each L-BFGS step."""
        if not samples or not class_ids:
            raise ValidationError("co-segmentation needs at least one tagged image and one class")
        self.class_ids = tuple(int(c) for c in class_ids)
        x, allowed, free, w, labels, image = self._design(samples)
        slots = padded_slots(image)
        torch.manual_seed(seed)
        weight = torch.zeros(1 + len(self.class_ids), x.shape[1], requires_grad=True)
        opt = torch.optim.LBFGS([weight], lr=1.0, max_iter=self.iterations, history_size=10,
                                line_search_fn="strong_wolfe")
        history: list[float] = []

        def closure() -> Tensor:
            opt.zero_grad()
            logits = x @ weight.T
            loss = region_loss(logits, allowed, free, w, labels, self.supervised_weight) \
                + self.presence_weight * presence_loss(logits, allowed, free, slots) \
                + self.l2 * weight[:, :-1].pow(2).sum()
            loss.backward()
            history.append(float(loss.detach()))
            return loss

        opt.step(closure)
        self.weight = weight.detach()
        log.info("co-segmentation fitted on %d regions of %d images, %d classes: loss %.4f -> %.4f",
                 len(x), len(samples), len(self.class_ids), history[0], history[-1])
        return history

    def logits(self, features: np.ndarray, extra: np.ndarray) -> Tensor:
        if self.weight is None:
            raise ValidationError("the co-segmentation has not been fitted yet")
        x = torch.from_numpy(np.concatenate([features.astype(np.float32), extra,
                                             np.ones((len(features), 1), np.float32)], 1))
        return x @ self.weight.T

    def predict(self, features: np.ndarray, extra: np.ndarray, tags: Sequence[int]) -> np.ndarray:
        """(1 + len(tags))×R probabilities over [background, *tags] (tags in the order given)."""
        logits = self.logits(features, extra) / self.temperature
        cols = [0] + [1 + self.class_ids.index(int(t)) for t in tags]
        return torch.softmax(logits[:, cols], dim=1).T.numpy()


def region_loss(logits: Tensor, allowed: Tensor, free: Tensor, weights: Tensor, labels: Tensor,
                supervised_weight: float) -> Tensor:
    """Soft partial-label loss on draft regions + cross-entropy on corrected regions.

    logits N×(1+K); allowed N×(1+K) bool (background always allowed); free N in [0, 1]; weights N;
    labels N (−1 = draft). Returns the weighted mean loss.
    """
    logp = torch.log_softmax(logits, dim=1)
    draft = labels < 0
    fg = allowed.clone()
    fg[:, 0] = False
    has_fg = fg.any(1)
    log_fg = torch.logsumexp(logp.masked_fill(~fg, -1e4), dim=1)
    pll = -(free * torch.where(has_fg, log_fg, torch.zeros_like(log_fg)) + (1 - free) * logp[:, 0])
    sup = F.nll_loss(logp, labels.clamp(min=0), reduction="none")
    per = torch.where(draft, pll, supervised_weight * sup)
    return (per * weights).sum() / weights.sum().clamp(min=1e-9)


def padded_slots(image: Tensor) -> Tensor:
    """N region -> image indices (sorted) -> M×Rmax table of region indices per image, −1 = padding."""
    counts = torch.bincount(image)
    slots = torch.full((len(counts), int(counts.max())), -1, dtype=torch.long)
    start = torch.cumsum(counts, 0) - counts
    pos = torch.arange(len(image)) - start[image]
    slots[image, pos] = torch.arange(len(image))
    return slots


def presence_loss(logits: Tensor, allowed: Tensor, free: Tensor, slots: Tensor, top: float = 0.05) -> Tensor:
    """Multiple-instance presence (our choice, the "each tag is somewhere" half of MIL): for every
    image and tagged class c, −log of the mean p(c | r) over the image's top ``top`` share of regions
    by p(c | r) · f_r. Stops one class from taking every region of images tagged with several.
    logits N×(1+K); allowed N×(1+K); free N; slots M×Rmax from ``padded_slots``."""
    probs = torch.softmax(logits, dim=1) * free[:, None]
    padded = probs[slots.clamp(min=0)].masked_fill((slots < 0)[..., None], 0.0)  # M×Rmax×(1+K)
    k = max(1, int(top * slots.shape[1]))
    pooled = padded.topk(k, dim=1).values.mean(1)[:, 1:]  # M×K
    tagged = allowed[slots[:, 0]][:, 1:]
    return -(torch.log(pooled.clamp(min=1e-6)) * tagged).sum() / tagged.sum().clamp(min=1)
