"""Click-to-refine without SAM: a region hierarchy over superpixels, so one click changes a region.

Editing a mask one SLIC superpixel per click (the old fallback) takes dozens of clicks for a road.
Here the superpixels are the leaves of a merge tree built once per image (our choice, in the spirit of
hierarchical region merging and ultrametric contour maps, Arbeláez et al., TPAMI 2011): neighbouring
regions are merged greedily, weakest first, where the cost of a merge is the mean colour-gradient
strength along the shared border plus the colour difference of the two regions (CIELAB), so regions
separated by a strong edge merge last. Heights are made monotone, so cutting the tree at a height
gives a nested family of partitions (fine → coarse).

A click is answered from the tree:

- a positive point grows from its superpixel up the tree to the largest region whose merge height is
  under the chosen scale and that contains no negative point; that region takes the class;
- a negative point grows the same way, avoiding positive points; the class is removed there (pixels
  become background).

Points of one session are answered together from the mask the session started from, so a negative
point inside a region a positive point painted splits that region at the level where the two points
were merged. Shapes: image H×W×3 uint8 RGB; mask H×W uint8 class ids; points (x, y, positive) pixels.
"""
from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from cachetools import LRUCache
from PIL import Image
from scipy import ndimage
from skimage.color import rgb2lab
from skimage.segmentation import slic

from ..domain.records import BACKGROUND_ID
from .fusion import check_clicks
from .protocols import Click, check_image

log = logging.getLogger(__name__)

SCALES = {"fine": 48, "medium": 16, "coarse": 6}  # regions in the whole image at each click scale


@dataclass(frozen=True)
class HierarchyOptions:
    """How the tree is built.

    Args:
        n_leaves: SLIC superpixels (the finest regions) per image.
        compactness: SLIC colour/space trade-off.
        work_side: the tree is built on the image shrunk to this longer side, pixels (0 = full size).
        colour_weight: weight of the CIELAB mean-colour difference against the border gradient.
        size_power: the merge cost is scaled by (smaller region's area / mean superpixel area) to this
            power, so slivers merge first and one region does not swallow the image (our choice; the
            ablation in docs/benchmarks.md shows it helps).
    """

    n_leaves: int = 400
    compactness: float = 12.0
    work_side: int = 320
    colour_weight: float = 2.0
    size_power: float = 0.5


class RegionHierarchy:
    """The merge tree of one image. Nodes 0..S-1 are the superpixels, S..2S-2 the merges in order.

    Only one full-size map is kept (``rank_map``, uint16 while there are fewer than 65,536
    superpixels), so a cached tree costs about 2 bytes per pixel.

    Attributes:
        parent: (2S-1,) parent node, -1 for the root.
        height: (2S-1,) merge height (0 for leaves, non-decreasing towards the root).
        start, stop: (2S-1,) a node's superpixels are those whose rank (depth-first order) is in
            [start, stop).
        rank_map: H×W rank of every pixel's superpixel; ``leaf_of_rank`` maps a rank back to its
            superpixel id.
    """

    def __init__(self, leaves: np.ndarray, parent: np.ndarray, height: np.ndarray) -> None:
        self.parent, self.height = parent, height
        self.n_leaves = int(leaves.max()) + 1
        self.start, self.stop, rank = _leaf_intervals(parent, self.n_leaves)
        self.rank_map = rank.astype(np.uint16 if self.n_leaves < 2**16 else np.int32)[leaves]
        self.leaf_of_rank = np.argsort(rank)

    @property
    def shape(self) -> tuple[int, int]:
        return self.rank_map.shape  # type: ignore[return-value]

    @property
    def leaves(self) -> np.ndarray:
        """H×W superpixel id of every pixel (full image size; made on demand)."""
        return self.leaf_of_rank[self.rank_map]

    def level(self, n_regions: int) -> float:
        """The height at which the image is cut into ``n_regions`` regions (clamped to 1..S)."""
        k = min(max(int(n_regions), 1), self.n_leaves)
        merges = np.sort(self.height[self.n_leaves:])
        done = self.n_leaves - k  # merges applied to leave k regions
        return float(merges[done - 1]) if done > 0 else -1.0

    def partition(self, n_regions: int) -> np.ndarray:
        """H×W int32 region ids (0..k-1) of the cut with ``n_regions`` regions."""
        level = self.level(n_regions)
        top = np.arange(self.n_leaves)
        for leaf in range(self.n_leaves):
            top[leaf] = self._climb(leaf, level, ())
        _, ids = np.unique(top[self.leaf_of_rank], return_inverse=True)  # indexed by rank
        return ids.astype(np.int32)[self.rank_map]

    def node_mask(self, node: int) -> np.ndarray:
        """H×W bool: the pixels of ``node``."""
        return (self.rank_map >= self.start[node]) & (self.rank_map < self.stop[node])

    def grow(self, x: int, y: int, level: float, avoid: Sequence[int] = ()) -> int:
        """The largest node over pixel (x, y) whose height is at most ``level`` and whose superpixels
        include none of the ranks in ``avoid``."""
        return self._climb(int(self.leaf_of_rank[self.rank_map[y, x]]), level, avoid)

    def _climb(self, node: int, level: float, avoid: Sequence[int]) -> int:
        while True:
            up = int(self.parent[node])
            if up < 0 or self.height[up] > level:
                return node
            if any(self.start[up] <= r < self.stop[up] for r in avoid):
                return node
            node = up


