"""Export-friendly twins of the modules whose forward computes sizes with Python arithmetic.

``torch.onnx.export`` (the TorchScript tracer) records tensor shapes as graph values only while they
flow through integer tensor operations; ``math.ceil``/``max`` on them, as in EfficientNet's dynamic
TF-style "same" padding, or an ``adaptive_avg_pool2d`` whose output size depends on the input, bake
the example input's sizes into the graph, so the exported model is wrong (or fails) at other sizes.
``export_friendly(model)`` returns a deep copy whose modules compute the same function with
shape arithmetic the tracer keeps dynamic:

- ``SamePadConv2d``: the same TF "same" padding, ``ceil(i / s)`` written as ``(i + s - 1) // s``
  and ``max(., 0)`` as a clamp;
- ``PooledFPNFusion``: ``FPNFusion`` whose adaptive average pooling (finer levels pooled to the
  output level's size) is two pooling matrices built from the sizes, P_h · x · P_wᵀ, with
  PyTorch's adaptive-pooling windows [floor(i·n/m), ceil((i+1)·n/m));
- ``TraceableDecoder``: ``ClassTokenDecoder`` that splits pixel tokens from the step-0 class tokens
  by the (static) number of class tokens counted from the end, instead of slicing at h·w, which the
  tracer would freeze.

In eager mode both give the original module's outputs (tested at odd and even sizes).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .decoder import ClassTokenDecoder
from .encoders.base import FPNFusion


def _clamp_min0(value: Tensor | int) -> Tensor | int:
    return value.clamp(min=0) if isinstance(value, Tensor) else max(value, 0)


class SamePadConv2d(nn.Conv2d):
    """``Conv2d`` with TensorFlow "same" padding computed at every call (output size ceil(i / stride))."""

    def forward(self, x: Tensor) -> Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        dh, dw = self.dilation
        oh, ow = (ih + sh - 1) // sh, (iw + sw - 1) // sw
        pad_h = _clamp_min0((oh - 1) * sh + (kh - 1) * dh + 1 - ih)
        pad_w = _clamp_min0((ow - 1) * sw + (kw - 1) * dw + 1 - iw)
        x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _pooling_matrix(n: Tensor | int, m: Tensor | int, like: Tensor) -> Tensor:
    """m×n matrix averaging input positions [floor(i·n/m), ceil((i+1)·n/m)) into output position i."""
    i = torch.arange(m, device=like.device)
    start = (i * n) // m
    end = ((i + 1) * n + m - 1) // m
    j = torch.arange(n, device=like.device)
    inside = (j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])
    return inside.to(like.dtype) / (end - start).to(like.dtype)[:, None]


def adaptive_avg_pool2d(x: Tensor, size: tuple[Tensor | int, Tensor | int]) -> Tensor:
    """``F.adaptive_avg_pool2d(x, size)`` for x B×C×h×w, as P_h · x · P_wᵀ (traceable with dynamic sizes)."""
    rows = _pooling_matrix(x.shape[-2], size[0], x)
    cols = _pooling_matrix(x.shape[-1], size[1], x)
    return torch.matmul(torch.matmul(rows, x), cols.transpose(0, 1))


class PooledFPNFusion(FPNFusion):
    """``FPNFusion`` with traceable adaptive pooling (same arithmetic, same parameters)."""

    def forward(self, feats: list[Tensor]) -> Tensor:
        laterals = [conv(f) for conv, f in zip(self.laterals, feats)]
        fused = laterals[-1]
        for lateral in reversed(laterals[self.out_index:-1]):
            fused = lateral + F.interpolate(fused, size=lateral.shape[-2:], mode="bilinear", align_corners=False)
        size = fused.shape[-2:]
        for lateral in laterals[:self.out_index]:
            fused = fused + adaptive_avg_pool2d(lateral, (size[0], size[1]))
        return self.smooth(fused)


def position_encoding(h: Tensor | int, w: Tensor | int, dim: int, device: torch.device, dtype: torch.dtype
                      ) -> Tensor:
    """``decoder.sincos_position_encoding`` built by concatenation (the original's slice assignments
    would freeze h and w in a traced graph): (h·w)×dim, row-major."""
    quarter = dim // 4
    freqs = 1.0 / (10000.0 ** (torch.arange(quarter, device=device, dtype=torch.float32) / max(quarter, 1)))
    ys = torch.arange(h, device=device, dtype=torch.float32)[:, None] * freqs  # h×q
    xs = torch.arange(w, device=device, dtype=torch.float32)[:, None] * freqs  # w×q
    rows = torch.cat([ys.sin(), ys.cos()], dim=1)[:, None, :].expand(-1, xs.shape[0], -1)  # h×w×2q
    cols = torch.cat([xs.sin(), xs.cos()], dim=1)[None, :, :].expand(ys.shape[0], -1, -1)  # h×w×2q
    parts = [rows, cols]
    if dim > 4 * quarter:
        parts.append(torch.zeros_like(rows[..., :1]).expand(-1, -1, dim - 4 * quarter))
    return torch.cat(parts, dim=2).reshape(-1, dim).to(dtype)


class TraceableDecoder(ClassTokenDecoder):
    """``ClassTokenDecoder.forward`` with the pixel/class split taken from the end of group 0."""

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """features B×C×h×w -> (masks B×K×h×w, pixel_emb B×D×h×w, class_emb B×K×D), as the parent."""
        b, _, h, w = features.shape
        x = self.input_proj(features)
        pixels = x.flatten(2).transpose(1, 2) + position_encoding(h, w, self.embed_dim, x.device, x.dtype)
        k0 = int(self.token_groups[0].shape[0])
        groups = [torch.cat([pixels, self.token_groups[0].expand(b, -1, -1)], dim=1)]
        groups += [tok.expand(b, -1, -1) for tok in list(self.token_groups)[1:]]
        for layer in self.layers:
            groups = layer(groups)
        pixel_emb = F.normalize(self.pixel_head(self.pixel_norm(groups[0][:, :-k0])), dim=-1)  # B×N×D
        groups[0] = groups[0][:, -k0:]
        scale = self._scale()
        class_embs, masks = [], []
        for g, bias in zip(groups, self.bias_groups):
            c = F.normalize(self.class_head(self.class_norm(g)), dim=-1)  # B×K_s×D
            class_embs.append(c)
            masks.append(torch.einsum("bkd,bnd->bkn", c, pixel_emb) * scale + bias[None, :, None])
        masks_t = torch.cat(masks, dim=1).reshape(b, -1, h, w)
        pixel_map = pixel_emb.transpose(1, 2).reshape(b, self.embed_dim, h, w)
        return masks_t, pixel_map, torch.cat(class_embs, dim=1)


def _is_dynamic_same_pad(module: nn.Module) -> bool:
    """EfficientNet's ``Conv2dDynamicSamePadding`` (matched by name: the package is imported lazily)."""
    return isinstance(module, nn.Conv2d) and type(module).__name__ == "Conv2dDynamicSamePadding"


