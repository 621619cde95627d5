"""Regions: an image cut into superpixels, each described by pooled frozen-encoder features.

The co-segmentation (``coseg.py``) reasons over regions, not pixels: SLIC superpixels (Achanta et al.,
TPAMI 2012) follow colour edges, so a label decided per region is already boundary-aware, and the
per-region statistics are compact (a few hundred vectors per image), which keeps set-level learning
within bounded memory. Features are the ImageNet-pretrained EfficientNet-Lite0 stage outputs at
strides 8, 16 and 32 (each L2-normalised, then concatenated) — the encoder's FPN neck is skipped
because a fresh encoder's neck is untrained; encoders without stages (tiny, CLIP) give their output.
A second, *fine* pass sees the image at up to twice its size (``fine_side``) and pools at the work
size: the co-segmentation keeps the coarse descriptor (whole objects at ImageNet's scale localise
better from tags), the ``CorrectionHead`` reads the fine one (small objects, e.g. signs and
pedestrians, need the detail; ablation in docs/benchmarks.md).

Shapes: an image is H×W×3 uint8; ``segments`` is h×w int32 at the work size (longer side
``work_side``); ``features`` R×D float16, unit length; maps passed to ``pool`` are H×W.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from skimage.color import rgb2lab
from skimage.segmentation import slic
from torch import Tensor, nn

from .imagenet_prior import ImageNetObjectness
from .objectness import boundary_objectness
from .protocols import check_image


UPSCALE_LIMIT = 1.4  # small images (tiles, crops) are enlarged at most this much for the coarse pass
FINE_UPSCALE_LIMIT = 2.0  # ... and at most this much for the fine pass


@dataclass(frozen=True)
class Regions:
    """One image's regions.

    Attributes:
        segments: h×w int32 region ids 0..R-1 at the work size.
        features: R×D float16 unit-length encoder descriptors (the coarse pass).
        colour: R×3 float32 mean CIE-Lab colour / 100.
        centroid: R×2 float32 (y, x) in [0, 1].
        area: R float32, share of the image.
        objectness: R float32 in [0, 1], the boundary-connectivity "thing, not stuff" prior.
        image_shape: (H, W) of the original image.
        fine: R×D float16 unit-length descriptors of the fine pass, or None (not extracted).
        imagenet: R×1000 float16 region means of the ImageNet classifier's dense log-probabilities
            (``ImageNetObjectness.dense_log_probs``), or None without the head.
    """

    segments: np.ndarray
    features: np.ndarray
    colour: np.ndarray
    centroid: np.ndarray
    area: np.ndarray
    objectness: np.ndarray
    image_shape: tuple[int, int]
    fine: np.ndarray | None = None
    imagenet: np.ndarray | None = None

    @property
    def count(self) -> int:
        return int(self.features.shape[0])

    def pool(self, pixel_map: np.ndarray) -> np.ndarray:
        """Mean of an H×W (or h×w) map inside each region -> R float32."""
        small = resize_nearest(pixel_map.astype(np.float32), self.segments.shape)
        flat = self.segments.ravel()
        sums = np.bincount(flat, weights=small.ravel(), minlength=self.count)
        return (sums / np.maximum(np.bincount(flat, minlength=self.count), 1)).astype(np.float32)

    def pool_maps(self, maps: np.ndarray) -> np.ndarray:
        """Mean of each channel of a C×h×w map (any size; bilinear to the work size) inside each
        region -> R×C float32."""
        up = F.interpolate(torch.from_numpy(np.asarray(maps, np.float32))[None], size=self.segments.shape,
                           mode="bilinear", align_corners=False)[0].flatten(1)
        flat = torch.from_numpy(self.segments.ravel()).long()
        sums = torch.zeros(self.count, up.shape[0]).index_add_(0, flat, up.T)
        return (sums / torch.bincount(flat, minlength=self.count).clamp(min=1)[:, None].float()).numpy()

    def majority(self, labels: np.ndarray, num_labels: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Most frequent value of an H×W uint8 label map per region and its share -> (R int64, R float32)."""
        small = resize_nearest(labels, self.segments.shape).astype(np.int64)
        counts = np.zeros((self.count, num_labels), np.int64)
        np.add.at(counts, (self.segments.ravel(), small.ravel()), 1)
        best = counts.argmax(1)
        return best, (counts.max(1) / np.maximum(counts.sum(1), 1)).astype(np.float32)

    def label_counts(self, index: np.ndarray, num_labels: int) -> np.ndarray:
        """Pixels of each label per region -> R×num_labels float32, from an H×W int64 map of label
        indices (−1 = not counted), taken at the work size."""
        small = resize_nearest(index, self.segments.shape).ravel()
        keep = small >= 0
        counts = np.zeros((self.count, num_labels), np.float32)
        np.add.at(counts, (self.segments.ravel()[keep], small[keep]), 1.0)
        return counts

    def paint(self, values: np.ndarray) -> np.ndarray:
        """R×... per-region values -> H×W×... at the original size (nearest neighbour)."""
        h, w = self.image_shape
        seg = resize_nearest(self.segments, (h, w))
        return values[seg]


