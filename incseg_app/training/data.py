"""Segmentation data for training steps: datasets of raw items, the per-step target mapping
(CISS background shift), seeded augmentation and collation into ``methods.parts.Batch``.

A raw *item* is a dict:

* ``image``: H×W×3 uint8 RGB.
* ``mask``: H×W uint8 stable class ids (0 = background, 1..254 = classes, 255 = ignore).
* ``tags``: tuple of stable class ids present in the image (derived from the mask when absent).
* ``weak``: True when ``mask`` is a pseudo-mask made from image-level tags.
* ``confidence``: H×W float32 in [0, 1] for pseudo-masks, or None (= 1 everywhere).
* ``image_id``: int, a store id or a dataset index.
* ``image_key``: text that changes whenever the image's pixels do (the store's blob hash; else a hash
  of the pixels, see ``pixel_key``); keys cached backbone features (``training.taps``).

Folder datasets (``ROOT/classes.json`` + ``ROOT/<split>/images|labels``) are read by
``training.folder``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Protocol, Sequence

import logging

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..domain.errors import ValidationError
from ..domain.records import IGNORE_ID as IGNORE
from ..methods.parts import Batch
from .views import Crop, View, crop_map, crop_pixels, crop_taps, render_view, sample_crop, training_views

if TYPE_CHECKING:
    from .taps import TapSource

log = logging.getLogger(__name__)


class SegDataset(Protocol):
    """Anything indexable that yields raw items (see the module docstring)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> dict[str, Any]: ...


