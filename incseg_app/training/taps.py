"""Backbone taps of image views, computed once and served from a ``FeatureCache``.

``TapSource`` wraps the frozen backbone of a model: ``view_taps(item, view)`` returns the taps of one
image view (per stride s_i a C_i×(ceil(h/m)·m/s_i)×(ceil(w/m)·m/s_i) tensor of the h×w view, which the
backbone pads to a multiple m of its coarsest stride; ``models.encoders.base``), from the cache
when an entry with the same encoder weights, image content and view exists, else by running the
backbone once (eval mode, no gradient) and storing the result. Training crops them in feature space
(``views.crop_taps``); evaluation, prediction and pseudo-labelling use whole views
(``predict_logits_cached``).

Keys: ``encoder_fingerprint`` hashes every backbone tensor (weights and BatchNorm statistics, not
the trainable neck), so a changed encoder never hits an old entry; ``image_key`` is the item's
``image_key`` (the store's blob hash) or a hash of its pixels.
"""
from __future__ import annotations

import contextlib
import hashlib
import math
from typing import Any, Iterator, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from .data import pixel_key
from .featcache import FeatureCache
from .views import View, render_view


def encoder_fingerprint(encoder: nn.Module) -> str:
    """sha256 of the backbone half of ``encoder``: class, tap strides, and every tensor's name, dtype,
    shape and bytes (``Encoder.backbone_state``)."""
    digest = hashlib.sha256(f"{type(encoder).__qualname__}/{tuple(encoder.tap_strides)}".encode())
    for name, tensor in sorted(encoder.backbone_state().items()):
        t = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def image_key(item: Mapping[str, Any]) -> str:
    """Content key of a raw item's image: its ``image_key`` when set, else ``data.pixel_key`` of its pixels."""
    key = item.get("image_key")
    return str(key) if key else pixel_key(np.asarray(item["image"]))


def entry_key(fingerprint: str, img_key: str, view: View) -> str:
    """Cache key of one (encoder, image, view)."""
    return hashlib.sha256(f"{fingerprint}|{img_key}|{view.key}".encode()).hexdigest()[:40]


@contextlib.contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    """Every submodule in eval mode inside the block, its own previous mode restored after."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


class TapSource:
    """Taps of image views from ``model``'s backbone (which must stay frozen) through ``cache``.

    Args:
        model: a ``Segmenter`` (its ``encoder`` is used; ``encoder.backbone`` is never trained here).
        cache: where taps are kept; None recomputes a view's taps at every request (float32, nothing
            stored: the same training as with a cache, at the backbone's cost per sample).
        device: where the backbone runs; returned taps are CPU tensors in the cache's precision.
        amp: bf16 autocast when ``device`` is CUDA.
    """

    def __init__(self, model: nn.Module, cache: FeatureCache | None, device: torch.device, amp: bool = True) -> None:
        self.encoder = model.encoder
        self.cache, self.device, self.amp = cache, torch.device(device), amp
        self.strides = tuple(int(s) for s in self.encoder.tap_strides)
        self.fingerprint = encoder_fingerprint(self.encoder)
        self.computed = 0  # views encoded by this source (cache misses)
        self._channels: tuple[int, ...] | None = None

    @property
    def align(self) -> int:
        """Crop alignment that keeps every tap stride on the pixel grid (the coarsest stride)."""
        return max(self.strides)

    def check_unchanged(self) -> None:
        """Raise when the backbone's tensors changed since this source was made (its cache would be stale)."""
        if encoder_fingerprint(self.encoder) != self.fingerprint:
            raise RuntimeError("the backbone changed while its taps were cached; a cached step needs a frozen "
                               "backbone (encoder_lr_mult = 0)")

    def _valid(self, taps: list[Tensor], height: int, width: int) -> bool:
        if len(taps) != len(self.strides):
            return False
        m = self.encoder.pad_multiple  # the backbone pads its input to a multiple of m
        for tap, s in zip(taps, self.strides):
            if tap.dim() != 3 or tuple(tap.shape[1:]) != (math.ceil(height / m) * m // s, math.ceil(width / m) * m // s):
                return False
        return self._channels is None or tuple(int(t.shape[0]) for t in taps) == self._channels

    @torch.no_grad()
    def encode(self, image: np.ndarray | Tensor, view: View) -> list[Tensor]:
        """Run the backbone on one view of an H×W×3 uint8 image (no cache): C_i×h_i×w_i float32 CPU taps."""
        x = torch.tensor(np.asarray(image)).permute(2, 0, 1)[None].float().div_(255.0).to(self.device)
        x = render_view(x, view)
        autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if self.device.type == "cuda" and self.amp
                    else contextlib.nullcontext())
        with _eval_mode(self.encoder), autocast:
            taps = self.encoder.backbone(x)
        return [t[0].float().cpu() for t in taps]

    def view_taps(self, item: Mapping[str, Any], view: View) -> list[Tensor]:
        """Taps of ``view`` of a raw item's image (cached, unless the source has no cache); per stride
        s_i a C_i×(ceil(h/m)·m/s_i)×(ceil(w/m)·m/s_i) tensor, h×w = ``view.size(H, W)``, m = the
        backbone's ``pad_multiple``. Do not modify the returned tensors (they are shared)."""
        if self.cache is None:
            self.computed += 1
            return self.encode(item["image"], view)
        height, width = view.size(*np.asarray(item["image"]).shape[:2])
        key = entry_key(self.fingerprint, image_key(item), view)
        taps = self.cache.get(key)
        if taps is not None and self._valid(taps, height, width):
            return taps
        if taps is not None:  # a file of the right key but the wrong shape: never trust it
            self.cache.discard(key)
        computed = self.encode(item["image"], view)
        self._channels = tuple(int(t.shape[0]) for t in computed)
        self.computed += 1
        return self.cache.put(key, computed)


@torch.no_grad()
def predict_logits_cached(model: nn.Module, source: TapSource, item: Mapping[str, Any], view: View) -> Tensor:
    """K×H×W float32 CPU logits of a raw item's image, computed from the cached taps of ``view``
    (neck + decoder only) and resized to the image's H×W: ``evaluate.predict_logits`` without the backbone.

    ``model`` must share ``source``'s backbone weights (e.g. the model the source was made from, or
    any version grown from it with the backbone frozen).
    """
    height, width = np.asarray(item["image"]).shape[:2]
    taps = [t[None].to(source.device, torch.float32) for t in source.view_taps(item, view)]
    size = view.size(height, width)
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if source.device.type == "cuda" and source.amp
                else contextlib.nullcontext())
    with autocast:
        logits = model.forward_taps(taps, size).logits.float()
    if view.flip:
        logits = logits.flip(-1)
    if tuple(logits.shape[-2:]) != (height, width):
        logits = torch.nn.functional.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)
    return logits[0].cpu()
