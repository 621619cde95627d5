"""Label-map helpers shared by the method parts (one home each).

Shapes: labels B×H×W int64 channel ids (0 = background, 255 = ignore); embeddings live at the
decoder resolution h×w = H/s × W/s.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..domain.records import IGNORE_ID


def resize_labels(labels: Tensor, size: tuple[int, int]) -> Tensor:
    """B×H×W int64 labels -> B×h×w by nearest-neighbour sampling (255 kept as is)."""
    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    return F.interpolate(labels[:, None].float(), size=size, mode="nearest")[:, 0].long()


def channel_argmax(scores: Tensor) -> Tensor:
    """B×K×H×W -> B×H×W int64 index of the largest channel (the first one on ties).

    ``max(dim=1).indices``: on CPU, torch's ``argmax`` over a non-innermost dimension of a contiguous
    tensor was ~5× slower (53 ms against 9 ms for 8×7×160×160), the largest cost of the label sources.
    """
    return scores.max(dim=1).indices


def region_fraction(mask: Tensor, size: tuple[int, int]) -> Tensor:
    """B×H×W bool -> B×h×w float in [0, 1]: the share of each h×w cell's pixels inside ``mask``.

    Area pooling, so a cell is 1 only when every pixel it covers is in the mask (unlike nearest
    sampling, which reads one pixel per cell).
    """
    m = mask[:, None].float()
    if tuple(m.shape[-2:]) == tuple(size):
        return m[:, 0]
    return F.adaptive_avg_pool2d(m, size)[:, 0]


def channel_mask(labels: Tensor, channels: Sequence[int]) -> Tensor:
    """B×H×W bool: pixels whose label is one of ``channels`` (an empty list gives all False)."""
    if not channels:
        return torch.zeros_like(labels, dtype=torch.bool)
    return torch.isin(labels, torch.as_tensor(list(channels), device=labels.device, dtype=labels.dtype))


def ignore_rows(labels: Tensor, rows: Tensor) -> Tensor:
    """Labels with every pixel of the B bool ``rows`` set to 255 (a copy; ``labels`` is unchanged)."""
    if not bool(rows.any()):
        return labels
    return torch.where(rows.view(-1, 1, 1).to(labels.device), torch.full_like(labels, IGNORE_ID), labels)