def _leaf_intervals(parent: np.ndarray, n_leaves: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Depth-first leaf order: every node's leaves form one contiguous run of ranks."""
    n = len(parent)
    children: list[list[int]] = [[] for _ in range(n)]
    for node, up in enumerate(parent):
        if up >= 0:
            children[up].append(node)
    roots = [node for node in range(n) if parent[node] < 0]
    start, stop = np.zeros(n, np.int64), np.zeros(n, np.int64)
    rank = np.zeros(n_leaves, np.int64)
    counter = 0
    for root in roots:
        stack: list[tuple[int, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                start[node] = min(start[c] for c in children[node])
                stop[node] = max(stop[c] for c in children[node])
                continue
            if node < n_leaves:
                rank[node], start[node], stop[node] = counter, counter, counter + 1
                counter += 1
                continue
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(children[node]))
    return start, stop, rank


def _superpixels(image: np.ndarray, opts: HierarchyOptions) -> tuple[np.ndarray, np.ndarray]:
    """(work-size int32 SLIC labels, work-size H'×W'×3 CIELAB image)."""
    h, w = image.shape[:2]
    small = image
    if opts.work_side and max(h, w) > opts.work_side:
        scale = opts.work_side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))
    lab = rgb2lab(small).astype(np.float32)
    seg = slic(small, n_segments=opts.n_leaves, compactness=opts.compactness, start_label=0,
               convert2lab=True, channel_axis=-1).astype(np.int32)
    _, seg = np.unique(seg, return_inverse=True)  # consecutive ids
    return seg.reshape(lab.shape[:2]).astype(np.int32), lab


