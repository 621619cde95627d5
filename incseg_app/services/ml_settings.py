"""Machine-learning settings of a running app: model shape, training defaults, weight locations.

They come from CLI options or the environment (``INCSEG_ENCODER``, ``INCSEG_CLIP_MODEL``,
``INCSEG_CLIP_PRETRAINED``, ``INCSEG_SAM_CHECKPOINT``, ``INCSEG_SAM_MODEL_TYPE``, ``INCSEG_DEVICE``,
``INCSEG_COMPILE``: a ``torch.compile`` backend for training, e.g. "inductor" on a GPU,
``INCSEG_ALLOW_DOWNLOAD``) and are saved, resolved, into every version's config JSON. ``--clip-model``
and ``--clip-pretrained`` reach both the segmentation encoder (``openclip_vit``) and the pseudo-labeller's
CLIP scorer.

Nothing is downloaded unless the user says so: an open_clip *tag* as ``--clip-pretrained`` (rather
than a weights file) makes open_clip fetch the weights from the internet, so it is refused unless
``--allow-download`` / ``INCSEG_ALLOW_DOWNLOAD=1`` is given, and then a warning says what will be
fetched.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace

from ..domain.config import LabelingConfig, ModelConfig, TrainConfig, from_dict, looks_like_file, to_dict
from ..domain.errors import ValidationError, WeightsUnavailableError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MLSettings:
    """Defaults for new base versions (``model``), steps (``train``) and pseudo-labelling (``labeling``).

    ``eval_max_side``: validation images are resized so their longer side is at most this (pixels).
    ``max_fit_images``: the weight-free labeller fits on at most this many tagged images (plus every
    reviewed one), which bounds its memory (about 0.4 MB of region statistics per image).
    ``feature_cache_*_mb``: bounds of the store's cache of frozen-backbone taps (``services.features``).
    ``cpu_freezes_backbone``: a step that runs on a CPU keeps the pretrained backbone frozen
    (``encoder_lr_mult`` 0, the CPU recipe of docs/benchmarks.md); on a GPU ``train`` applies as is.
    """

    model: ModelConfig = field(default_factory=lambda: ModelConfig(output_stride=16))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=8, batch_size=8, crop_size=256))
    labeling: LabelingConfig = field(default_factory=LabelingConfig)
    eval_max_side: int = 512
    max_fit_images: int = 1000  # tagged images the weight-free labeller fits on (seeded random sample)
    feature_cache_memory_mb: int = 1024
    feature_cache_disk_mb: int = 8192
    cpu_freezes_backbone: bool = True  # on a CPU, steps train neck + decoder from cached backbone taps
    allow_download: bool = False  # let open_clip fetch the weights of a pretrained *tag*

    @classmethod
    def from_env(cls, **overrides: str | None) -> "MLSettings":
        """Settings from ``INCSEG_*`` variables; non-empty keyword overrides win (CLI options)."""
        def pick(key: str, env: str) -> str | None:
            value = overrides.get(key)
            return value if value not in (None, "") else os.environ.get(env)

        base = cls()
        model, labeling, train = base.model, base.labeling, base.train
        if encoder := pick("encoder", "INCSEG_ENCODER"):
            model = from_dict(ModelConfig, {**to_dict(model), "encoder": encoder})
        if clip_model := pick("clip_model", "INCSEG_CLIP_MODEL"):
            model = replace(model, clip_model=clip_model)
            labeling = replace(labeling, clip_model=clip_model)
        if clip_pretrained := pick("clip_pretrained", "INCSEG_CLIP_PRETRAINED"):
            model = replace(model, clip_pretrained=clip_pretrained)
            labeling = replace(labeling, clip_pretrained=clip_pretrained)
        if sam := pick("sam_checkpoint", "INCSEG_SAM_CHECKPOINT"):
            labeling = replace(labeling, sam_checkpoint=sam)
        if sam_type := pick("sam_model_type", "INCSEG_SAM_MODEL_TYPE"):
            labeling = from_dict(LabelingConfig, {**to_dict(labeling), "sam_model_type": sam_type})
        if device := pick("device", "INCSEG_DEVICE"):
            train = replace(train, device=device)
        if backend := pick("compile", "INCSEG_COMPILE"):
            train = replace(train, compile=backend)
        allow = (pick("allow_download", "INCSEG_ALLOW_DOWNLOAD") or "").strip().lower() in ("1", "true", "yes")
        check_downloads(labeling, allow)
        return replace(base, model=model, labeling=labeling, train=train, allow_download=allow)


def check_downloads(labeling: LabelingConfig, allow: bool) -> None:
    """ValidationError when a CLIP *tag* would make open_clip download weights without ``allow``;
    with it, a warning saying what will be downloaded."""
    tag = labeling.clip_pretrained
    if not tag or looks_like_file(tag):
        return
    what = (f"open_clip would download the {labeling.clip_model} weights published under the tag {tag!r} "
            "(hundreds of MB, from the Hugging Face hub or the tag's URL) into its cache (~/.cache)")
    if not allow:
        raise ValidationError(f"--clip-pretrained {tag!r} is an open_clip tag, not a weights file: {what}. incseg "
                              "downloads nothing unless told to: give a local weights file (.safetensors, .bin, "
                              ".pt), or pass --allow-download (INCSEG_ALLOW_DOWNLOAD=1) to allow this download")
    log.warning("downloads allowed: %s, unless they are cached already", what)


def check_encoder_weights(cfg: ModelConfig) -> None:
    """Refuse a new model whose configured encoder weights cannot load, before any work starts.

    Reads only the config and the file system (the load itself, in ``models.build``, raises the same
    error for a file that exists but is not a valid checkpoint).

    Raises:
        WeightsUnavailableError: ``openclip_vit`` without ``clip_pretrained``, or a weights path that is not a file.
    """
    if cfg.encoder != "openclip_vit" or not cfg.pretrained:
        return
    source = cfg.clip_pretrained
    if not source:
        raise WeightsUnavailableError(
            f"the openclip_vit encoder ({cfg.clip_model}) is configured without weights: set --clip-pretrained "
            "(or $INCSEG_CLIP_PRETRAINED) to an open_clip weights file, or use the efficientnet_lite0 encoder")
    looks_like_path = os.sep in source or "/" in source or os.path.splitext(source)[1] != ""
    if looks_like_path and not os.path.isfile(source):
        raise WeightsUnavailableError(f"the openclip_vit encoder's weights file {source} does not exist; fix "
                                      "--clip-pretrained (or $INCSEG_CLIP_PRETRAINED)")


TINY_MODEL = ModelConfig(encoder="tiny", pretrained=False, embed_dim=32, decoder_heads=4, decoder_layers=1)


def tiny_settings() -> MLSettings:
    """Settings for tests and the CI browser run: the tiny random encoder (trained, since a frozen random
    backbone carries little signal) and short schedules."""
    return MLSettings(model=TINY_MODEL, train=TrainConfig(epochs=2, batch_size=2, crop_size=64, lr=5e-3),
                      eval_max_side=96, max_fit_images=200, cpu_freezes_backbone=False)
