"""Old-class pseudo-labels from the previous-step model, selected by normalised entropy.

Douillard et al., "PLOP: Learning without Forgetting for Continual Semantic Segmentation",
CVPR 2021, Sec. 3.2 (Incrementer, Shang et al., CVPR 2023, trains with these pseudo-labels): a
background pixel takes the old model's argmax class ĉ when its entropy is below the threshold τ_ĉ of
that class, estimated on the background pixels the old model assigns to ĉ.

Units, as in PLOP's released code (``train.py``: ``entropy`` and ``find_median``): with K_old old and K
current channels, PLOP compares v = H / (K_old · ln K_old · ln K) — the mean (not the sum) of −p ln p
over classes, normalised by ln K_old, divided again by ln K — so v = S / (K_old · ln K) where
S = H / ln K_old ∈ [0, 1] is the usual normalised entropy. The floor τ ≥ 0.001 is in these units
(an earlier port applied it to S, where it never fired).

Threshold rules (``rule``; choices where the paper is open, measured in ``docs/benchmarks.md``):

* ``"plop"`` (default): what PLOP's released ``find_median`` computes. It bins v into 100 bins of 0.01
  and walks them with a running sum that adds the bin *index* instead of its count, so it stops at the
  first bin holding about half of the class's pixels and interpolates inside it; with v ≤ 1/(K_old·ln K)
  nearly all pixels sit in bin 0, and the threshold lands between 0.005 and 0.01 in v (S ≲ 0.1–0.2 on
  CamVid 6-x) — a fixed, class-count-scaled entropy cut, not a median. A class with no bin holding
  about half of its pixels falls through to an empty bin and a division by zero: +inf (every pixel
  accepted) once the class has more than ~10,000 background pixels, -inf (the floor) below that.
* ``"median"``: the per-class median of v, the paper's text; it rejects half of every class's
  background pixels by construction.

Statistics are histograms accumulated over the step's batches (PLOP makes one pass over the step's
data before training; the running histograms converge to the same counts without the extra pass).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ...domain.errors import ValidationError
from ...domain.records import BACKGROUND_ID, IGNORE_ID
from ..labelmaps import channel_argmax
from ..parts import Part, StepContext, StepRun

RULES = ("plop", "median")
BINS = 100  # PLOP's entropy histogram: 100 bins of 0.01 over [0, 1]


@dataclass(frozen=True)
class PseudoOptions:
    """Options of ``inc_pseudo``."""

    rule: str = "plop"  # "plop" (the released code's threshold) | "median" (the paper's text)
    floor: float = 0.001  # lower bound of every threshold, in PLOP's units v (module docstring)
    ignore_uncertain: bool = True  # unconfident background pixels -> 255 (PLOP); false keeps them background

    def validate(self) -> None:
        if self.rule not in RULES:
            raise ValidationError(f"rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        if not 0.0 <= self.floor <= 1.0:
            raise ValidationError(f"floor must be in [0, 1], got {self.floor}")


def normalised_entropy(probs: Tensor) -> Tensor:
    """S = −Σ_c p log p / log K over dim 1: B×K×H×W probabilities -> B×H×W in [0, 1] (K >= 2)."""
    k = probs.shape[1]
    return -(probs * probs.clamp_min(1e-12).log()).sum(dim=1) / math.log(k)


def plop_entropy(probs: Tensor, num_current: int) -> Tensor:
    """PLOP's entropy units v = S / (K_old · ln K): B×K_old×H×W old probabilities -> B×H×W in [0, 1/(K_old ln K)]."""
    return normalised_entropy(probs) / (probs.shape[1] * math.log(num_current))


def entropy_histograms(values: Tensor, pred: Tensor, mask: Tensor, num_classes: int) -> Tensor:
    """K×BINS int64 counts of ``values`` (in [0, 1]) per predicted class over the pixels in ``mask``."""
    v, p = values[mask], pred[mask]
    bins = (v * BINS).long().clamp(0, BINS - 1)
    return torch.bincount(p * BINS + bins, minlength=num_classes * BINS).reshape(num_classes, BINS)


def plop_code_thresholds(hist: Tensor) -> Tensor:
    """The threshold PLOP's released ``find_median`` computes from K×BINS counts (module docstring).

    Returns K float in v units; 0 for classes without pixels (PLOP's initial value; the floor then
    applies) and ±inf where no bin qualifies and the code divides by an empty bin.
    """
    counts = hist.double().cpu().numpy()
    out = np.zeros(counts.shape[0])
    running = np.concatenate([[0.0], np.cumsum(np.arange(BINS - 1, dtype=np.float64))])  # the code's running sum
    for c, row in enumerate(counts):
        total = row.sum()
        if total <= 0:
            continue
        half = total / 2
        hits = np.nonzero((running <= half) & (half <= running + row))[0]
        i = int(hits[0]) if len(hits) else BINS - 1
        run = running[i] if len(hits) else running[-1] + (BINS - 1)  # the loop's last ``+= i`` ran too
        n = row[i]
        out[c] = i / BINS + (half - run) / n / BINS if n > 0 else math.copysign(math.inf, half - run)
    return torch.from_numpy(out).float()


