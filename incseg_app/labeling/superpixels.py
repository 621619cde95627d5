"""Superpixel refiner: the class-agnostic fallback when no SAM checkpoint is configured.

SLIC superpixels (Achanta et al., TPAMI 2012) over-segment the image into compact regions that
follow colour edges; averaging each class map inside each superpixel snaps the coarse, blobby
class maps (CLIP patches at stride 16) to those edges, the
"superpixel" alternative to SAM named in FMWISS's co-segmentation (Yu et al., CVPR 2023, Sec. 3.2).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from cachetools import LRUCache
from PIL import Image
from skimage.segmentation import slic

from ..domain.errors import ValidationError
from ..domain.records import BACKGROUND_ID
from .fusion import check_clicks
from .protocols import Click, check_image, image_key

log = logging.getLogger(__name__)


class SuperpixelRefiner:
    """Average class maps inside SLIC superpixels; click edits add/remove whole superpixels.

    Args:
        n_segments: approximate number of superpixels per image.
        compactness: SLIC colour/space trade-off (higher = squarer regions).
        cache_size: images whose superpixels are kept (a click session reuses them).
        work_side: SLIC runs on the image shrunk to this longer side, pixels (SLIC dominates the
            fallback's run time; region edges move by at most one work pixel); 0 = full size.
    """

    def __init__(self, n_segments: int = 200, compactness: float = 10.0, cache_size: int = 8,
                 reason: str = "", work_side: int = 320) -> None:
        self.n_segments = max(1, int(n_segments))
        self.compactness = compactness
        self.work_side = work_side
        self._cache: LRUCache = LRUCache(maxsize=cache_size)
        self.segment_calls = 0
        why = f" ({reason})" if reason else ""
        self.description = f"superpixels: SLIC, about {self.n_segments} regions per image{why}"

    def segments(self, image: np.ndarray) -> np.ndarray:
        """H×W int32 superpixel ids 0..S-1 of an H×W×3 uint8 image (cached by image content)."""
        key = image_key(check_image(image))
        cached = self._cache.get(key)
        if cached is not None:
            return cached  # type: ignore[return-value]
        self.segment_calls += 1
        h, w = image.shape[:2]
        small = image
        if self.work_side and max(h, w) > self.work_side:
            scale = self.work_side / max(h, w)
            small = np.asarray(Image.fromarray(image).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                                             Image.BILINEAR))
        seg = slic(small, n_segments=self.n_segments, compactness=self.compactness, start_label=0,
                   channel_axis=-1).astype(np.int32)
        if small is not image:  # nearest-neighbour back to full size
            rows = np.arange(h) * small.shape[0] // h
            cols = np.arange(w) * small.shape[1] // w
            seg = seg[rows[:, None], cols[None, :]]
        self._cache[key] = seg
        return seg

    def refine(self, image: np.ndarray, maps: np.ndarray) -> np.ndarray:
        """K×H×W maps in [0, 1] -> K×H×W, each pixel set to its superpixel's mean map value."""
        seg = self.segments(image)
        flat = seg.ravel()
        counts = np.bincount(flat).astype(np.float64)
        counts[counts == 0] = 1.0
        out = np.empty(maps.shape, np.float32)
        for k, class_map in enumerate(maps):
            means = np.bincount(flat, weights=class_map.ravel().astype(np.float64)) / counts
            out[k] = means[seg]
        return out

    def click(self, image: np.ndarray, mask: np.ndarray, class_id: int, points: Sequence[Click]) -> np.ndarray:
        """Positive clicks paint their superpixel with ``class_id``; negative clicks return the
        ``class_id`` pixels of their superpixel to background. Returns a new H×W uint8 mask."""
        clicks = check_clicks(mask, class_id, points)
        seg = self.segments(image)
        if seg.shape != mask.shape:
            raise ValidationError(f"mask {mask.shape} does not match image {seg.shape}")
        out = mask.copy()
        for x, y, positive in clicks:
            region = seg == seg[y, x]
            if positive:
                out[region] = class_id
            else:
                out[region & (out == class_id)] = BACKGROUND_ID
        return out
