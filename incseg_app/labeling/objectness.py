"""The "thing, not stuff" prior: boundary connectivity of superpixel regions.

Zhu, Liang, Wei & Sun, "Saliency Optimization from Robust Background Detection", CVPR 2014, Sec. 3:
a background region (sky, wall, table, road) is heavily connected to the image border, an object is
not. On the graph of adjacent regions with edge weights d_app (appearance distance), the geodesic
distance d_geo(p, q) is the shortest-path sum; a soft span S(p, q) = exp(−d_geo² / 2σ_clr²) gives

    Area(p) = Σ_q S(p, q),   Len_bnd(p) = Σ_{q on the border} S(p, q),
    BndCon(p) = Len_bnd(p) / √Area(p),   w_bg(p) = 1 − exp(−BndCon(p)² / 2σ_bnd²)   (their Eq. 1-4),

with σ_bnd = 1 and σ_clr = 10 Lab units as in the paper, d_app the Lab distance of the regions' mean
colours (the paper's patches are our SLIC superpixels). Adding encoder-feature distances to d_app
was tried and made smooth backgrounds (sky, walls) look like objects, so it is not used. The prior
returned is 1 − w_bg.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

SIGMA_CLR = 0.1  # Zhu et al. 2014: σ_clr = 10 Lab units (our colours are Lab / 100)
SIGMA_BND = 1.0  # Zhu et al. 2014, Eq. 4


def adjacent_pairs(seg: np.ndarray) -> np.ndarray:
    """E×2 int array of distinct adjacent region ids (4-neighbourhood) of an h×w id map."""
    pairs = np.concatenate([
        np.stack([seg[:, :-1].ravel(), seg[:, 1:].ravel()], 1),
        np.stack([seg[:-1, :].ravel(), seg[1:, :].ravel()], 1)])
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs.sort(axis=1)
    return np.unique(pairs, axis=0)


def boundary_objectness(seg: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """R float32 in [0, 1]: 1 − background weight of each region (high = object-like).

    seg: h×w region ids 0..R-1; colour: R×3 mean Lab / 100.
    """
    count = colour.shape[0]
    pairs = adjacent_pairs(seg)
    if count < 3 or len(pairs) == 0:
        return np.full(count, 0.5, np.float32)
    a, b = pairs[:, 0], pairs[:, 1]
    d_app = np.linalg.norm(colour[a] - colour[b], axis=1)
    border = np.unique(np.concatenate([seg[0], seg[-1], seg[:, 0], seg[:, -1]]))
    graph = coo_matrix((np.concatenate([d_app, d_app]) + 1e-9, (np.concatenate([a, b]), np.concatenate([b, a]))),
                       shape=(count, count)).tocsr()
    geo = dijkstra(graph, directed=False)
    span = np.exp(-geo ** 2 / (2 * SIGMA_CLR ** 2))
    area = span.sum(1)
    on_border = np.zeros(count, bool)
    on_border[border] = True
    length = span[:, on_border].sum(1)
    bndcon = length / np.sqrt(np.maximum(area, 1e-9))
    return np.exp(-bndcon ** 2 / (2 * SIGMA_BND ** 2)).astype(np.float32)
