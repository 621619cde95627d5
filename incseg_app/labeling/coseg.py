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

Choices where the literature is open (ours; ablation in docs/benchmarks.md, tiled CamVid 6-5):

* the region descriptor (``coseg_descriptor``) joins every view the labeller has of a region, each
  block unit-length: the coarse and fine encoder passes, the region's ImageNet log-probabilities
  (centred; the classifier learns which categories a tag goes with, the name cue's data-driven twin)
  and the active model's context (features of this store's domain);
* the presence term pools the top ``presence_top`` = 10 % of an image's regions (5 % before; 20 %
  made whole CamVid images' fence and pedestrian confidently wrong), the weight decay ``l2`` is
  3e-4 (1e-3 before);
* one round of self-training (``self_training``): draft regions the first fit labels with
  probability > 0.7 among their image's labels become hard targets of weight ``self_weight`` and the
  classifier is refitted from the first fit — the EM step of multiple-instance learning;
* the two parts that learn associations from the tags themselves — the 1000-dim ImageNet block and
  self-training — run only on sets of at least ``min_images`` = 50 tagged images. On the six VOC
  samples they overfit: self-training sharpened the classifier without new evidence (ECE 0.048 ->
  0.139) and the ImageNet block cost about 4 points of mIoU; there the name cue is the prior that works.

Shapes: features R×D, extra R×E, probabilities (1+K)×R over [background, class_ids...].
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.sparse import csr_matrix
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
        imagenet: R×1000 float16 ImageNet log-probabilities (``Regions.imagenet``) or None.
        adjacency: R×R sparse border shares (``region_crf.border_adjacency``) or None; the
            ``CorrectionHead``'s region CRF reads it.
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
    imagenet: np.ndarray | None = None
    adjacency: csr_matrix | None = None


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)


DESCRIPTOR_VIEWS = ("fine", "imagenet", "context")  # what the descriptor joins to the coarse features
MIN_IMAGES_TO_LEARN = 50  # tagged images below which the ImageNet block and self-training are left out


def coseg_descriptor(s: RegionSample, views: Sequence[str] = DESCRIPTOR_VIEWS) -> np.ndarray:
    """R×D' float32 descriptor the co-segmentation reads: [features, fine, ImageNet log-probabilities
    centred per region, context] (those named in ``views``), each block unit-length; blocks the
    sample lacks are left out (so a labelling job, whose samples all come from one extractor and one
    model, has one width)."""
    blocks = [s.features.astype(np.float32)]
    if "fine" in views and s.fine is not None:
        blocks.append(s.fine.astype(np.float32))
    if "imagenet" in views and s.imagenet is not None:
        logp = s.imagenet.astype(np.float32)
        blocks.append(_unit(logp - logp.mean(1, keepdims=True)))
    if "context" in views and s.context is not None:
        blocks.append(_unit(s.context))
    return np.concatenate(blocks, 1) if len(blocks) > 1 else blocks[0]


