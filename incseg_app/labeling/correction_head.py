"""``CorrectionHead``: a small region classifier fitted only on the masks a reviewer accepted or corrected.

Learning from corrections (issue 11, "a small head on encoder features fitted to the corrected
pixels"). The co-segmentation (``coseg.py``) learns from tags; once a reviewer has corrected a few
masks, those pixels are far stronger evidence than any tag, and the weak tag likelihood over the
whole set drowns them (measured in docs/benchmarks.md: corrections as extra regions of the
co-segmentation reach 5.0 new-class mIoU at k = 3, this head 26.8). The head is a multinomial
logistic regression over [background, class_ids...] on each region's descriptor (frozen encoder
features + evidence channels, standardised on the corrected regions) with

* soft targets: a region's target is the share of each label among its reviewed pixels (void
  pixels and classes outside the label set are left out), weighted by its labelled pixel count;
* class balancing (our choice; ablation in docs/benchmarks.md): the loss of label l is weighted
  by ``(1 / frequency_l) ** balance``, normalised so that the average pixel keeps weight 1 — small
  classes (signs, pedestrians) are otherwise swamped by background. The exponent is 0.5: with
  CamVid's 16-epoch base model and no anchors it beats 0.75 at k = 10 on four train selections
  (+0.8 to +4.2 new-class mIoU), is within -1.3 to +0.6 at k = 3, and what it labels is right more
  often (confident precision of signs 18 -> 41 %, pedestrians 24 -> 43 % at k = 3, seed 0); it
  costs at k = 1 (one corrected mask per class: 14.4 against 19.6);
* L2 on the weights and L-BFGS (a convex problem: deterministic, no learning rate to tune);
* one round of self-training on the drafts (our choice; ablation in docs/benchmarks.md: +1.0
  new-class mIoU at k = 3 on CamVid 6-5): the supervised head labels every draft region within its
  image's tags, and the regions it is sure of (p ≥ ``pseudo_threshold``) join the reviewed ones as
  hard targets of weight ``pseudo_weight`` per pixel — the drafts are the images to be labelled, and
  their tags restrict what each can be (classic self-training, e.g. Zou et al., ECCV 2018);
* tag anchors in that round (our choice; the multiple-instance reading of a tag, Maron and
  Lozano-Pérez, NeurIPS 1997: an image tagged c shows c somewhere, as in the co-segmentation's
  presence term): per draft and tag, the ``anchors`` regions most likely that tag join as that tag
  even when the head is not sure of them, so a class whose corrected pixels are few (a handful of
  distant bicyclists) still gets one region per image that shows it. Ablation ``anchors=0`` in
  docs/benchmarks.md: +0.9 to +2.4 new-class mIoU at k = 3 on five of six CamVid selections
  (-1.6 on the sixth), -0.3 on average at k = 10;
* a region CRF (``region_crf.py``; our choice, the superpixel form of a dense CRF's mean field):
  the head's probabilities are smoothed over each image's region graph — toward the labels of the
  bordering regions that look alike — both in the self-training round (the sure regions and anchors
  are picked from smoothed probabilities) and at prediction. Ablation ``no-crf`` in
  docs/benchmarks.md;
* temperature scaling (Guo et al., ICML 2017) cross-fitted over the corrected images: each fold's
  head (self-training included) predicts images it did not see, and one T minimises their NLL (on
  the unsmoothed logits).

At prediction a draft's labels are restricted to background and its tags (the tags are known).
A label no corrected pixel shows has no weight row that means anything: ``seen`` says which are
learnt, and the set labeller leaves the others to the co-segmentation.

With the active model's ``context`` (``evidence.py``) on every sample, it joins the descriptor.

Shapes: features R×D, extra R×E, context R×C, targets R×(1+K) pixel counts, probabilities (1+T)×R.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..domain.errors import ValidationError
from .region_crf import RegionCRF

if TYPE_CHECKING:
    from .coseg import RegionSample

log = logging.getLogger(__name__)
TEMPERATURES = np.exp(np.linspace(np.log(0.5), np.log(4.0), 31))


def design(s: RegionSample, context: bool, fine: bool = True) -> np.ndarray:
    """R×(D+E[+3][+C]) descriptor: encoder features (the fine pass when extracted), evidence
    channels, mean colour when known and, with ``context``, the model's."""
    parts = [(s.fine if fine and s.fine is not None else s.features).astype(np.float32), s.extra.astype(np.float32)]
    if s.colour is not None:
        parts.append(s.colour.astype(np.float32))
    if context:
        if s.context is None:
            raise ValidationError("this image has no model context but the correction head was fitted with it")
        parts.append(s.context.astype(np.float32))
    return np.concatenate(parts, 1)


