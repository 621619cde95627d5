"""A small random-initialised conv encoder for tests and smoke runs (milliseconds on 64×64)."""
from __future__ import annotations

from torch import Tensor, nn

from .base import IMAGENET_MEAN, IMAGENET_STD, Encoder, FPNFusion

_WIDTHS = (8, 16, 24, 32, 48)  # one stride-2 stage each: strides 2, 4, 8, 16, 32


def _stage(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class TinyEncoder(Encoder):
    """Five stride-2 conv stages; the stride-8/16/32 outputs are FPN-fused to ``output_stride``.

    Input B×3×H×W in [0, 1]; output B×``out_channels``×ceil(H/s)×ceil(W/s), s = ``output_stride``.
    """

    def __init__(self, out_channels: int = 32, output_stride: int = 8) -> None:
        super().__init__(out_channels, output_stride, IMAGENET_MEAN, IMAGENET_STD)
        self.tap_strides = (8, 16, 32)
        widths = (3,) + _WIDTHS
        self.stages = nn.ModuleList(_stage(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.fusion = FPNFusion(_WIDTHS[2:], (8, 16, 32), out_channels, output_stride)

    def backbone(self, images: Tensor) -> list[Tensor]:
        """B×3×H×W -> taps of 24, 32 and 48 channels at strides 8, 16, 32 (of the padded image)."""
        x = self.normalize(self.pad_input(images))
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats[2:]