class InMemoryDataset:
    """A list of raw items; checks shapes and dtypes once, at construction."""

    def __init__(self, items: Sequence[Mapping[str, Any]]) -> None:
        self.items = [normalise_item(item, i) for i, item in enumerate(items)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.items[index]


class SubsetDataset:
    """The items of ``base`` at ``indices`` (e.g. the images of one CISS step)."""

    def __init__(self, base: SegDataset, indices: Sequence[int]) -> None:
        self.base = base
        self.indices = list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.base[self.indices[index]]


def normalise_item(item: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Validate one raw item and fill the optional keys (tags, weak, confidence, image_id)."""
    image, mask = np.asarray(item["image"]), np.asarray(item["mask"])
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValidationError(f"item {index}: image must be H×W×3 uint8, got {image.shape} {image.dtype}")
    if mask.shape != image.shape[:2] or mask.dtype != np.uint8:
        raise ValidationError(f"item {index}: mask must be H×W uint8 matching the image, got {mask.shape} {mask.dtype}")
    conf = item.get("confidence")
    if conf is not None:
        conf = np.asarray(conf, dtype=np.float32)
        if conf.shape != mask.shape:
            raise ValidationError(f"item {index}: confidence map shape {conf.shape} differs from mask {mask.shape}")
    tags = item.get("tags")
    if tags is None:
        tags = tuple(int(v) for v in np.unique(mask) if v not in (0, IGNORE))
    return {"image": image, "mask": mask, "tags": tuple(int(t) for t in tags), "weak": bool(item.get("weak", False)),
            "confidence": conf, "image_id": int(item.get("image_id", index)),
            "image_key": str(item.get("image_key") or pixel_key(image))}


def pixel_key(image: np.ndarray) -> str:
    """Content key of an H×W×3 uint8 image: "px-" + sha256 of its shape and pixels."""
    image = np.ascontiguousarray(image)
    return "px-" + hashlib.sha256(repr(image.shape).encode() + image.tobytes()).hexdigest()


def target_lookup(channel_of: Mapping[int, int]) -> np.ndarray:
    """256-entry uint8 table from stable class id to this step's target channel.

    ``channel_of`` holds the classes *trained in this step* (and background 0 -> 0 implicitly).
    Every other id becomes background 0 (the overlapped CISS protocol: pixels of old or future
    classes are background in the targets, Cermelli et al. 2020 Sec. 3); 255 stays 255.
    """
    lut = np.zeros(256, dtype=np.uint8)
    for cid, ch in channel_of.items():
        if not 0 <= cid < IGNORE or not 0 <= ch < IGNORE:
            raise ValidationError(f"class id {cid} -> channel {ch}: both must be in 0..254")
        lut[cid] = ch
    lut[IGNORE] = IGNORE
    return lut


def step_lookup(class_ids: Sequence[int], trained_ids: Sequence[int]) -> np.ndarray:
    """Lookup for a step whose model has ``class_ids`` in channel order and trains ``trained_ids``."""
    channel = {cid: ch for ch, cid in enumerate(class_ids)}
    missing = [c for c in trained_ids if c not in channel]
    if missing:
        raise ValidationError(f"classes {missing} are trained in this step but have no output channel")
    return target_lookup({cid: channel[cid] for cid in trained_ids})


def images_with_classes(dataset: SegDataset, class_ids: Sequence[int]) -> list[int]:
    """Indices of items whose mask contains at least one of ``class_ids`` (overlapped step images)."""
    wanted = np.zeros(256, dtype=bool)
    wanted[list(class_ids)] = True
    return [i for i in range(len(dataset)) if wanted[np.asarray(dataset[i]["mask"])].any()]


@dataclass(frozen=True)
class Augment:
    """Random view (scale × flip) and ``align``-aligned square crop (training), or nothing (``crop_size=0``).

    ``scales``: resize factors of the views (one is drawn per sample); ``flip``: mirrored views too;
    ``crop_size``: square crop in pixels; ``align``: crop corners on this pixel grid (the backbone's
    coarsest tap stride, so that pixel and cached-feature crops coincide; ``training.views``). Crops
    that reach past the view are padded: image 0, labels 255, confidence 0.
    """

    crop_size: int = 256
    scales: tuple[float, ...] = (0.75, 1.0, 1.25)
    flip: bool = True
    align: int = 32

    @property
    def views(self) -> tuple[View, ...]:
        return training_views(self.scales, self.flip)


class StepDataset(Dataset):
    """Raw items -> per-sample tensors with this step's targets, augmented deterministically.

    The augmentation of item ``i`` in epoch ``e`` depends only on (seed, e, i), so any number of
    workers or DDP ranks sees the same crops (what the DDP equivalence test relies on), and the
    cached-feature dataset (``taps`` set) sees the same crops as the pixel one.

    Args:
        taps: a ``taps.TapSource``; when given, samples carry cropped backbone taps instead of pixels.
    """

    def __init__(self, data: SegDataset, lookup: np.ndarray, num_classes: int, aug: Augment, seed: int = 0,
                 taps: "TapSource | None" = None) -> None:
        self.data, self.lookup, self.num_classes, self.aug, self.seed = data, lookup, num_classes, aug, seed
        self.taps = taps
        self.epoch = 0
        if taps is not None and (not aug.crop_size or aug.crop_size % taps.align or aug.align % taps.align):
            raise ValidationError(f"cached taps need a crop size and crop alignment that are multiples of "
                                  f"{taps.align} (got crop {aug.crop_size}, align {aug.align})")

    def __len__(self) -> int:
        return len(self.data)

    def _crop(self, index: int, height: int, width: int) -> Crop:
        gen = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch * 7919 + index) % (2**63))
        return sample_crop(gen, height, width, self.aug.views, self.aug.crop_size, self.aug.align)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        item = self.data[index]
        labels = self.lookup[np.asarray(item["mask"])]
        conf = item["confidence"]
        conf = np.ones(labels.shape, np.float32) if conf is None else np.asarray(conf, np.float32)
        sample: dict[str, Any] = {}
        if self.aug.crop_size:
            crop = self._crop(index, *labels.shape)
            labels, conf = crop_map(labels, crop, IGNORE), crop_map(conf, crop, 0.0)
            if self.taps is not None:
                sample["taps"] = crop_taps(self.taps.view_taps(item, crop.view), self.taps.strides, crop)
            else:
                image = torch.tensor(np.asarray(item["image"])).permute(2, 0, 1).float() / 255.0
                sample["images"] = crop_pixels(render_view(image, crop.view), crop)
        else:
            sample["images"] = torch.tensor(np.asarray(item["image"])).permute(2, 0, 1).float() / 255.0
        tags = torch.zeros(self.num_classes)
        tag_channels = self.lookup[list(item["tags"])] if item["tags"] else np.zeros(0, np.uint8)
        tags[[int(c) for c in tag_channels if c < self.num_classes]] = 1.0
        tags[0] = 1.0
        return sample | {"labels": torch.from_numpy(labels.astype(np.int64)), "weak": torch.tensor(item["weak"]),
                         "confidence": torch.from_numpy(np.ascontiguousarray(conf)), "tags": tags,
                         "image_ids": torch.tensor(item["image_id"])}


def collate(samples: list[dict[str, Tensor]]) -> Batch:
    """Stack per-sample tensors into a ``Batch`` (all samples must share H×W; pixels or taps)."""
    rest = (torch.stack([s[k] for s in samples]) for k in ("labels", "weak", "confidence", "tags", "image_ids"))
    if "taps" in samples[0]:
        taps = tuple(torch.stack([s["taps"][i] for s in samples]) for i in range(len(samples[0]["taps"])))
        return Batch(None, *rest, taps=taps)
    return Batch(torch.stack([s["images"] for s in samples]), *rest)


class StepLoader:
    """Per-epoch batches of a ``StepDataset`` for one rank (``rank`` of ``world_size``).

    Shuffling follows ``DistributedSampler`` (seeded by seed + epoch) for every world size, so one
    rank with batch B sees, per iteration, exactly the samples that two ranks with B/2 see together.
    Incomplete last batches are dropped (every iteration has the same batch size); a step with fewer
    images than ``batch_size`` trains on batches of all its images.
    """

    def __init__(self, dataset: StepDataset, batch_size: int, *, seed: int = 0, rank: int = 0,
                 world_size: int = 1, num_workers: int = 0, pin_memory: bool = False) -> None:
        if batch_size < 1:
            raise ValidationError("batch size must be at least 1")
        self.dataset, self.batch_size, self.num_workers = dataset, batch_size, num_workers
        self.pin_memory = pin_memory
        self.sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed,
                                          drop_last=False)
        if len(dataset) == 0:
            raise ValidationError("a training step needs at least one image that shows its classes; it has none")
        if len(self.sampler) < batch_size:
            log.warning("only %d training image(s) per rank: batch size %d lowered to %d", len(self.sampler),
                        batch_size, len(self.sampler))
            self.batch_size = len(self.sampler)

    def __len__(self) -> int:
        return len(self.sampler) // self.batch_size

    def epoch(self, epoch: int) -> Iterator[Batch]:
        """The batches of ``epoch`` (0-based), in a fixed order for a given seed."""
        self.sampler.set_epoch(epoch)
        self.dataset.epoch = epoch
        loader = DataLoader(self.dataset, batch_size=self.batch_size, sampler=self.sampler, drop_last=True,
                            num_workers=self.num_workers, collate_fn=collate, pin_memory=self.pin_memory,
                            prefetch_factor=4 if self.num_workers else None)
        return iter(loader)