def resize_nearest(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a 2-D array to ``shape`` (rows, cols)."""
    if array.shape[:2] == tuple(shape):
        return array
    rows = (np.arange(shape[0]) * array.shape[0]) // shape[0]
    cols = (np.arange(shape[1]) * array.shape[1]) // shape[1]
    return array[rows[:, None], cols[None, :]]


def encoder_stages(encoder: nn.Module, images: Tensor) -> list[Tensor]:
    """B×3×H×W in [0, 1] -> the encoder's stage outputs (EfficientNet: strides 8/16/32), or its
    single output for encoders without ``stem``/``blocks``/``taps``."""
    if not all(hasattr(encoder, name) for name in ("stem", "blocks", "taps", "normalize")):
        return [encoder(images)]
    x = encoder.stem(encoder.normalize(images))
    out = []
    for i, block in enumerate(encoder.blocks):
        x = block(x)
        if i in encoder.taps:
            out.append(x)
    return out


class RegionExtractor:
    """Image -> ``Regions`` with a frozen encoder.

    Args:
        encoder: B×3×H×W in [0, 1] -> feature maps (kept frozen, eval mode).
        work_side: longer side, pixels, of the image SLIC runs on.
        region_pixels: target superpixel size in work pixels (about 190 = 400 regions at 320×240).
        feature_side: longer side, pixels, of the image the encoder sees (small images are enlarged
            at most ``UPSCALE_LIMIT`` times).
        compactness: SLIC colour/space trade-off.
        imagenet: EfficientNet-Lite0's ImageNet classifier head for the CAM objectness prior (used
            when the encoder's last stage fits it), or None for the boundary prior alone.
        fine_side: longer side, pixels, of the fine pass (images enlarged at most
            ``FINE_UPSCALE_LIMIT`` times); 0 = no fine pass.
    """

    def __init__(self, encoder: nn.Module, work_side: int = 320, region_pixels: int = 190,
                 feature_side: int = 448, compactness: float = 10.0,
                 imagenet: ImageNetObjectness | None = None, fine_side: int = 960) -> None:
        self.encoder = encoder.eval().requires_grad_(False)
        self.imagenet = imagenet
        self.work_side = work_side
        self.region_pixels = region_pixels
        self.feature_side = feature_side
        self.fine_side = fine_side
        self.compactness = compactness

    @property
    def device(self) -> torch.device:
        return next(self.encoder.parameters()).device

    def _resize(self, image: np.ndarray, side: int) -> np.ndarray:
        h, w = image.shape[:2]
        scale = side / max(h, w)
        if scale >= 1.0 and side == self.work_side:
            return image  # SLIC never upsamples
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))

    @torch.no_grad()
    def feature_map(self, image: np.ndarray, shape: tuple[int, int], fine: bool = False
                    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """D×h×w unit-length features at ``shape`` (stages normalised, upsampled, concatenated), the
        h×w ImageNet objectness prior and the 1000×h×w ImageNet log-probabilities (both None when
        the encoder's last stage does not fit the head, and in the ``fine`` pass: ``fine_side``,
        ``FINE_UPSCALE_LIMIT`` instead of the coarse one)."""
        wanted, limit = (self.fine_side, FINE_UPSCALE_LIMIT) if fine else (self.feature_side, UPSCALE_LIMIT)
        side = min(wanted, round(limit * max(image.shape[:2])))
        x = torch.from_numpy(np.array(self._resize(image, side))).permute(2, 0, 1)[None].float().div(255.0)
        stages = encoder_stages(self.encoder, x.to(self.device))
        parts = [F.interpolate(F.normalize(s.float(), dim=1), size=shape, mode="bilinear", align_corners=False)
                 for s in stages]
        prior = names = None
        if not fine and self.imagenet is not None and stages[-1].shape[1] == self.imagenet.conv.in_channels:
            cam = self.imagenet(stages[-1].cpu())[:, None]
            prior = F.interpolate(cam, size=shape, mode="bilinear", align_corners=False)[0, 0]
            names = F.interpolate(self.imagenet.dense_log_probs(stages[-1].cpu()), size=shape, mode="bilinear",
                                  align_corners=False)[0]
        return torch.cat(parts, dim=1)[0].cpu() / len(parts) ** 0.5, prior, names

    def __call__(self, image: np.ndarray) -> Regions:
        check_image(image)
        small = self._resize(image, self.work_side)
        h, w = small.shape[:2]
        n_segments = max(8, (h * w) // self.region_pixels)
        seg = slic(small, n_segments=n_segments, compactness=self.compactness, start_label=0,
                   channel_axis=-1).astype(np.int32)
        _, seg = np.unique(seg, return_inverse=True)
        seg = seg.reshape(h, w).astype(np.int32)
        count = int(seg.max()) + 1
        grid = (max(1, h // 2), max(1, w // 2))
        feats, prior, names = self.feature_map(image, grid)  # D×gh×gw, gh×gw, 1000×gh×gw
        seg_small = resize_nearest(seg, grid)
        flat = torch.from_numpy(seg_small.ravel()).long()
        sums = torch.zeros(count, feats.shape[0]).index_add_(0, flat, feats.flatten(1).T)
        hits = torch.bincount(flat, minlength=count)
        missing = (hits == 0).nonzero().flatten()
        if len(missing):  # regions too thin for the pooling grid take the feature at their centre
            ys, xs = _centres(seg, count)
            gy = (ys[missing.numpy()] * grid[0] / h).astype(int).clip(0, grid[0] - 1)
            gx = (xs[missing.numpy()] * grid[1] / w).astype(int).clip(0, grid[1] - 1)
            sums[missing] = feats[:, gy, gx].T
            hits[missing] = 1
        features = F.normalize(sums / hits[:, None].float(), dim=1).numpy().astype(np.float16)
        fine = self._fine_features(image, seg, count) if self.fine_side else None
        imagenet = None
        if names is not None:
            pooled = torch.zeros(count, names.shape[0]).index_add_(0, flat, names.flatten(1).T)
            seen = torch.bincount(flat, minlength=count)
            pooled = pooled / seen.clamp(min=1)[:, None].float()
            pooled[seen == 0] = names.flatten(1).mean(1)  # regions thinner than the grid: the image's mean
            imagenet = pooled.numpy().astype(np.float16)
        lab = rgb2lab(small).reshape(-1, 3) / 100.0
        counts = np.bincount(seg.ravel(), minlength=count).astype(np.float64)
        colour = np.stack([np.bincount(seg.ravel(), weights=lab[:, j], minlength=count) for j in range(3)], 1)
        colour = (colour / counts[:, None]).astype(np.float32)
        ys, xs = _centres(seg, count)
        centroid = np.stack([ys / h, xs / w], 1).astype(np.float32)
        objectness = boundary_objectness(seg, colour)
        if prior is not None:  # geometric mean of the two "thing, not stuff" cues (our choice)
            cam = torch.zeros(count).index_add_(0, flat, prior.flatten()) / hits.float()
            objectness = np.sqrt(objectness * cam.numpy().clip(0, 1)).astype(np.float32)
        return Regions(seg, features, colour, centroid, (counts / counts.sum()).astype(np.float32),
                       objectness, image.shape[:2], fine, imagenet)

    def _fine_features(self, image: np.ndarray, seg: np.ndarray, count: int) -> np.ndarray:
        """R×D float16 unit-length region means of the fine pass, pooled at the work size."""
        feats, _, _ = self.feature_map(image, seg.shape, fine=True)
        flat = torch.from_numpy(seg.ravel()).long()
        sums = torch.zeros(count, feats.shape[0]).index_add_(0, flat, feats.flatten(1).T)
        hits = torch.bincount(flat, minlength=count).clamp(min=1)
        return F.normalize(sums / hits[:, None].float(), dim=1).numpy().astype(np.float16)


def _centres(seg: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean (row, col) of each region, in work pixels."""
    h, w = seg.shape
    rows, cols = np.indices((h, w))
    n = np.maximum(np.bincount(seg.ravel(), minlength=count), 1)
    return (np.bincount(seg.ravel(), weights=rows.ravel(), minlength=count) / n,
            np.bincount(seg.ravel(), weights=cols.ravel(), minlength=count) / n)