class CorrectionHead:
    """Class-balanced soft-target logistic regression on the reviewed regions.

    Args:
        l2: weight decay of the (standardised) weights.
        balance: exponent of the inverse-frequency class weights (0 = none, 1 = fully balanced).
        iterations: L-BFGS iterations.
        pseudo_threshold: probability from which a draft region joins the second fit (> 1: no
            self-training).
        pseudo_weight: weight of a draft pixel relative to a reviewed one.
        anchors: regions per draft and tag taken as that tag in the self-training round (0: none).
        crf: the region CRF that smooths the head's probabilities over each sample's region graph,
            in the self-training round and at prediction (None: none; samples without
            ``adjacency`` are not smoothed).
        use_fine, use_context: read the fine-pass descriptors / the model's context when the
            samples have them (off: the ablations of docs/benchmarks.md).
        cross_fit: cross-fit the temperature (off: T = 1).
    """

    def __init__(self, l2: float = 3e-2, balance: float = 0.5, iterations: int = 150,
                 pseudo_threshold: float = 0.7, pseudo_weight: float = 0.3, use_fine: bool = True,
                 use_context: bool = True, cross_fit: bool = True, anchors: int = 1,
                 crf: RegionCRF | None = RegionCRF()) -> None:
        if anchors < 0:
            raise ValidationError(f"anchors must be 0 or more regions per draft and tag, got {anchors}")
        self.l2 = l2
        self.balance = balance
        self.iterations = iterations
        self.pseudo_threshold = pseudo_threshold
        self.pseudo_weight = pseudo_weight
        self.anchors = int(anchors)
        self.crf = crf
        self.use_fine = use_fine
        self.use_context = use_context
        self.cross_fit = cross_fit
        self.class_ids: tuple[int, ...] = ()
        self.seen = np.zeros(0, bool)  # (1+K) labels with reviewed pixels
        self.temperature = 1.0
        self._weight: Tensor | None = None  # (1+K)×(D+E)
        self._bias: Tensor | None = None  # (1+K)
        self._mean = np.zeros(0, np.float32)
        self._scale = np.ones(0, np.float32)
        self.uses_context = False

    @property
    def fitted(self) -> bool:
        return self._weight is not None

    def fit(self, samples: Sequence[RegionSample], class_ids: Sequence[int], seed: int = 0,
            calibrate: bool = True) -> None:
        """Fit on the samples that carry ``targets`` (the others are ignored); then, with
        ``calibrate``, the temperature cross-fitted over those images."""
        reviewed = [s for s in samples if s.targets is not None and s.targets.sum() > 0]
        if not reviewed:
            raise ValidationError("no reviewed region to learn from: accept or correct a mask first")
        drafts = [s for s in samples if s.targets is None or s.targets.sum() == 0]
        self.class_ids = tuple(int(c) for c in class_ids)
        self.uses_context = self.use_context and all(s.context is not None for s in samples)
        x = np.concatenate([design(s, self.uses_context, self.use_fine) for s in reviewed])
        counts = np.concatenate([s.targets for s in reviewed]).astype(np.float64)
        if counts.shape[1] != 1 + len(self.class_ids):
            raise ValidationError(f"targets have {counts.shape[1]} labels, expected {1 + len(self.class_ids)}")
        self.seen = counts.sum(0) > 0
        class_w = class_weights(counts, self.balance)
        torch.manual_seed(seed)
        self._fit(x, counts, class_w)
        pseudo = 0
        if drafts and self.pseudo_threshold <= 1.0:
            xd, cd = self._pseudo_targets(drafts, float(counts.sum()) / len(reviewed))
            pseudo = int((cd.sum(1) > 0).sum())
            self._fit(np.concatenate([x, xd]), np.concatenate([counts, cd]), class_w)
        self.temperature = 1.0
        if calibrate and self.cross_fit:
            self.temperature = self._cross_fit_temperature(reviewed, drafts, seed)
        log.info("correction head fitted on %d reviewed regions of %d images and %d sure draft regions "
                 "(labels seen %s), T = %.2f", int((counts.sum(1) > 0).sum()), len(reviewed), pseudo,
                 self.seen.astype(int).tolist(), self.temperature)

    def _fit(self, x: np.ndarray, counts: np.ndarray, class_w: np.ndarray) -> None:
        used = counts.sum(1) > 0
        x, counts = x[used], counts[used]
        self._mean, self._scale = x.mean(0), x.std(0) + 1e-3
        self._weight, self._bias = _fit_logistic(self._standardise(x), counts, class_w, self.l2, self.iterations)

    def _pseudo_targets(self, drafts: Sequence[RegionSample], pixels_per_image: float
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Descriptors and hard pixel-count targets of the draft regions the current head is sure
        of within their tags, and of each tag's ``anchors`` most likely regions (labels with
        reviewed pixels only; others: zero rows); a draft's pixels are its area share × the mean
        reviewed pixels per image, × ``pseudo_weight``."""
        xs, cs = [], []
        for s in drafts:
            cols = self.columns(s.tags)
            probs = self._smooth(s, torch.softmax(self.logits(s)[:, cols], dim=1).numpy().T).T
            best = probs.argmax(1)
            label = np.asarray(cols)[best]
            sure = probs.max(1) >= self.pseudo_threshold
            for j, col in enumerate(cols[1:], start=1):
                if self.anchors and self.seen[col]:
                    top = np.argsort(-probs[:, j], kind="stable")[:self.anchors]
                    label[top], sure[top] = col, True
            c = np.zeros((len(best), 1 + len(self.class_ids)))
            c[np.arange(len(best)), label] = s.weights * pixels_per_image * self.pseudo_weight
            xs.append(design(s, self.uses_context, self.use_fine))
            cs.append(c * sure[:, None])
        return np.concatenate(xs), np.concatenate(cs)

    def _standardise(self, x: np.ndarray) -> Tensor:
        return torch.from_numpy(((x - self._mean) / self._scale).astype(np.float32))

    def logits(self, s: RegionSample) -> Tensor:
        """R×(1+K) logits of a sample's regions over [background, class_ids...] (temperature applied)."""
        if self._weight is None or self._bias is None:
            raise ValidationError("the correction head has not been fitted yet")
        x = self._standardise(design(s, self.uses_context, self.use_fine))
        return (x @ self._weight.T + self._bias) / self.temperature

    def columns(self, tags: Sequence[int]) -> list[int]:
        """Label indices of [background, *tags] (a tag outside the fitted classes is an error)."""
        try:
            return [0] + [1 + self.class_ids.index(int(t)) for t in tags]
        except ValueError:
            raise ValidationError(f"tags {list(tags)} are not all among the fitted classes {self.class_ids}") from None

    def predict(self, s: RegionSample, tags: Sequence[int]) -> np.ndarray:
        """(1 + len(tags))×R probabilities over [background, *tags] (tags in the order given), smoothed
        by the region CRF when the sample has its region graph."""
        return self._smooth(s, torch.softmax(self.logits(s)[:, self.columns(tags)], dim=1).T.numpy())

    def _smooth(self, s: RegionSample, probs: np.ndarray) -> np.ndarray:
        """L×R probabilities -> the region CRF's (as they are without a CRF or a region graph)."""
        if self.crf is None or s.adjacency is None:
            return probs
        return self.crf(probs, s.adjacency, design(s, False, self.use_fine)).astype(np.float32)

    def _cross_fit_temperature(self, reviewed: Sequence[RegionSample], drafts: Sequence[RegionSample], seed: int,
                               folds: int = 2) -> float:
        """T minimising the pixel-weighted NLL of held-out reviewed images (1 with fewer than 2)."""
        if len(reviewed) < 2:
            return 1.0
        order = np.random.default_rng(seed).permutation(len(reviewed))
        logits, targets = [], []
        for f in range(folds):
            test = set(order[f::folds].tolist())
            train = [s for i, s in enumerate(reviewed) if i not in test]
            model = CorrectionHead(self.l2, self.balance, self.iterations, self.pseudo_threshold, self.pseudo_weight,
                                   self.use_fine, self.use_context, anchors=self.anchors, crf=self.crf)
            model.fit([*train, *drafts], self.class_ids, seed, calibrate=False)
            for i in sorted(test):
                s = reviewed[i]
                cols = model.columns(s.tags)
                pad = 1 + len(self.class_ids) - len(cols)  # images differ in tag count: pad the label axis
                logits.append(F.pad(model.logits(s)[:, cols], (0, pad), value=-1e4))
                targets.append(F.pad(torch.from_numpy(s.targets[:, cols].astype(np.float32)), (0, pad)))
        lg, tg = torch.cat(logits), torch.cat(targets)
        best, best_t = float("inf"), 1.0
        for t in TEMPERATURES:
            nll = float(-(tg * torch.log_softmax(lg / float(t), dim=1)).sum() / tg.sum().clamp(min=1))
            if nll < best:
                best, best_t = nll, float(t)
        return best_t