def median_thresholds(hist: Tensor) -> Tensor:
    """Per-class median of v from K×BINS counts, interpolated inside its bin; 0 for empty classes."""
    counts = hist.double().cpu()
    total = counts.sum(dim=1, keepdim=True)
    cum = counts.cumsum(dim=1)
    idx = (cum < total / 2).sum(dim=1).clamp(max=BINS - 1)
    before = torch.where(idx > 0, cum.gather(1, (idx - 1).clamp(min=0)[:, None])[:, 0], torch.zeros_like(idx, dtype=cum.dtype))
    inside = counts.gather(1, idx[:, None])[:, 0].clamp(min=1)
    med = (idx.double() + (total[:, 0] / 2 - before) / inside) / BINS
    return torch.where(total[:, 0] > 0, med, torch.zeros_like(med)).float()


def entropy_pseudo_labels(old_logits: Tensor, labels: Tensor, thresholds: Tensor, num_current: int,
                          ignore_uncertain: bool = True, probs: Tensor | None = None) -> Tensor:
    """PLOP Sec. 3.2 pseudo-labelling with given thresholds.

    Args:
        old_logits: B×K_old×H×W previous-step logits (channel 0 = background).
        labels: B×H×W int64 current targets (0 = background, 255 = ignore).
        thresholds: K_old float, τ_c in PLOP's units v (``plop_entropy``).
        num_current: K, the current model's channels (PLOP's ``nb_current_classes``).
        ignore_uncertain: background pixels with v ≥ τ become 255 (PLOP) instead of staying background.
        probs: softmax(old_logits) when the caller has it already.
    Returns:
        B×H×W int64 targets: background pixels with v < τ_ĉ become ĉ (which may be 0 again); every
        other pixel is unchanged.
    """
    if old_logits.shape[1] < 2:
        return labels
    with torch.no_grad():
        probs = old_logits.float().softmax(dim=1) if probs is None else probs
        v = plop_entropy(probs, num_current)
        pred = channel_argmax(probs)
        return _relabel(labels, pred, v < thresholds.to(v.device)[pred], ignore_uncertain)


def _relabel(labels: Tensor, pred: Tensor, confident: Tensor, ignore_uncertain: bool) -> Tensor:
    background = labels == BACKGROUND_ID
    out = torch.where(background & confident, pred.to(labels.dtype), labels)
    if ignore_uncertain:
        out = torch.where(background & ~confident, torch.full_like(out, IGNORE_ID), out)
    return out


class EntropyPseudoLabels(Part):
    """Label source ``inc_pseudo``: PLOP-style entropy pseudo-labels for Incrementer (module docstring).

    Why ``ignore_uncertain`` defaults to true: training the unconfident background pixels as
    background teaches the new model that old classes are background (with the plain CE; the
    unbiased CE makes the choice matter less). Acts only when a previous-step model exists.
    """

    name = "inc_pseudo"
    Options = PseudoOptions
    writes = ("labels",)

    def __init__(self, options: PseudoOptions | None = None) -> None:
        super().__init__(options)
        self.hist: Tensor | None = None  # K_old×BINS running histogram of v per predicted class
        self._rates = torch.zeros(3)  # running sums: pseudo-labelled, rejected, background shares

    def on_step_start(self, run: StepRun) -> None:
        self.hist, self._rates = None, torch.zeros(3)

    def state_dict(self) -> dict[str, Tensor]:
        return {} if self.hist is None else {"hist": self.hist.clone()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.hist = state["hist"].clone() if "hist" in state else None

    def thresholds(self) -> Tensor:
        """K_old thresholds in v units from the running histograms, floored."""
        raw = plop_code_thresholds(self.hist) if self.options.rule == "plop" else median_thresholds(self.hist)
        return raw.clamp(min=self.options.floor)

    @torch.no_grad()
    def relabel(self, ctx: StepContext) -> Tensor | None:
        if ctx.old_out is None or ctx.old_out.logits.shape[1] < 2:
            return None
        probs = ctx.old_out.logits.float().softmax(dim=1)
        k_old, k = probs.shape[1], ctx.step.num_classes
        background = ctx.labels == BACKGROUND_ID
        v, pred = plop_entropy(probs, k), channel_argmax(probs)
        hist = entropy_histograms(v, pred, background, k_old).cpu()
        self.hist = hist if self.hist is None else self.hist + hist
        confident = v < self.thresholds().to(v.device)[pred]
        labels = _relabel(ctx.labels, pred, confident, self.options.ignore_uncertain)
        self._rates += torch.stack([((labels != BACKGROUND_ID) & (labels != IGNORE_ID) & background).float().mean(),
                                    ((labels == IGNORE_ID) & background).float().mean(),
                                    background.float().mean()]).cpu()
        return labels

    def summary(self) -> dict[str, Any]:
        """Shares of background-labelled pixels pseudo-labelled / rejected, and the final thresholds
        (v units and the equivalent normalised entropy S)."""
        if self.hist is None or float(self._rates[2]) == 0:
            return {}
        pseudo, rejected, background = (float(v) for v in self._rates)
        t = self.thresholds()
        return {"pseudo_share_of_background": pseudo / background, "rejected_share_of_background": rejected / background,
                "thresholds_v": [round(float(x), 5) if math.isfinite(x) else None for x in t]}
