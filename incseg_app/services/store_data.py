"""Training and evaluation data read from the store, and trained models loaded from versions.

``StoreDataset`` decodes images and masks lazily from the blob store, so a step over thousands of
images does not hold them all in memory; its items are what ``training.data`` expects.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..domain.enums import MaskKind, ReviewStatus, Split
from ..domain.errors import NotFoundError, ValidationError
from ..domain.records import ImageRecord, MaskRevision, ModelVersion
from ..storage.chunks import paused_gc
from ..storage.repositories import ImageRepo
from .context import AppContext
from .imageio import decode_mask, decode_rgb

if TYPE_CHECKING:  # torch is imported only when a model is loaded: planning a step needs none
    from torch import nn

    from ..training.checkpoint import Checkpoint

TRAINABLE = (ReviewStatus.ACCEPTED,)
WITH_PSEUDO = (ReviewStatus.ACCEPTED, ReviewStatus.TO_REVIEW)


@dataclass(frozen=True)
class Entry:
    """One (image, head mask) pair the store can serve."""

    image: ImageRecord
    mask: MaskRevision
    tag_ids: tuple[int, ...]

    @property
    def weak(self) -> bool:
        """Pseudo-masks come from image-level tags only (FMWISS's weak supervision)."""
        return self.mask.kind == MaskKind.PSEUDO


class StoreDataset:
    """Indexable dataset of store entries: dict(image H×W×3 uint8, mask H×W uint8 class ids, tags,
    weak, confidence, image_id, image_key = the image blob's hash).

    ``confidence`` is the stored H×W float32 map in [0, 1] (the probability that each pixel's label is
    right) for a pseudo-mask still waiting for review, which FMWISS's losses weight pixels by; None
    (= 1 everywhere) for ground truth, corrected masks and pseudo-masks a reviewer accepted."""

    def __init__(self, ctx: AppContext, entries: list[Entry]) -> None:
        self.ctx = ctx
        self.entries = entries

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> dict[str, Any]:
        e = self.entries[index]
        limits = self.ctx.settings
        image = decode_rgb(self.ctx.blobs.get_bytes(e.image.sha256), e.image.original_name,
                           limits.max_file_bytes, limits.max_pixels)
        mask = decode_mask(self.ctx.blobs.get_bytes(e.mask.sha256), f"mask {e.mask.id}",
                           limits.max_file_bytes, limits.max_pixels)
        confidence = None
        if e.mask.status == ReviewStatus.TO_REVIEW and e.mask.confidence_sha256:
            data = self.ctx.blobs.get_bytes(e.mask.confidence_sha256)
            confidence = decode_mask(data, f"confidence of mask {e.mask.id}", limits.max_file_bytes,
                                     limits.max_pixels).astype(np.float32) / 255.0
        return {"image": image, "mask": mask, "tags": e.tag_ids, "weak": e.weak, "confidence": confidence,
                "image_id": e.image.id, "image_key": e.image.sha256}


def labelled_entries(ctx: AppContext, split: Split, include_pseudo: bool) -> list[Entry]:
    """Images of ``split`` whose head mask is accepted (ground truth, corrected, accepted pseudo),
    plus pseudo-masks still waiting for review when ``include_pseudo``; rejected masks never."""
    statuses = WITH_PSEUDO if include_pseudo else TRAINABLE
    with ctx.unit_of_work() as s, paused_gc():  # set-based: two queries whatever the number of images
        return [Entry(image, mask, tag_ids) for mask, image, tag_ids in ImageRepo(s).labelled(split, statuses)]


_CACHE: "OrderedDict[str, tuple[nn.Module, Checkpoint]]" = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 2


def load_version_model(ctx: AppContext, version: ModelVersion) -> tuple[nn.Module, Checkpoint]:
    """The eval-mode model of a READY version (small in-process LRU cache keyed by checkpoint hash)."""
    from ..training.checkpoint import build_from_checkpoint, load_checkpoint

    if not version.checkpoint_sha256:
        raise NotFoundError(f"version {version.id} ({version.name}) has no checkpoint")
    key = version.checkpoint_sha256
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    ckpt = load_checkpoint(ctx.blobs, key)
    if tuple(ckpt.class_ids) != tuple(version.class_ids):
        raise ValidationError(f"version {version.id}: checkpoint class list {ckpt.class_ids} differs from "
                              f"the version's {version.class_ids}")
    model = build_from_checkpoint(ckpt).eval()
    with _CACHE_LOCK:
        _CACHE[key] = (model, ckpt)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return model, ckpt


def mask_array(ctx: AppContext, mask: MaskRevision) -> np.ndarray:
    """H×W uint8 class ids of a mask revision."""
    limits = ctx.settings
    return decode_mask(ctx.blobs.get_bytes(mask.sha256), f"mask {mask.id}", limits.max_file_bytes, limits.max_pixels)
