"""Bilinear upsampling by an integer factor as two small matrix products (the logits' last layer).

``F.interpolate(x, scale, mode="bilinear", align_corners=False)`` is a separable linear map:
y = U_h · x · U_wᵀ with U_n the (n·s)×n matrix of 1-D linear interpolation. On a CPU its backward
pass is slow (a scatter over every output pixel); the two matrix products compute the same values
(to float rounding: ≤ 5e-7 apart on unit-scale logits) in about a third of the time forward and
backward (one CPU thread, 8×11×12×12 -> 192×192: 5 ms against 14–17 ms), which matters
because a training step upsamples the current and the old model's K×h×w masks to every crop pixel.
Under ``torch.onnx.export`` the model keeps ``F.interpolate`` (sizes there are traced values).
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor


@functools.lru_cache(maxsize=64)
def interpolation_matrix(n: int, factor: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """(n·factor)×n matrix of 1-D linear interpolation with ``align_corners=False`` (rows sum to 1).

    Built by interpolating the identity, so it is exactly ``F.interpolate``'s arithmetic.
    """
    eye = torch.eye(n, dtype=torch.float64).view(n, 1, n)
    rows = F.interpolate(eye, size=n * factor, mode="linear", align_corners=False)[:, 0, :].T
    return rows.to(device=device, dtype=dtype).contiguous()


def upsample_bilinear(x: Tensor, factor: int) -> Tensor:
    """x B×K×h×w -> B×K×(h·factor)×(w·factor), equal to ``F.interpolate(x, size=(h·factor, w·factor),
    mode="bilinear", align_corners=False)``."""
    h, w = x.shape[-2:]
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or factor == 1:
        return F.interpolate(x, size=(h * factor, w * factor), mode="bilinear", align_corners=False)
    rows = interpolation_matrix(int(h), factor, x.device, x.dtype)
    cols = interpolation_matrix(int(w), factor, x.device, x.dtype)
    # one small product per (image, channel), so an image's logits do not depend on which images share
    # its batch (a single folded product may round differently with the batch size; data-parallel ranks
    # see half batches, ``tests/unit/test_ddp.py``)
    lead = x.shape[:-2]
    flat = x.reshape(-1, int(h), int(w))
    n = flat.shape[0]
    out = torch.bmm(torch.bmm(rows.expand(n, -1, -1), flat), cols.T.expand(n, -1, -1))
    return out.reshape(*lead, out.shape[-2], out.shape[-1])
