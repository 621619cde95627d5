"""Segmentation data for training steps: datasets of raw items, the per-step target mapping
(CISS background shift), seeded augmentation and collation into ``methods.parts.Batch``.

A raw *item* is a dict:

* ``image``: H×W×3 uint8 RGB.
* ``mask``: H×W uint8 stable class ids (0 = background, 1..254 = classes, 255 = ignore).
* ``tags``: tuple of stable class ids present in the image (derived from the mask when absent).
* ``weak``: True when ``mask`` is a pseudo-mask made from image-level tags.
* ``confidence``: H×W float32 in [0, 1] for pseudo-masks, or None (= 1 everywhere).
* ``image_id``: int, a store id or a dataset index.

Folder datasets (``ROOT/classes.json`` + ``ROOT/<split>/images|labels``) are read by
``training.folder``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Protocol, Sequence

import logging

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..domain.errors import ValidationError
from ..methods.parts import Batch

log = logging.getLogger(__name__)

IGNORE = 255


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
            "confidence": conf, "image_id": int(item.get("image_id", index))}


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
    """Random scale, crop and horizontal flip (training) or nothing (``crop_size=0``).

    ``scale_range``: multiplicative resize range applied before cropping; ``crop_size``: square crop in
    pixels (images smaller than the crop are padded: image 0, labels 255, confidence 0).
    """

    crop_size: int = 256
    scale_range: tuple[float, float] = (0.5, 1.5)
    flip: bool = True


def augment(image: Tensor, labels: Tensor, conf: Tensor, aug: Augment, gen: torch.Generator
            ) -> tuple[Tensor, Tensor, Tensor]:
    """Scale, pad, crop and flip one sample with generator ``gen``.

    Args: image 3×H×W float in [0, 1]; labels H×W int64; conf H×W float. Returns the same three
    at crop_size × crop_size.
    """
    lo, hi = aug.scale_range
    s = lo + (hi - lo) * float(torch.rand((), generator=gen))
    h, w = labels.shape
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    image = F.interpolate(image[None], (nh, nw), mode="bilinear", align_corners=False)[0]
    labels = F.interpolate(labels[None, None].float(), (nh, nw), mode="nearest")[0, 0].long()
    conf = F.interpolate(conf[None, None], (nh, nw), mode="nearest")[0, 0]
    c = aug.crop_size
    ph, pw = max(0, c - nh), max(0, c - nw)
    if ph or pw:
        image = F.pad(image, (0, pw, 0, ph), value=0.0)
        labels = F.pad(labels, (0, pw, 0, ph), value=IGNORE)
        conf = F.pad(conf, (0, pw, 0, ph), value=0.0)
    top = int(torch.randint(0, labels.shape[0] - c + 1, (), generator=gen))
    left = int(torch.randint(0, labels.shape[1] - c + 1, (), generator=gen))
    image, labels, conf = (image[:, top:top + c, left:left + c], labels[top:top + c, left:left + c],
                           conf[top:top + c, left:left + c])
    if aug.flip and float(torch.rand((), generator=gen)) < 0.5:
        image, labels, conf = image.flip(-1), labels.flip(-1), conf.flip(-1)
    return image, labels, conf


class StepDataset(Dataset):
    """Raw items -> per-sample tensors with this step's targets, augmented deterministically.

    The augmentation of item ``i`` in epoch ``e`` depends only on (seed, e, i), so any number of
    workers or DDP ranks sees the same crops (what the DDP equivalence test relies on).
    """

    def __init__(self, data: SegDataset, lookup: np.ndarray, num_classes: int, aug: Augment, seed: int = 0) -> None:
        self.data, self.lookup, self.num_classes, self.aug, self.seed = data, lookup, num_classes, aug, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        item = self.data[index]
        labels = torch.from_numpy(self.lookup[np.asarray(item["mask"])].astype(np.int64))
        image = torch.tensor(np.asarray(item["image"])).permute(2, 0, 1).float() / 255.0
        conf = item["confidence"]
        conf = torch.ones(labels.shape) if conf is None else torch.from_numpy(np.asarray(conf, np.float32))
        if self.aug.crop_size:
            gen = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch * 7919 + index) % (2**63))
            image, labels, conf = augment(image, labels, conf, self.aug, gen)
        tags = torch.zeros(self.num_classes)
        tag_channels = self.lookup[list(item["tags"])] if item["tags"] else np.zeros(0, np.uint8)
        tags[[int(c) for c in tag_channels if c < self.num_classes]] = 1.0
        tags[0] = 1.0
        return {"images": image, "labels": labels, "weak": torch.tensor(item["weak"]),
                "confidence": conf, "tags": tags, "image_ids": torch.tensor(item["image_id"])}


def collate(samples: list[dict[str, Tensor]]) -> Batch:
    """Stack per-sample tensors into a ``Batch`` (all samples must share H×W)."""
    return Batch(*(torch.stack([s[k] for s in samples]) for k in
                   ("images", "labels", "weak", "confidence", "tags", "image_ids")))


class StepLoader:
    """Per-epoch batches of a ``StepDataset`` for one rank (``rank`` of ``world_size``).

    Shuffling follows ``DistributedSampler`` (seeded by seed + epoch) for every world size, so one
    rank with batch B sees, per iteration, exactly the samples that two ranks with B/2 see together.
    Incomplete last batches are dropped (every iteration has the same batch size); a step with fewer
    images than ``batch_size`` trains on batches of all its images.
    """

    def __init__(self, dataset: StepDataset, batch_size: int, *, seed: int = 0, rank: int = 0,
                 world_size: int = 1, num_workers: int = 0) -> None:
        if batch_size < 1:
            raise ValidationError("batch size must be at least 1")
        self.dataset, self.batch_size, self.num_workers = dataset, batch_size, num_workers
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
                            num_workers=self.num_workers, collate_fn=collate)
        return iter(loader)