def _edges(seg: np.ndarray, lab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adjacent superpixel pairs (E×2, a < b), their border length (E,) and summed gradient (E,)."""
    grad = np.sqrt(sum(ndimage.sobel(lab[..., c], axis=a) ** 2 for c in range(3) for a in (0, 1)))
    n = int(seg.max()) + 1
    pairs, strengths = [], []
    for a, b, ga, gb in ((seg[:, :-1], seg[:, 1:], grad[:, :-1], grad[:, 1:]),
                         (seg[:-1], seg[1:], grad[:-1], grad[1:])):
        cut = a != b
        lo, hi = np.minimum(a[cut], b[cut]), np.maximum(a[cut], b[cut])
        pairs.append(lo.astype(np.int64) * n + hi)
        strengths.append((ga[cut] + gb[cut]) / 2)
    keys, inverse = np.unique(np.concatenate(pairs), return_inverse=True)
    length = np.bincount(inverse).astype(np.float64)
    total = np.bincount(inverse, weights=np.concatenate(strengths))
    return np.stack([keys // n, keys % n], 1), length, total


def _merge_tree(seg: np.ndarray, lab: np.ndarray, colour_weight: float,
                size_power: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(parent, height) of the greedy merge tree over the superpixels of ``seg``."""
    n = int(seg.max()) + 1
    flat = seg.ravel()
    count = np.bincount(flat, minlength=n).astype(np.float64)
    means = np.stack([np.bincount(flat, weights=lab[..., c].ravel(), minlength=n) for c in range(3)], 1)
    means /= np.maximum(count, 1)[:, None]
    pairs, length, total = _edges(seg, lab)
    size = list(count) + [0.0] * (n - 1)
    unit = float(count.mean())
    colour = list(means) + [np.zeros(3)] * (n - 1)
    border: list[dict[int, list[float]]] = [dict() for _ in range(2 * n - 1)]
    for (a, b), ln, tot in zip(pairs.tolist(), length.tolist(), total.tolist()):
        border[a][b] = border[b][a] = [tot, ln]

    def cost(a: int, b: int) -> float:
        tot, ln = border[a][b]
        base = tot / ln + colour_weight * float(np.linalg.norm(colour[a] - colour[b]))
        return base * (min(size[a], size[b]) / unit) ** size_power

    heap = [(cost(a, b), a, b) for a, b in pairs.tolist()]
    heapq.heapify(heap)
    parent = np.full(2 * n - 1, -1, np.int64)
    height = np.zeros(2 * n - 1, np.float64)
    alive = [True] * n + [False] * (n - 1)
    node = n
    while heap and node < 2 * n - 1:
        c, a, b = heapq.heappop(heap)
        if not (alive[a] and alive[b]):
            continue
        alive[a] = alive[b] = False
        alive[node] = True
        parent[a] = parent[b] = node
        height[node] = max(c, height[a], height[b])
        size[node] = size[a] + size[b]
        colour[node] = (colour[a] * size[a] + colour[b] * size[b]) / size[node]
        for old in (a, b):
            for other, (tot, ln) in border[old].items():
                if other in (a, b):
                    continue
                acc = border[node].setdefault(other, [0.0, 0.0])
                acc[0] += tot
                acc[1] += ln
                border[other].pop(old, None)
            border[old] = {}
        for other, acc in border[node].items():
            border[other][node] = acc
            heapq.heappush(heap, (cost(node, other), node, other))
        node += 1
    return parent, height


def build_hierarchy(image: np.ndarray, opts: HierarchyOptions = HierarchyOptions()) -> RegionHierarchy:
    """The merge tree of an H×W×3 uint8 image (about 0.1–0.3 s at 480×360 on one CPU core)."""
    check_image(image)
    seg, lab = _superpixels(image, opts)
    parent, height = _merge_tree(seg, lab, opts.colour_weight, opts.size_power)
    h, w = image.shape[:2]
    if seg.shape != (h, w):  # nearest-neighbour back to full size
        rows = np.arange(h) * seg.shape[0] // h
        cols = np.arange(w) * seg.shape[1] // w
        seg = seg[rows[:, None], cols[None, :]]
    return RegionHierarchy(seg, parent, height)


def click_edit(tree: RegionHierarchy, mask: np.ndarray, class_id: int, points: Sequence[Click],
               n_regions: int = SCALES["medium"]) -> np.ndarray:
    """Apply one session of clicks for ``class_id`` to a copy of ``mask`` (see the module docstring).

    ``n_regions`` is the click scale: the region a click selects is never coarser than the cut of the
    image into that many regions. Returns the new H×W uint8 mask.
    """
    clicks = check_clicks(mask, class_id, points)
    if mask.shape != tree.shape:
        raise ValueError(f"mask {mask.shape} does not match the hierarchy's image {tree.shape}")
    level = tree.level(n_regions)
    ranks = {True: [], False: []}
    for x, y, positive in clicks:
        ranks[positive].append(int(tree.rank_map[y, x]))
    out = mask.copy()
    remove = np.zeros(mask.shape, bool)
    add = np.zeros(mask.shape, bool)
    for x, y, positive in clicks:
        region = tree.node_mask(tree.grow(x, y, level, ranks[not positive]))
        (add if positive else remove)[region] = True
    out[remove & (out == class_id)] = BACKGROUND_ID
    out[add] = class_id
    return out


class HierarchyCache:
    """Trees of recently edited images, built at most once per image even when a background prefetch
    and a click ask for the same image at the same time (thread-safe).

    ``get(key, load)`` returns the tree cached under ``key`` (e.g. the image's content hash), calling
    ``load()`` for the H×W×3 image only when the tree has to be built.
    """

    def __init__(self, capacity: int = 16, opts: HierarchyOptions = HierarchyOptions()) -> None:
        self.opts = opts
        self._cache: LRUCache = LRUCache(capacity)
        self._lock = threading.Lock()
        self._building: dict[str, threading.Event] = {}
        self.builds = 0

    def cached(self, key: str) -> bool:
        with self._lock:
            return self._cache.get(key) is not None

    def get(self, key: str, load: Callable[[], np.ndarray]) -> RegionHierarchy:
        while True:
            with self._lock:
                found = self._cache.get(key)
                if found is not None:
                    return found  # type: ignore[return-value]
                pending = self._building.get(key)
                if pending is None:
                    self._building[key] = threading.Event()
                    break
            pending.wait()
        try:
            tree = build_hierarchy(load(), self.opts)
            with self._lock:
                self._cache[key] = tree
                self.builds += 1
            return tree
        finally:
            with self._lock:
                self._building.pop(key).set()
