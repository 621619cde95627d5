"""``RegionCRF``: mean-field smoothing of region label probabilities over the region adjacency graph.

A fully factorised mean-field pass of a pairwise CRF (Krähenbühl and Koltun, "Efficient Inference in
Fully Connected CRFs with Gaussian Edge Potentials", NeurIPS 2011, Sec. 3: Q_i(l) ∝ exp(−ψ_u(l) −
Σ_j k(f_i, f_j) μ(l, ·) Q_j)) on superpixels instead of pixels, as in the superpixel CRFs of
Fulkerson et al. ("Class Segmentation and Object Localization with Superpixel Neighborhoods", ICCV
2009): a region's label is pulled toward the labels of the regions it shares a border with, the more
so the more they look alike. Here

    log Q_i ← log P_i + strength · Σ_j a_ij · exp(sharpness · (cos(f_i, f_j) − 1)) · Q_j

with P the correction head's calibrated probabilities (the unary), a_ij the share of region i's
border pixels that touch region j (rows sum to 1), f a region's descriptor (the head's encoder
features, evidence channels and colour, unit length) and a Potts compatibility (only equal labels
reward each other). Our choices (the papers smooth pixels with Gaussian kernels on position and
colour): border share as the spatial kernel, a cosine kernel on the descriptors as the appearance
kernel, three iterations; strength 4 and sharpness 5 were picked on CamVid 6-5 train subsets and
checked on the full train set and val (ablation ``no-crf`` in docs/benchmarks.md).

Only the correction head's output is smoothed (our choice; k = 0 was not measured with it): with
tags alone the co-segmentation's confidence is set by the per-class reliability bound
(``calibration.py``), which a smoothing after it would bypass. With the head, ECE rises from
0.003-0.022 to 0.015-0.027 on CamVid (the temperature is fitted before smoothing).

Shapes: probabilities L×R (labels × regions), adjacency R×R (scipy sparse), descriptors R×D.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix, diags

from ..domain.errors import ValidationError


def border_adjacency(segments: np.ndarray) -> csr_matrix:
    """R×R sparse float32 share of each region's 4-connected border pixel pairs that touch each other
    region (rows sum to 1; a region without neighbours has an empty row), from h×w int region ids
    0..R-1. Sparse: a region has a handful of neighbours, and every draft's sample keeps one."""
    seg = np.asarray(segments, np.int64)
    count = int(seg.max()) + 1 if seg.size else 0
    rows, cols = [], []
    for a, b in ((seg[:, 1:], seg[:, :-1]), (seg[1:], seg[:-1])):
        touch = a != b
        rows += [a[touch], b[touch]]
        cols += [b[touch], a[touch]]
    r, c = (np.concatenate(rows), np.concatenate(cols)) if rows else (np.zeros(0, np.int64),) * 2
    adjacency = coo_matrix((np.ones(len(r), np.float32), (r, c)), shape=(count, count)).tocsr()  # sums duplicates
    degree = np.asarray(adjacency.sum(1)).ravel()
    return csr_matrix(diags(1.0 / np.maximum(degree, 1.0)) @ adjacency, dtype=np.float32)


@dataclass(frozen=True)
class RegionCRF:
    """Mean-field smoothing of L×R region probabilities (see the module docstring).

    Args:
        strength: weight of the neighbours' agreement against the unary (0 = no smoothing).
        sharpness: how fast the appearance kernel falls with descriptor dissimilarity (0 = plain
            border share).
        iterations: mean-field updates.
    """

    strength: float = 4.0
    sharpness: float = 5.0
    iterations: int = 3

    def __post_init__(self) -> None:
        if self.strength < 0 or self.sharpness < 0 or self.iterations < 0:
            raise ValidationError(f"region CRF strength, sharpness and iterations must be ≥ 0, got {self.strength}, "
                                  f"{self.sharpness}, {self.iterations}")

    def kernel(self, adjacency: csr_matrix, descriptors: np.ndarray) -> csr_matrix:
        """R×R sparse pairwise weights: border share × exp(sharpness · (cos − 1)) of the R×D descriptors."""
        unit = np.asarray(descriptors, np.float32)
        unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-6)
        edges = adjacency.tocoo()
        cosine = (unit[edges.row] * unit[edges.col]).sum(1)
        weight = edges.data * np.exp(self.sharpness * (cosine - 1.0))
        return csr_matrix((weight, (edges.row, edges.col)), shape=adjacency.shape)

    def __call__(self, probs: np.ndarray, adjacency: csr_matrix, descriptors: np.ndarray) -> np.ndarray:
        """L×R probabilities -> L×R smoothed probabilities (columns sum to 1)."""
        probs = np.asarray(probs, np.float64)
        if probs.ndim != 2 or adjacency.shape != (probs.shape[1], probs.shape[1]) \
                or len(descriptors) != probs.shape[1]:
            raise ValidationError(f"region CRF: probabilities {probs.shape}, adjacency {adjacency.shape} and "
                                  f"{len(descriptors)} descriptors do not describe the same regions")
        if self.strength == 0 or self.iterations == 0 or probs.shape[1] == 0:
            return probs
        unary = np.log(np.clip(probs, 1e-12, 1.0))
        pairwise = self.strength * self.kernel(adjacency, descriptors)
        q = probs
        for _ in range(self.iterations):
            logits = unary + (pairwise @ q.T).T  # L×R: Σ_j w_ij Q_j(l)
            logits -= logits.max(0, keepdims=True)
            q = np.exp(logits)
            q /= q.sum(0, keepdims=True)
        return q
