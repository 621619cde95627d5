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
  other labels in proportion.

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

    def scale(self, probs: np.ndarray) -> np.ndarray:
        """Temperature scaling of probabilities (renormalised over the first axis)."""
        logp = np.log(np.clip(probs, 1e-8, 1.0)) / self.temperature
        p = np.exp(logp - logp.max(0, keepdims=True))
        return p / p.sum(0, keepdims=True)

    def __call__(self, probs: np.ndarray, tags: Sequence[int]) -> np.ndarray:
        """Also with a single tag: a class the set cannot localise is as likely to sit on the
        evidence's mistakes (regions the active model merely fails to explain) as on the class."""
        rho = np.array([self.reliability.get(0, 1.0)] + [self.reliability.get(int(t), 1.0) for t in tags])
        return (self.scale(probs) * rho[:, None]).astype(np.float32)


def fit_calibrator(samples: Sequence[RegionSample], class_ids: Sequence[int], coseg: CoSegmenter,
                   seed: int = 0, folds: int = 2) -> Calibrator:
    """Cross-fitted calibration: refit ``coseg``'s settings on all but one fold of images, predict
    the held-out fold; temperature and per-label reliability from what the held-out images show."""
    from .coseg import CoSegmenter

    order = np.random.default_rng(seed).permutation(len(samples))
    held: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (restricted probs R×L, labels R, weights R)
    counts = {c: np.zeros(2) for c in class_ids}  # class -> summed share on [negative, positive] images
    images = {c: np.zeros(2) for c in class_ids}  # class -> number of [negative, positive] held-out images
    for f in range(folds):
        test = order[f::folds]
        train = [samples[i] for i in sorted(set(order) - set(test))]
        if not train or not test.size:
            continue
        model = CoSegmenter(coseg.l2, coseg.supervised_weight, coseg.presence_weight, coseg.iterations)
        model.fit(train, class_ids, seed)
        for i in test:
            s = samples[i]
            _collect_rates(model, s, class_ids, counts, images)
            if s.labels is not None and (s.labels >= 0).any():
                probs = model.predict(s.features, s.extra, s.tags).T  # R×(1+T)
                index = {0: 0, **{1 + class_ids.index(t): 1 + n for n, t in enumerate(s.tags)}}
                keep = np.array([int(lab) in index for lab in s.labels]) & (s.labels >= 0)
                target = np.array([index.get(int(lab), -1) for lab in s.labels])
                held.append((probs[keep], target[keep], s.weights[keep],
                             np.array([0, *[1 + class_ids.index(t) for t in s.tags]])))
    cal = Calibrator(temperature=_temperature(held))
    cal.reliability = _reliability(held, cal, class_ids, counts, images)
    log.info("calibration: T = %.2f, reliability %s", cal.temperature,
             {c: round(r, 2) for c, r in cal.reliability.items()})
    return cal


def _collect_rates(model: CoSegmenter, s: RegionSample, class_ids: Sequence[int], counts: dict, images: dict
                   ) -> None:
    """Share of the image's foreground evidence that the *unrestricted* classifier gives each class,
    added to the class's negative (image not tagged) or positive (tagged) rate."""
    logits = model.logits(s.features, s.extra).numpy()[:, 1:]  # R×K, every class competing
    winner = logits.argmax(1)
    mass = s.weights * s.free
    total = max(float(mass.sum()), 1e-9)
    for k, c in enumerate(class_ids):
        share = float(mass[winner == k].sum()) / total
        tagged = int(c) in s.tags
        counts[c][int(tagged)] += share
        images[c][int(tagged)] += 1


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


def _reliability(held: list, cal: Calibrator, class_ids: Sequence[int], counts: dict, images: dict
                 ) -> dict[int, float]:
    """ρ per label: accuracy / confidence of its held-out corrected predictions when there are some,
    else 1 − (negative rate / positive rate) from images without the tag, else ``UNKNOWN``."""
    out: dict[int, float] = {}
    stats: dict[int, list[float]] = {}
    for probs, target, w, columns in held:
        p = cal.scale(probs.T).T
        best = p.argmax(1)
        for j, label in enumerate(columns):
            sel = best == j
            if sel.any():
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
            continue
        if images[c][1] < MIN_POSITIVE_IMAGES:
            continue  # too rare to measure; a rare class is what contrast localises best: trusted
        neg_rate, pos_rate = counts[c][0] / images[c][0], counts[c][1] / images[c][1]
        out[int(c)] = float(np.clip(1.0 - neg_rate / max(pos_rate, 1e-9), 0.0, 1.0))
    return out


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