class CoSegmenter:
    """The set-level region classifier (fit once per labelling job, predict per image).

    Args:
        l2: weight decay of the linear layer.
        supervised_weight: weight of a corrected region relative to a draft region.
        presence_weight, presence_top: weight of the presence term and the share of an image's
            regions it pools.
        iterations: L-BFGS iterations (of each round).
        self_training: probability above which a draft region's label becomes a hard target in the
            second round (> 1: no second round).
        self_weight: weight of such a self-training target (a corrected region has
            ``supervised_weight``).
        views: what ``descriptor`` joins to the coarse features (``DESCRIPTOR_VIEWS``).
        min_images: sets smaller than this are fitted without the "imagenet" view and without
            self-training (decided by ``fit``; a ``clone`` keeps the decision).
    """

    def __init__(self, l2: float = 3e-4, supervised_weight: float = 50.0, presence_weight: float = 1.0,
                 iterations: int = 60, presence_top: float = 0.1, self_training: float = 0.7,
                 self_weight: float = 1.0, views: Sequence[str] = DESCRIPTOR_VIEWS,
                 min_images: int = MIN_IMAGES_TO_LEARN) -> None:
        self.l2 = l2
        self.supervised_weight = supervised_weight
        self.presence_weight = presence_weight
        self.iterations = iterations
        self.presence_top = presence_top
        self.self_training = self_training
        self.self_weight = self_weight
        self.views = tuple(views)
        self.min_images = min_images
        self.small_set: bool | None = None  # decided by the first fit (None: not yet)
        self.class_ids: tuple[int, ...] = ()
        self.weight: Tensor | None = None  # (1+K)×(D+E+1)
        self.temperature = 1.0

    @property
    def fitted(self) -> bool:
        return self.weight is not None

    def clone(self) -> CoSegmenter:
        """An unfitted co-segmenter with the same settings (cross-fitting)."""
        twin = CoSegmenter(self.l2, self.supervised_weight, self.presence_weight, self.iterations,
                           self.presence_top, self.self_training, self.self_weight, self.views, self.min_images)
        twin.small_set = self.small_set
        return twin

    @property
    def active_views(self) -> tuple[str, ...]:
        return tuple(v for v in self.views if not (self.small_set and v == "imagenet"))

    def descriptor(self, s: RegionSample) -> np.ndarray:
        """The R×D' descriptor this co-segmenter reads (``coseg_descriptor`` with its views)."""
        return coseg_descriptor(s, self.active_views)

    def _allowed(self, tags: Sequence[int]) -> np.ndarray:
        allowed = np.zeros(1 + len(self.class_ids), bool)
        allowed[0] = True
        for t in tags:
            allowed[1 + self.class_ids.index(int(t))] = True
        return allowed

    def _design(self, samples: Sequence[RegionSample]) -> tuple[Tensor, ...]:
        x = torch.from_numpy(np.concatenate([np.concatenate([self.descriptor(s), s.extra,
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
        """Fit the classifier on every sample (two rounds with self-training); returns the loss
        after each L-BFGS step."""
        if not samples or not class_ids:
            raise ValidationError("co-segmentation needs at least one tagged image and one class")
        self.class_ids = tuple(int(c) for c in class_ids)
        if self.small_set is None:
            self.small_set = len(samples) < self.min_images
        x, allowed, free, w, labels, image = self._design(samples)
        slots = padded_slots(image)
        torch.manual_seed(seed)
        label_weight = torch.full((len(x),), float(self.supervised_weight))
        weight, history = self._fit_round(x, allowed, free, w, labels, label_weight, slots,
                                          torch.zeros(1 + len(self.class_ids), x.shape[1]))
        if self.self_training <= 1.0 and not self.small_set:
            with torch.no_grad():
                probs = torch.softmax((x @ weight.T).masked_fill(~allowed, -1e4), dim=1)
                conf, best = probs.max(1)
                pseudo = (labels < 0) & (conf > self.self_training)
            labels = torch.where(pseudo, best, labels)
            label_weight = torch.where(pseudo, torch.full_like(label_weight, self.self_weight), label_weight)
            weight, more = self._fit_round(x, allowed, free, w, labels, label_weight, slots, weight)
            history += more
            log.info("co-segmentation self-training: %d of %d draft regions became targets",
                     int(pseudo.sum()), int((labels < 0).sum() + pseudo.sum()))
        self.weight = weight
        log.info("co-segmentation fitted on %d regions of %d images, %d classes: loss %.4f -> %.4f",
                 len(x), len(samples), len(self.class_ids), history[0], history[-1])
        return history

    def _fit_round(self, x: Tensor, allowed: Tensor, free: Tensor, w: Tensor, labels: Tensor, label_weight: Tensor,
                   slots: Tensor, start: Tensor) -> tuple[Tensor, list[float]]:
        weight = start.clone().requires_grad_(True)
        opt = torch.optim.LBFGS([weight], lr=1.0, max_iter=self.iterations, history_size=10,
                                line_search_fn="strong_wolfe")
        history: list[float] = []

        def closure() -> Tensor:
            opt.zero_grad()
            logits = x @ weight.T
            loss = region_loss(logits, allowed, free, w, labels, label_weight) \
                + self.presence_weight * presence_loss(logits, allowed, free, slots, self.presence_top) \
                + self.l2 * weight[:, :-1].pow(2).sum()
            loss.backward()
            history.append(float(loss.detach()))
            return loss

        opt.step(closure)
        return weight.detach(), history

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
                supervised_weight: float | Tensor) -> Tensor:
    """Soft partial-label loss on draft regions + cross-entropy on labelled regions.

    logits N×(1+K); allowed N×(1+K) bool (background always allowed); free N in [0, 1]; weights N;
    labels N (−1 = draft); supervised_weight: weight of a labelled region's cross-entropy, one
    number or N. Returns the weighted mean loss.
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


def presence_loss(logits: Tensor, allowed: Tensor, free: Tensor, slots: Tensor, top: float = 0.1) -> Tensor:
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
