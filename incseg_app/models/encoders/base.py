"""The encoder contract shared by every backbone, and the FPN-style fusion of multi-scale features.

Every encoder takes RGB images B×3×H×W with values in [0, 1] (it applies its own mean/std
normalisation) and returns one fused feature map B×C×h×w, h = ceil(H / stride), where
``C = out_channels`` and ``stride`` is 8 or 16 (the ViT encoder: its patch size).

An encoder is two halves: the *backbone* (pretrained, frozen on CPU) maps images to a list of
*taps*, feature maps at ``tap_strides``, and the *neck* (randomly initialised, always trained) fuses
the taps into one map. ``forward = crop ∘ neck ∘ backbone``. The split lets the training engine
compute a frozen backbone's taps once per image view and train the neck and decoder from them
(``training.taps``).

The backbone first pads the image on the bottom and right to a multiple of ``pad_multiple`` (its
coarsest stride; black for the CNNs). Why: with TensorFlow "same" padding (EfficientNet), a stride-2
convolution pads an even input on one side and an odd input on both, so the feature grid of an image
whose size is not a multiple of 32 is shifted by half a cell against the grid of a 32-aligned crop of
it. After padding every intermediate size is even, feature i at stride s always covers pixels
``[i·s, (i+1)·s)``, and a stride-aligned crop of whole-image taps lines up with the crop's pixels and
labels. Tap i then has ``ceil(H/m)·m / s_i`` rows (m = ``pad_multiple``); ``forward`` and the
segmenter crop the fused map back to ``ceil(H / stride)``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...domain.errors import ValidationError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Encoder(nn.Module):
    """Base class of the backbones in ``ENCODER_BUILDERS``.

    Attributes:
        out_channels: C, channels of the fused feature map.
        stride: input pixels per feature pixel (8 or 16; a ViT's patch size).
        tap_strides: stride of each backbone tap, finest first.
    """

    out_channels: int
    stride: int
    tap_strides: tuple[int, ...]

    def __init__(self, out_channels: int, stride: int, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.stride = stride
        # Not persistent: normalisation constants belong to the architecture, not to a checkpoint.
        self.register_buffer("pixel_mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def normalize(self, images: Tensor) -> Tensor:
        """B×3×H×W in [0, 1] -> B×3×H×W standardised with the backbone's mean and std."""
        return (images - self.pixel_mean) / self.pixel_std

    @property
    def pad_multiple(self) -> int:
        """m: the backbone pads its input to a multiple of this (the coarsest tap stride)."""
        return max(self.tap_strides)

    def pad_input(self, images: Tensor) -> Tensor:
        """B×3×H×W -> B×3×(ceil(H/m)·m)×(ceil(W/m)·m), zeros added on the bottom and right.

        Written with integer operators only, so that ``torch.onnx.export``'s tracer keeps the sizes
        dynamic (``models.onnx_compat``)."""
        m = self.pad_multiple
        ph, pw = (m - images.shape[-2] % m) % m, (m - images.shape[-1] % m) % m
        if torch.jit.is_tracing():
            return F.pad(images, (0, pw, 0, ph))
        return F.pad(images, (0, pw, 0, ph)) if ph or pw else images

    def backbone(self, images: Tensor) -> list[Tensor]:
        """B×3×H×W in [0, 1] -> one B×C_i×(ceil(H/m)·m/s_i)×(ceil(W/m)·m/s_i) map per stride s_i of
        ``tap_strides`` (m = ``pad_multiple``)."""
        raise NotImplementedError

    def neck(self, taps: Sequence[Tensor]) -> Tensor:
        """The taps of ``backbone`` -> fused B×C×h×w (the modules under ``neck_module``)."""
        return self.fusion(taps)

    @property
    def neck_module(self) -> nn.Module | None:
        """The trainable neck (None when the taps are the features, as for the ViT)."""
        return getattr(self, "fusion", None)

    def backbone_state(self) -> dict[str, Tensor]:
        """State tensors of the backbone half only (what a cache of its taps depends on)."""
        neck = self.neck_module
        prefixes = tuple(f"{name}." for name, m in self.named_children() if m is neck)
        return {k: v for k, v in self.state_dict().items() if not (prefixes and k.startswith(prefixes))}

    def forward(self, images: Tensor) -> Tensor:
        """B×3×H×W in [0, 1] -> fused B×C×ceil(H/stride)×ceil(W/stride)."""
        s = self.stride
        h, w = (images.shape[-2] + s - 1) // s, (images.shape[-1] + s - 1) // s
        return self.neck(self.backbone(images))[..., :h, :w]


def _group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(channels, 8), channels)


class FPNFusion(nn.Module):
    """Fuse feature maps of strides e.g. (8, 16, 32) into one map at ``out_stride``.

    Feature Pyramid Network fusion (Lin et al., CVPR 2017, Sec. 3): 1×1 lateral projections to C
    channels, a top-down pathway (coarser level upsampled and added) down to the output level,
    then levels finer than the output level average-pooled and added, followed by a 3×3
    conv + GroupNorm + ReLU. GroupNorm keeps the result independent of the batch size.

    Args:
        in_channels: channels of each input level, finest first.
        in_strides: stride of each input level, finest first (increasing).
        out_channels: C of the fused map.
        out_stride: one of ``in_strides``; the fused map has that level's size.
    """

    def __init__(self, in_channels: Sequence[int], in_strides: Sequence[int], out_channels: int,
                 out_stride: int) -> None:
        super().__init__()
        if out_stride not in in_strides:
            raise ValidationError(f"output stride {out_stride} is not one of the feature strides {tuple(in_strides)}")
        self.out_index = list(in_strides).index(out_stride)
        self.laterals = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in in_channels)
        self.smooth = nn.Sequential(
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            _group_norm(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        """feats: B×C_i×h_i×w_i per level, finest first -> B×C×h×w at the output level's size."""
        laterals = [conv(f) for conv, f in zip(self.laterals, feats)]
        fused = laterals[-1]
        for lateral in reversed(laterals[self.out_index:-1]):
            fused = lateral + F.interpolate(fused, size=lateral.shape[-2:], mode="bilinear", align_corners=False)
        size = fused.shape[-2:]
        for lateral in laterals[:self.out_index]:
            fused = fused + F.adaptive_avg_pool2d(lateral, size)
        return self.smooth(fused)
