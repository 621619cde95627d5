"""FMWISS instance memory (Yu et al., CVPR 2023, Sec. 3.4 "memory-based copy-paste augmentation").

A per-class store of at most B foreground instances (image crop + binary mask) collected at the end of
each step from that step's classes, so later steps can paste old-class objects into new images
(``copypaste.py``). Classes are keyed by model channel: channels are stable along a version lineage
(growing a model appends channels), so a memory belongs with the version that wrote it.

The memory serialises to an ``.npz`` blob holding only numeric arrays (``to_bytes`` /
``from_bytes``, loaded with ``allow_pickle=False``) that the services keep in the blob store.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from ...domain.errors import BadFileError, ValidationError

POLICIES = ("reservoir", "best")
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Instance:
    """One stored object.

    Attributes:
        crop: h×w×3 uint8 RGB pixels of the object's bounding box.
        mask: h×w bool, the object's pixels inside the crop.
        channel: the model channel (class) of the object, ≥ 1.
        score: mean pseudo-mask confidence over the mask, in [0, 1] (1 for ground truth).
    """

    crop: np.ndarray
    mask: np.ndarray
    channel: int
    score: float


class InstanceMemory:
    """At most ``capacity`` instances per class, replaced by ``policy``.

    * ``reservoir``: a uniform sample of every instance offered for the class (Vitter's algorithm R).
    * ``best``: the ``capacity`` instances with the highest score (ties keep the earlier one).
    """

    def __init__(self, capacity: int, policy: str = "reservoir", seed: int = 0) -> None:
        if capacity < 1:
            raise ValidationError(f"instance memory capacity must be at least 1, got {capacity}")
        if policy not in POLICIES:
            raise ValidationError(f"instance memory policy must be one of {', '.join(POLICIES)}, got {policy!r}")
        self.capacity, self.policy = capacity, policy
        self.instances: dict[int, list[Instance]] = {}
        self.seen: dict[int, int] = {}
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return sum(len(v) for v in self.instances.values())

    @property
    def classes(self) -> tuple[int, ...]:
        """Channels holding at least one instance, ascending."""
        return tuple(sorted(c for c, v in self.instances.items() if v))

    def get(self, channel: int) -> list[Instance]:
        return list(self.instances.get(channel, []))

    def add(self, inst: Instance) -> bool:
        """Offer one instance; True when it was stored."""
        slot = self.instances.setdefault(inst.channel, [])
        self.seen[inst.channel] = self.seen.get(inst.channel, 0) + 1
        if len(slot) < self.capacity:
            slot.append(inst)
            return True
        if self.policy == "reservoir":
            j = int(self._rng.integers(0, self.seen[inst.channel]))
            if j < self.capacity:
                slot[j] = inst
                return True
            return False
        worst = min(range(len(slot)), key=lambda i: slot[i].score)
        if inst.score > slot[worst].score:
            slot[worst] = inst
            return True
        return False

    def trim(self, capacity: int) -> None:
        """Keep at most ``capacity`` per class (best scores first for ``best``, else the first ones)."""
        self.capacity = capacity
        for c, slot in self.instances.items():
            if self.policy == "best":
                slot.sort(key=lambda i: -i.score)
            del slot[capacity:]

    def to_bytes(self) -> bytes:
        """A compressed ``.npz`` of numeric arrays only (no pickled objects)."""
        items = [inst for c in sorted(self.instances) for inst in self.instances[c]]
        arrays = {
            "format": np.array([_FORMAT_VERSION, self.capacity, POLICIES.index(self.policy)], dtype=np.int64),
            "channels": np.array([i.channel for i in items], dtype=np.int64),
            "scores": np.array([i.score for i in items], dtype=np.float32),
            "shapes": np.array([i.mask.shape for i in items], dtype=np.int64).reshape(-1, 2),
            "crops": np.concatenate([i.crop.reshape(-1) for i in items]) if items else np.zeros(0, np.uint8),
            "masks": np.concatenate([i.mask.reshape(-1) for i in items]).astype(np.uint8) if items
            else np.zeros(0, np.uint8),
            "seen": np.array(sorted(self.seen.items()), dtype=np.int64).reshape(-1, 2),
        }
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, seed: int = 0) -> "InstanceMemory":
        """Inverse of ``to_bytes``; BadFileError for anything that is not such a blob."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in ("format", "channels", "scores", "shapes", "crops", "masks", "seen")}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as err:
            raise BadFileError("instance memory", f"not an FMWISS memory blob ({err})") from None
        version, capacity, policy = (int(v) for v in arrays["format"][:3])
        if version != _FORMAT_VERSION or not 0 <= policy < len(POLICIES):
            raise BadFileError("instance memory", f"unsupported format {version} / policy {policy}")
        shapes = arrays["shapes"]
        sizes = shapes.prod(axis=1) if len(shapes) else np.zeros(0, np.int64)
        if int(sizes.sum()) != arrays["masks"].size or 3 * int(sizes.sum()) != arrays["crops"].size:
            raise BadFileError("instance memory", "crop and mask sizes do not match their shapes")
        memory = cls(capacity, POLICIES[policy], seed)
        pixel = 0
        for (h, w), channel, score in zip(shapes, arrays["channels"], arrays["scores"]):
            n = int(h) * int(w)
            crop = arrays["crops"][3 * pixel:3 * (pixel + n)].reshape(int(h), int(w), 3)
            mask = arrays["masks"][pixel:pixel + n].reshape(int(h), int(w)).astype(bool)
            memory.instances.setdefault(int(channel), []).append(Instance(crop, mask, int(channel), float(score)))
            pixel += n
        memory.seen = {int(c): int(n) for c, n in arrays["seen"]}
        return memory


def _shrink(crop: np.ndarray, mask: np.ndarray, max_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Downscale crop (h×w×3 uint8) and mask (h×w bool) so that max(h, w) ≤ max_side."""
    h, w = mask.shape
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return crop, mask
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    img = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)[None].float()
    img = F.interpolate(img, size=size, mode="bilinear", align_corners=False, antialias=True)
    small = F.interpolate(torch.from_numpy(mask)[None, None].float(), size=size, mode="nearest")
    return (img[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy(), small[0, 0].numpy() > 0.5)


def extract_instances(image: np.ndarray, labels: np.ndarray, confidence: np.ndarray | None,
                      channels: tuple[int, ...], min_area: int = 64, max_side: int = 128) -> list[Instance]:
    """The largest connected component of each of ``channels`` in one image, as instances.

    Args: image H×W×3 uint8; labels H×W channel ids (255 = ignore); confidence H×W in [0, 1] or None
    (= 1); channels: foreground channels to look for; min_area: smallest component kept, in pixels;
    max_side: crops are downscaled to at most this many pixels per side (bounds the blob size).
    """
    found = []
    for channel in channels:
        binary = labels == channel
        if int(binary.sum()) < min_area:
            continue
        components, count = ndimage.label(binary)
        sizes = np.bincount(components.ravel(), minlength=count + 1)
        sizes[0] = 0
        largest = int(sizes.argmax())
        if sizes[largest] < min_area:
            continue
        comp = components == largest
        ys, xs = np.nonzero(comp)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        score = 1.0 if confidence is None else float(np.asarray(confidence)[comp].mean())
        crop, mask = _shrink(image[y0:y1, x0:x1], comp[y0:y1, x0:x1], max_side)
        found.append(Instance(np.ascontiguousarray(crop), np.ascontiguousarray(mask), int(channel), score))
    return found


def collect_instances(memory: InstanceMemory, dataset: Any, class_ids: Sequence[int], channels: Sequence[int],
                      min_area: int = 64, max_side: int = 128, scan_limit: int = 0) -> int:
    """Offer every image's instances of ``channels`` to ``memory``; returns how many were stored.

    Args:
        dataset: indexable raw items (``training.data`` contract: ``image`` H×W×3 uint8, ``mask`` H×W
            uint8 stable class ids, ``confidence`` H×W or None).
        class_ids: stable class id of every model channel (channel 0 = background).
        channels: the foreground channels to collect (e.g. the classes learned in a step).
        scan_limit: scan only the first that many images (0 = all).
    """
    lookup = np.zeros(256, dtype=np.uint8)
    lookup[255] = 255
    for c in channels:
        if not 0 < c < len(class_ids):
            raise ValidationError(f"channel {c} has no class id (the model has {len(class_ids)} channels)")
        lookup[class_ids[c]] = c
    count = len(dataset) if not scan_limit else min(scan_limit, len(dataset))
    stored = 0
    for i in range(count):
        item = dataset[i]
        for inst in extract_instances(np.asarray(item["image"]), lookup[np.asarray(item["mask"])],
                                      item.get("confidence"), tuple(channels), min_area, max_side):
            stored += memory.add(inst)
    return stored
