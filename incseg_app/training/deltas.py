"""Compact increments: a tensor that an incremental step changed is stored as its parent's value plus a
bfloat16 difference, compressed.

With a frozen backbone an increment changes only the neck and the decoder (18 % of the EfficientNet-
Lite0 model's bytes), and every one of their weights moves, so content addressing alone cannot
share them. What changes is small next to the weight itself: keeping the *difference* in bfloat16
(8 significant bits) puts the rounding error at ≤ 2⁻⁹ of the change, not of the weight (our choice;
docs/benchmarks.md measures that it costs no mIoU). ``round_to_parent`` applies that rounding to the
trained model itself, so the version that is evaluated is bit for bit the version that is stored;
``encode_delta``/``decode_delta`` store a difference with its two bytes split into planes and
zlib-compressed (the sign/exponent plane of small differences compresses well), about a third of
the float32 tensor.

Value of a stored tensor = root (float32) + d₁ + d₂ + … (each dᵢ widened to float32, added in order),
the same arithmetic at save and at load, so reconstruction is exact.
"""
from __future__ import annotations

import json
import zlib
from typing import Mapping

import numpy as np
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import Tensor

ENCODING = "bf16-delta/planes+zlib"
_KEY = "t"


def _delta(value: Tensor, parent: Tensor) -> Tensor | None:
    """bfloat16 difference that turns ``parent`` into (about) ``value``, or None if not applicable."""
    if value.dtype != torch.float32 or parent.dtype != torch.float32 or value.shape != parent.shape:
        return None
    if torch.equal(value, parent):
        return None
    return (value - parent).to(torch.bfloat16)


def round_to_parent(state: Mapping[str, Tensor], parent: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``state`` with every float32 tensor that differs from its same-shaped ``parent`` tensor replaced by
    ``parent + bfloat16(state - parent)``; all other tensors returned unchanged (same objects)."""
    out = dict(state)
    for name, value in state.items():
        base = parent.get(name)
        d = None if base is None else _delta(value.detach().cpu(), base)
        if d is not None:
            out[name] = (base + d.float()).to(value.device)
    return out


def exact_delta(value: Tensor, parent: Tensor) -> Tensor | None:
    """The bfloat16 difference d with ``parent + d == value`` bit for bit, or None (store in full)."""
    d = _delta(value, parent)
    return d if d is not None and torch.equal(parent + d.float(), value) else None


def encode_delta(delta: Tensor) -> bytes:
    """Blob bytes of a bfloat16 difference: safetensors of the zlib-compressed byte planes."""
    planes = delta.contiguous().view(torch.int16).numpy().view(np.uint8).reshape(-1, 2).T.copy()
    packed = torch.frombuffer(bytearray(zlib.compress(planes.tobytes(), 6)), dtype=torch.uint8)
    return save_safetensors({_KEY: packed}, metadata={"encoding": ENCODING, "shape": json.dumps(list(delta.shape))})


def decode_delta(blob: bytes) -> Tensor:
    """The bfloat16 difference of an ``encode_delta`` blob (ValueError when it is not one)."""
    header_len = int.from_bytes(blob[:8], "little")
    meta = json.loads(blob[8:8 + header_len]).get("__metadata__", {})
    if meta.get("encoding") != ENCODING:
        raise ValueError(f"not a {ENCODING} blob")
    shape = [int(s) for s in json.loads(meta["shape"])]
    count = int(np.prod(shape)) if shape else 1
    packed = load_safetensors(blob)[_KEY].numpy().tobytes()
    raw = zlib.decompressobj().decompress(packed, 2 * count + 1)  # bounded: no decompression bomb
    if len(raw) != 2 * count:
        raise ValueError("difference blob has the wrong length")
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(2, count).T.copy()
    return torch.from_numpy(planes.reshape(-1).view(np.int16).copy()).view(torch.bfloat16).reshape(shape)