def class_weights(counts: np.ndarray, balance: float) -> np.ndarray:
    """L weights (1 / frequency) ** balance of the labels in N×L pixel counts, normalised so that
    the average pixel weighs 1; labels without pixels weigh 0."""
    freq = counts.sum(0) / max(float(counts.sum()), 1.0)
    class_w = np.where(freq > 0, (1.0 / np.maximum(freq, 1e-6)) ** balance, 0.0)
    return class_w / max(float((freq * class_w).sum()), 1e-12)


def _fit_logistic(x: Tensor, counts: np.ndarray, class_w: np.ndarray, l2: float, iterations: int
                  ) -> tuple[Tensor, Tensor]:
    """Class-weighted soft-target logistic regression: x N×D standardised, counts N×L pixel counts
    per label, class_w L -> (weight L×D, bias L). Labels without pixels get a bias of −20."""
    weighted = torch.from_numpy((counts * class_w[None]).astype(np.float32))
    row_w = weighted.sum(1)
    target = weighted / row_w.clamp(min=1e-12)[:, None]
    weight = torch.zeros(counts.shape[1], x.shape[1], requires_grad=True)
    bias = torch.zeros(counts.shape[1], requires_grad=True)
    absent = torch.from_numpy(counts.sum(0) == 0)
    opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=iterations, history_size=10,
                            line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        logp = F.log_softmax((x @ weight.T + bias).masked_fill(absent, -20.0), dim=1)
        loss = -((target * logp).sum(1) * row_w).sum() / row_w.sum().clamp(min=1e-12) + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        b = bias.detach().masked_fill(absent, -20.0)
    return weight.detach(), b
