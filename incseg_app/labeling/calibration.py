"""Honest confidence: the stored per-pixel confidence is the probability that the pixel's label is right.

Two corrections of the co-segmentation's raw probabilities, both estimated on images the classifier
did not see (two-fold cross-fitting over images):

* temperature scaling (Guo, Pleiss, Sun & Weinberger, "On Calibration of Modern Neural Networks",
  ICML 2017, Sec. 4.2): one T > 0 minimising the negative log-likelihood of the corrected regions of
  held-out images — available once a user has corrected masks;
* per-class reliability without any correction (our choice): a tag that cannot localise its class
  makes the classifier put the class on regions of held-out images *not* tagged with it at the same
  rate as on tagged images. The rate ratio estimates the share of a class's predictions that are
  false (a positive-unlabelled estimate, Elkan & Noto, KDD 2008, Sec. 2), and the class's
  probability mass is shrunk towards "unsure" by it: p_c ← ρ_c · p_c, the rest spread over the
  other labels in proportion. A class on (nearly) every image cannot be estimated so and is held
  at ρ = 0.5 (unsure). ρ is the estimate's lower confidence bound, ρ̂ − z·SE (delta method over
  the held-out images, z = ``BOUND_Z``; our choice): a class only a few images lack gets a wide
  interval and stays unsure (CamVid's pedestrian, missing from 18 of 150 frames: ρ̂ 0.54, right on
  0 % of the pixels it made confident). z is the one-sided 99 % point, not 95 %: the cross-fitted
  estimate moves between random subsets more than resampling the images accounts for (CamVid
  fence, whole frames: ρ̂ 0.36 on one 150-image subset, 0.63 on another, where its bound at 95 %,
  0.51, let it through at 34 % precision). ρ estimates the precision of the class's *labels*, so
  when the bound is above 0.5 it is the mean confidence they should get: the class's probability
  is scaled by ρ / p̄_c instead of ρ, p̄_c the mean probability of the regions the labeller labels c
  on held-out tagged images (our choice; ρ · p, the former rule, counted the doubt twice and was
  under-confident: ablation in docs/benchmarks.md). A bound at or under 0.5 keeps ρ · p, which no
  score lifts over the unsure threshold.
* ``binned=True`` (off by default; measured in docs/benchmarks.md): the estimate per score bin
  (``SCORE_EDGES``) instead of one ρ — on a held-out image tagged c, the share of the image
  labelled c with a score in bin b; on one *not* tagged c, the same share with c added to its
  tags; precision_c(b) = 1 − negative / positive share, made non-decreasing in the score
  (pool-adjacent-violators; histogram binning, Zadrozny & Elkan, ICML 2001) is the confidence of
  a region labelled c with that score. It is no better on the tiled-CamVid set (21.7 against 22.1
  new-class mIoU, ECE 0.098), and images without a tag are not a random sample of the background
  (CamVid frames without a pedestrian are other streets), so on whole CamVid images it made fence,
  pedestrian and bicyclist confident where they are right 3-41 % of the time: confidently wrong,
  which the default never is there.

``expected_calibration_error`` is the metric of the benchmark (Naeini et al., AAAI 2015; Guo et
al. 2017, Eq. 3): ECE = Σ_b (n_b / n) · |accuracy_b − mean confidence_b| over equal-width bins.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from .coseg import CoSegmenter, RegionSample

log = logging.getLogger(__name__)
MIN_NEGATIVE_IMAGES = 3  # fewer held-out images without a tag cannot estimate its reliability
MIN_POSITIVE_IMAGES = 3  # held-out images with the tag needed to measure a class's rates
UNKNOWN_RELIABILITY = 0.5  # a class whose reliability cannot be estimated is at best a coin flip (our choice)
BOUND_Z = 2.326  # one-sided 99 % lower bound of the reliability estimate
SCORE_EDGES = np.array([0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0])  # bins of a label's probability


@dataclass
class Calibrator:
    """Maps (1 + len(tags))×R probabilities over [background, *tags] to calibrated ones.

    Attributes:
        temperature: T of temperature scaling (1 = none).
        reliability: class id (0 = background) -> ρ in [0, 1], the estimated share of right
            predictions among those the temperature-scaled probability promises (1 = trusted;
            classes absent are trusted). A label keeps ρ · p as its confidence; the rest is the
            labeller admitting it does not know, so the output may sum to less than 1.
    """

    temperature: float = 1.0
    reliability: dict[int, float] = field(default_factory=dict)
    precision: dict[int, np.ndarray] = field(default_factory=dict)  # class id -> per-bin precision

    def _binned(self, probs: np.ndarray, tags: Sequence[int]) -> np.ndarray:
        """Regions whose most likely label is a class with a precision curve get that curve's value
        at their score as confidence; the rest of their mass goes to the other labels in proportion."""
        out = probs.copy()
        best = probs.argmax(0)
        for j, c in enumerate(tags, start=1):
            curve = self.precision.get(int(c))
            sel = np.flatnonzero(best == j)
            if curve is None or not sel.size:
                continue
            conf = curve[score_bins(probs[j, sel])]
            others = np.delete(np.arange(len(probs)), j)
            rest = np.maximum(1.0 - probs[j, sel], 1e-9)
            out[others[:, None], sel[None]] = probs[others][:, sel] / rest * (1.0 - conf)
            out[j, sel] = conf
        return out

    def scale(self, probs: np.ndarray) -> np.ndarray:
        """Temperature scaling of probabilities (renormalised over the first axis)."""
        logp = np.log(np.clip(probs, 1e-8, 1.0)) / self.temperature
        p = np.exp(logp - logp.max(0, keepdims=True))
        return p / p.sum(0, keepdims=True)

    def __call__(self, probs: np.ndarray, tags: Sequence[int]) -> np.ndarray:
        """Also with a single tag: a class the set cannot localise is as likely to sit on the
        evidence's mistakes (regions the active model merely fails to explain) as on the class."""
        rho = np.array([self.reliability.get(0, 1.0)] + [self.reliability.get(int(t), 1.0) for t in tags])
        out = np.minimum(self._binned(self.scale(probs), tags) * rho[:, None], 1.0)
        return (out / np.maximum(out.sum(0, keepdims=True), 1.0)).astype(np.float32)  # a ρ above 1 may overfill