def export_friendly(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` (eval mode) whose same-padding convolutions, FPN fusions and decoder are
    the traceable twins above; parameters and buffers are copied unchanged."""
    twin = copy.deepcopy(model).eval()
    for module in twin.modules():
        if _is_dynamic_same_pad(module):
            module.__class__ = SamePadConv2d
        elif type(module) is FPNFusion:
            module.__class__ = PooledFPNFusion
        elif type(module) is ClassTokenDecoder:
            module.__class__ = TraceableDecoder
    return twin


ONNX_OPSET = 17  # LayerNormalization is a native op from 17 on; scaled_dot_product_attention needs >= 14


class LogitsOnly(nn.Module):
    """``model(images).logits``: the one output an exported graph needs (B×K×H×W for B×3×H×W in [0, 1])."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: Tensor) -> Tensor:
        return self.model(images).logits


def export_onnx(model: nn.Module, path: str, opset: int = ONNX_OPSET, example_hw: tuple[int, int] = (160, 224)
                ) -> None:
    """Write ``model``'s logits as an ONNX graph with dynamic batch, height and width.

    Input ``images`` B×3×H×W float32 RGB in [0, 1] (normalisation is inside the graph); output
    ``logits`` B×K×H×W. Traced through ``export_friendly`` on the CPU in float32.
    """
    import warnings

    twin = LogitsOnly(export_friendly(model).cpu().float()).eval()
    example = torch.rand(1, 3, *example_hw)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and exporter chatter; the check below is the real test
        torch.onnx.export(twin, (example,), path, dynamo=False, opset_version=opset, input_names=["images"],
                          output_names=["logits"], do_constant_folding=True,
                          dynamic_axes={"images": {0: "batch", 2: "height", 3: "width"},
                                        "logits": {0: "batch", 2: "height", 3: "width"}})


def compare_onnx(model: nn.Module, path: str, sizes: list[tuple[int, int]], seed: int = 0, threads: int = 2
                 ) -> list[dict[str, float | list[int]]]:
    """Run ``model`` (PyTorch, CPU float32) and the ONNX graph at ``path`` (onnxruntime) on the same
    random images of each H×W in ``sizes``; per size: the largest absolute logit difference and the
    fraction of pixels whose argmax channel agrees."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    reference = LogitsOnly(model).cpu().float().eval()
    generator = torch.Generator().manual_seed(seed)
    results = []
    for h, w in sizes:
        x = torch.rand(1, 3, h, w, generator=generator)
        with torch.no_grad():
            expected = reference(x)
        got = torch.from_numpy(session.run(["logits"], {"images": x.numpy()})[0])
        if got.shape != expected.shape:
            raise ValueError(f"ONNX logits have shape {tuple(got.shape)} at {h}x{w}, PyTorch {tuple(expected.shape)}")
        results.append({"size": [h, w], "max_abs_diff": float((got - expected).abs().max()),
                        "argmax_agreement": float((got.argmax(1) == expected.argmax(1)).float().mean())})
    return results
