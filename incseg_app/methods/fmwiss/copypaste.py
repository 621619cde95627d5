"""FMWISS memory-based copy-paste augmentation (Yu et al., CVPR 2023, Sec. 3.4).

Old classes have no labels in a (weak) incremental step; pasting stored old-class instances into the
step's images, with their labels, reminds the model of them. The part ``fmwiss_copypaste``:

* ``on_step_start`` loads the memory from ``run.carry_in.memory`` (``.npz`` bytes or None);
* ``transform_batch`` pastes, with probability ``prob`` per image, 1..``max_paste`` old-class instances
  (class drawn uniformly among the stored old classes, then an instance uniformly; random scale in
  ``scale_range``, random flip and position) and writes their channel into the labels under the
  pasted mask, confidence 1 and the tag;
* ``on_step_end`` offers the largest connected component of every class learned in this step, per
  training image, to the memory and writes the memory's bytes to ``run.carry_out.memory``.

Choices where the paper is open: instances are the largest connected component per class and image,
the class to paste is drawn uniformly among the stored old classes, and pasted pixels get hard labels
(confidence 1) that the cross-entropy trains on.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ...domain.errors import ValidationError
from ..parts import Batch, Part, StepRun
from .memory import POLICIES, Instance, InstanceMemory, collect_instances

log = logging.getLogger(__name__)


def instance_tensors(inst: Instance, scale: float, flip: bool, device: torch.device | str = "cpu"
                     ) -> tuple[Tensor, Tensor]:
    """An instance resized by ``scale`` (and mirrored): crop 3×h×w float RGB in [0, 1], mask h×w bool."""
    h, w = inst.mask.shape
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    crop = torch.from_numpy(np.ascontiguousarray(inst.crop)).to(device).permute(2, 0, 1)[None].float() / 255.0
    mask = torch.from_numpy(np.ascontiguousarray(inst.mask)).to(device)[None, None].float()
    if size != (h, w):
        crop = F.interpolate(crop, size=size, mode="bilinear", align_corners=False)
        mask = F.interpolate(mask, size=size, mode="nearest")
    crop, mask = crop[0].clamp(0, 1), mask[0, 0] > 0.5
    if flip:
        crop, mask = crop.flip(-1), mask.flip(-1)
    return crop, mask


def paste_instance(image: Tensor, labels: Tensor, confidence: Tensor, crop: Tensor, mask: Tensor, channel: int,
                   top: int, left: int) -> Tensor:
    """Paste one instance in place with its top-left corner at (top, left); parts outside are cut.

    Args: image 3×H×W, labels H×W, confidence H×W (modified in place); crop 3×h×w in the image's
    pixel space; mask h×w bool; channel: the label written under the mask (confidence 1 there).
    Returns the H×W bool mask of the pixels that were overwritten.
    """
    height, width = labels.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + mask.shape[0], height), min(left + mask.shape[1], width)
    pasted = torch.zeros_like(labels, dtype=torch.bool)
    if y1 <= y0 or x1 <= x0:
        return pasted
    m = mask[y0 - top:y1 - top, x0 - left:x1 - left]
    pasted[y0:y1, x0:x1] = m
    region = image[:, y0:y1, x0:x1]
    region[:, m] = crop[:, y0 - top:y1 - top, x0 - left:x1 - left][:, m].to(image.dtype)
    labels[y0:y1, x0:x1][m] = channel
    confidence[y0:y1, x0:x1][m] = 1.0
    return pasted


def load_memory(value: bytes | None, capacity: int, policy: str, seed: int) -> InstanceMemory:
    """``run.carry_in.memory`` (``.npz`` bytes or None) -> a memory of ``capacity`` per class."""
    if value is None:
        return InstanceMemory(capacity, policy, seed)
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise ValidationError(f"the carried FMWISS memory must be bytes, got {type(value).__name__}")
    memory = InstanceMemory.from_bytes(bytes(value), seed)
    memory.policy = policy
    memory.trim(capacity)
    return memory


@dataclass(frozen=True)
class CopyPasteOptions:
    """Options of ``fmwiss_copypaste``."""

    prob: float = 0.5  # per-image paste probability
    max_paste: int = 2  # instances per pasted image (1..max_paste)
    capacity: int = 16  # B, instances kept per class
    policy: str = "reservoir"  # "reservoir" | "best"
    scale_range: tuple[float, ...] = (0.5, 1.5)  # instance resize range
    min_area: int = 64  # smallest stored component, pixels
    max_side: int = 128  # stored crops are shrunk to this side, pixels
    scan_limit: int = 0  # images scanned at step end (0 = all)

    def validate(self) -> None:
        if not 0.0 <= self.prob <= 1.0 or self.max_paste < 1 or len(self.scale_range) != 2 \
                or not 0 < self.scale_range[0] <= self.scale_range[1]:
            raise ValidationError("prob in [0, 1], max_paste >= 1 and 0 < scale_range[0] <= scale_range[1] are required")
        if self.capacity < 1 or self.policy not in POLICIES or self.min_area < 1 or self.max_side < 4 \
                or self.scan_limit < 0:
            raise ValidationError(f"capacity >= 1, policy in {POLICIES}, min_area >= 1, max_side >= 4 and "
                                  "scan_limit >= 0 are required")


class CopyPastePart(Part):
    """Part ``fmwiss_copypaste`` (see the module docstring; options in ``CopyPasteOptions``)."""

    name = "fmwiss_copypaste"
    Options = CopyPasteOptions

    def __init__(self, options: CopyPasteOptions | None = None) -> None:
        super().__init__(options)
        self.memory = InstanceMemory(self.options.capacity, self.options.policy)
        self.pasted = 0  # instances pasted in this step

    def on_step_start(self, run: StepRun) -> None:
        o = self.options
        self.memory = load_memory(run.carry_in.memory, o.capacity, o.policy, run.train.seed)
        self.pasted = 0
        log.info("fmwiss memory: %d instances of classes %s", len(self.memory), list(self.memory.classes))

    def transform_batch(self, batch: Batch, run: StepRun) -> Batch:
        old = set(run.step.old_channels) - {0}
        classes = [c for c in self.memory.classes if c in old]
        o = self.options
        if not classes or o.prob == 0.0:
            return batch
        gen = torch.Generator().manual_seed(run.train.seed * 1_000_003 + run.iteration)
        images, labels, conf, tags = (batch.images.clone(), batch.labels.clone(), batch.confidence.clone(),
                                      batch.tags.clone())
        for b in range(images.shape[0]):
            if float(torch.rand((), generator=gen)) >= o.prob:
                continue
            for _ in range(int(torch.randint(1, o.max_paste + 1, (), generator=gen))):
                channel = classes[int(torch.randint(len(classes), (), generator=gen))]
                self._paste_one(images[b], labels[b], conf[b], channel, gen)
                tags[b, channel] = 1.0
                self.pasted += 1
        return Batch(images, labels, batch.weak, conf, tags, batch.image_ids)

    def _paste_one(self, image: Tensor, labels: Tensor, conf: Tensor, channel: int, gen: torch.Generator) -> None:
        stored = self.memory.get(channel)
        inst = stored[int(torch.randint(len(stored), (), generator=gen))]
        lo, hi = self.options.scale_range
        scale = lo + (hi - lo) * float(torch.rand((), generator=gen))
        height, width = labels.shape
        scale = min(scale, height / inst.mask.shape[0], width / inst.mask.shape[1])  # fit inside the image
        flip = bool(torch.rand((), generator=gen) < 0.5)
        crop, mask = instance_tensors(inst, scale, flip, image.device)
        top = int(torch.randint(height - mask.shape[0] + 1, (), generator=gen))
        left = int(torch.randint(width - mask.shape[1] + 1, (), generator=gen))
        paste_instance(image, labels, conf, crop, mask, channel, top, left)

    def on_step_end(self, run: StepRun) -> None:
        channels = tuple(c for c in run.step.new_channels if c != 0)
        if run.dataset is None or len(run.class_ids) != run.step.num_classes:
            log.warning("fmwiss memory not updated: the step run has no dataset or no channel -> class id map")
        else:
            o = self.options
            stored = collect_instances(self.memory, run.dataset, run.class_ids, channels, o.min_area, o.max_side,
                                       o.scan_limit)
            log.info("fmwiss memory: %d instances stored from %d images, classes %s", stored, len(run.dataset),
                     list(self.memory.classes))
        run.carry_out.memory = self.memory.to_bytes()

    def summary(self) -> dict[str, Any]:
        """Instances pasted in the step and the memory's size per class after it."""
        return {"pasted": self.pasted, "memory": {str(c): len(self.memory.get(c)) for c in self.memory.classes}}