def score_bins(scores: np.ndarray) -> np.ndarray:
    """Index of each score's ``SCORE_EDGES`` bin (scores in [0, 1])."""
    return np.clip(np.searchsorted(SCORE_EDGES, scores, side="right") - 1, 0, len(SCORE_EDGES) - 2)


def monotone(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least-squares non-decreasing fit (pool-adjacent-violators) of ``values``."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values.astype(float), np.maximum(weights.astype(float), 1e-12)):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (a, wa, na), (b, wb, nb) = blocks.pop(-2), blocks.pop()
            blocks.append([(a * wa + b * wb) / (wa + wb), wa + wb, na + nb])
    return np.concatenate([np.full(n, m) for m, _, n in blocks])


def fit_calibrator(samples: Sequence[RegionSample], class_ids: Sequence[int], coseg: CoSegmenter,
                   seed: int = 0, folds: int = 2, binned: bool = False, rescale: bool = True,
                   bound_z: float = BOUND_Z) -> Calibrator:
    """Cross-fitted calibration: refit ``coseg``'s settings on all but one fold of images, predict
    the held-out fold; temperature and per-label reliability from what the held-out images show
    (``binned``: a precision per score bin instead of one ρ; ``rescale`` False: ρ · p instead of
    ρ / p̄_c · p; ``bound_z``: z of the lower bound, 0 = the point estimate; see the module docstring)."""
    order = np.random.default_rng(seed).permutation(len(samples))
    held: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (restricted probs R×L, labels R, weights R)
    bins = len(SCORE_EDGES) - 1
    rates = {c: np.zeros((2, 2)) for c in class_ids}  # class -> [negative, positive] × [Σ share, Σ share²]
    scores = {c: np.zeros(2) for c in class_ids}  # class -> [Σ area · p, Σ area] of its labels on tagged images
    counts = {c: np.zeros((2, bins)) for c in class_ids}  # class -> summed shares per bin on [negative, positive]
    images = {c: np.zeros(2) for c in class_ids}  # class -> number of [negative, positive] held-out images
    for f in range(folds):
        test = order[f::folds]
        train = [samples[i] for i in sorted(set(order) - set(test))]
        if not train or not test.size:
            continue
        model = coseg.clone()
        model.fit(train, class_ids, seed)
        for i in test:
            s = samples[i]
            x = model.descriptor(s)
            _collect_rates(model, s, x, class_ids, rates, images)
            _collect_scores(model, s, x, class_ids, scores)
            if binned:
                _collect_binned(model, s, x, class_ids, counts)
            if s.labels is not None and (s.labels >= 0).any():
                probs = model.predict(x, s.extra, s.tags).T  # R×(1+T)
                index = {0: 0, **{1 + class_ids.index(t): 1 + n for n, t in enumerate(s.tags)}}
                keep = np.array([int(lab) in index for lab in s.labels]) & (s.labels >= 0)
                target = np.array([index.get(int(lab), -1) for lab in s.labels])
                held.append((probs[keep], target[keep], s.weights[keep],
                             np.array([0, *[1 + class_ids.index(t) for t in s.tags]])))
    cal = Calibrator(temperature=_temperature(held))
    cal.reliability = _reliability(held, cal, class_ids, rates, images, binned, scores if rescale else None, bound_z)
    if binned:
        cal.precision = {int(c): _precision(counts[c], images[c]) for c in class_ids
                         if int(c) not in cal.reliability and images[c][1] >= MIN_POSITIVE_IMAGES}
    log.info("calibration: T = %.2f, reliability %s, precision per score bin %s", cal.temperature,
             {c: round(r, 2) for c, r in cal.reliability.items()},
             {c: [round(float(v), 2) for v in p] for c, p in cal.precision.items()})
    return cal


def _collect_rates(model: CoSegmenter, s: RegionSample, x: np.ndarray, class_ids: Sequence[int], rates: dict,
                   images: dict) -> None:
    """Share of the image's foreground evidence that the *unrestricted* classifier gives each class
    (``x``: the sample's descriptor), added to the class's negative (image not tagged) or positive
    (tagged) rate."""
    logits = model.logits(x, s.extra).numpy()[:, 1:]  # R×K, every class competing
    winner = logits.argmax(1)
    mass = s.weights * s.free
    total = max(float(mass.sum()), 1e-9)
    for k, c in enumerate(class_ids):
        tagged = int(c) in s.tags
        share = float(mass[winner == k].sum()) / total
        rates[c][int(tagged)] += (share, share * share)
        images[c][int(tagged)] += 1


def _collect_scores(model: CoSegmenter, s: RegionSample, x: np.ndarray, class_ids: Sequence[int], scores: dict
                    ) -> None:
    """Σ area · probability and Σ area of the regions the labeller labels with each of the image's tags."""
    tags = list(s.tags)
    probs = model.predict(x, s.extra, tags)
    best = probs.argmax(0)
    for j, c in enumerate(tags, start=1):
        won = best == j
        scores[c] += (float((s.weights[won] * probs[j, won]).sum()), float(s.weights[won].sum()))


def _collect_binned(model: CoSegmenter, s: RegionSample, x: np.ndarray, class_ids: Sequence[int], counts: dict
                    ) -> None:
    """Per score bin, the share of the image the labeller gives each class: as it labels it when the
    image is tagged with the class (positive), with the class added to its tags when not (negative)."""
    for c in class_ids:
        tagged = int(c) in s.tags
        tags = list(s.tags) if tagged else [*s.tags, int(c)]
        probs = model.predict(x, s.extra, tags)
        j = 1 + tags.index(int(c))
        won = probs.argmax(0) == j
        counts[c][int(tagged)] += np.bincount(score_bins(probs[j, won]), weights=s.weights[won],
                                              minlength=len(SCORE_EDGES) - 1)


def _precision(counts: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Per score bin, 1 − (mean negative share / mean positive share), non-decreasing in the score."""
    negative, positive = counts[0] / images[0], counts[1] / images[1]
    precision = np.where(positive > 0, 1.0 - negative / np.maximum(positive, 1e-12), 0.0).clip(0.0, 1.0)
    return monotone(precision, positive)


def _temperature(held: list) -> float:
    """T minimising the held-out corrected regions' weighted NLL (1 when none were corrected)."""
    if not held:
        return 1.0
    # held-out images have different tag counts: pad the label axis
    width = max(p.shape[1] for p, _, _, _ in held)
    rows = [np.pad(np.log(np.clip(p, 1e-8, 1)), ((0, 0), (0, width - p.shape[1])), constant_values=-1e4)
            for p, _, _, _ in held]
    logp = torch.from_numpy(np.concatenate(rows).astype(np.float32))
    target = torch.from_numpy(np.concatenate([t for _, t, _, _ in held]).astype(np.int64))
    w = torch.from_numpy(np.concatenate([w for _, _, w, _ in held]).astype(np.float32))
    best, best_t = float("inf"), 1.0
    for t in np.exp(np.linspace(np.log(0.25), np.log(8.0), 41)):
        nll = (torch.nn.functional.cross_entropy(logp / float(t), target, reduction="none") * w).sum() / w.sum()
        if float(nll) < best:
            best, best_t = float(nll), float(t)
    return best_t


def _reliability(held: list, cal: Calibrator, class_ids: Sequence[int], rates: dict, images: dict,
                 binned: bool = False, scores: dict | None = None, bound_z: float = BOUND_Z) -> dict[int, float]:
    """ρ per label: accuracy / confidence of its held-out corrected predictions when there are some
    (only for labels a reviewer painted somewhere: a class left unpainted cannot be judged there),
    else ``UNKNOWN`` when fewer than ``MIN_NEGATIVE_IMAGES`` held-out images lack the tag, else
    the lower bound of 1 − (negative rate / positive rate) over the mean probability of the class's
    labels (``scores``; none with ``binned``: the class gets a precision curve), none when too rare
    to measure (a rare class is what contrast localises best: trusted)."""
    out: dict[int, float] = {}
    stats: dict[int, list[float]] = {}
    painted = {int(columns[j]) for _, target, _, columns in held for j in np.unique(target)}
    for probs, target, w, columns in held:
        p = cal.scale(probs.T).T
        best = p.argmax(1)
        for j, label in enumerate(columns):
            sel = best == j
            if sel.any() and int(label) in painted:
                acc = stats.setdefault(int(label), [0.0, 0.0])
                acc[0] += float((w[sel] * (target[sel] == j)).sum())
                acc[1] += float((w[sel] * p[sel, j]).sum())
    for label, (right, promised) in stats.items():
        cid = 0 if label == 0 else int(class_ids[label - 1])
        out[cid] = float(np.clip(right / max(promised, 1e-9), 0.0, 1.0))
    for c in class_ids:
        if int(c) in out:
            continue
        if images[c][0] < MIN_NEGATIVE_IMAGES:
            out[int(c)] = UNKNOWN_RELIABILITY  # (nearly) every image is tagged: the tags cannot tell
        elif images[c][1] >= MIN_POSITIVE_IMAGES and not binned:
            bound = rate_ratio_bound(rates[c], images[c], bound_z)
            mean_p = scores[c][0] / scores[c][1] if scores is not None and scores[c][1] > 0 else 1.0
            # labels more likely right than wrong (at the bound) get the mean confidence ρ; the others
            # keep ρ · p, so that no score can lift a label of such a class over the unsure threshold
            out[int(c)] = bound / max(mean_p, 1e-3) if bound > UNKNOWN_RELIABILITY else bound
    return out


def rate_ratio_bound(rates: np.ndarray, images: np.ndarray, z: float = BOUND_Z) -> float:
    """Lower bound of ρ = 1 − N̄/P̄ in [0, 1] from [negative, positive] × [Σ share, Σ share²] over
    ``images`` = [negative, positive] counts: ρ̂ − z·SE, SE by the delta method,
    var(N̄/P̄) ≈ (N̄/P̄)² (var N / (n_N N̄²) + var P / (n_P P̄²))."""
    n = np.maximum(images, 1)
    mean = rates[:, 0] / n
    var = np.maximum(rates[:, 1] / n - mean ** 2, 0.0) * n / np.maximum(n - 1, 1)  # sample variances
    neg, pos = mean
    if pos <= 1e-9:
        return 0.0
    ratio = neg / pos
    se = ratio * np.sqrt(var[0] / (n[0] * max(neg, 1e-9) ** 2) + var[1] / (n[1] * pos ** 2)) if neg > 0 else 0.0
    return float(np.clip(1.0 - ratio - z * se, 0.0, 1.0))


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """ECE in [0, 1] of confidences in [0, 1] against 0/1 correctness (same shape), equal-width bins."""
    confidence = np.asarray(confidence, np.float64).ravel()
    correct = np.asarray(correct, np.float64).ravel()
    if confidence.size == 0:
        return float("nan")
    idx = np.minimum((confidence * bins).astype(int), bins - 1)
    n = np.bincount(idx, minlength=bins)
    conf_sum = np.bincount(idx, weights=confidence, minlength=bins)
    acc_sum = np.bincount(idx, weights=correct, minlength=bins)
    return float(np.abs(acc_sum - conf_sum).sum() / confidence.size)


def reliability_curve(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per equal-width bin: pixel count, mean confidence and accuracy (the reliability diagram)."""
    confidence = np.asarray(confidence, np.float64).ravel()
    correct = np.asarray(correct, np.float64).ravel()
    idx = np.minimum((confidence * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        sel = idx == b
        n = int(sel.sum())
        out.append({"low": b / bins, "high": (b + 1) / bins, "pixels": n,
                    "confidence": float(confidence[sel].mean()) if n else None,
                    "accuracy": float(correct[sel].mean()) if n else None})
    return out
