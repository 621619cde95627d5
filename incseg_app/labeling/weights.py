"""``describe_weights``: what pseudo-labelling will use, in sentences for the UI status panel and CLI.

Reads only the config and the file system (no model is loaded), so it is cheap to call on every
page load.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..domain.config import LabelingConfig
from .clip_scorer import looks_like_file

SAM_TYPES = ("vit_h", "vit_l", "vit_b")


def _file_line(role: str, path: str) -> tuple[bool, str]:
    if not os.path.isfile(path):
        return False, (f"{role}: the configured file {path} does not exist, so pseudo-labelling stops with an error "
                       "until the path is fixed or cleared.")
    size_mb = os.path.getsize(path) / 1e6
    return True, f"{role}: file {Path(path).name} ({size_mb:.1f} MB) at {path}."


def _clip_lines(cfg: LabelingConfig) -> list[str]:
    if not cfg.clip_pretrained:
        return [
            "CLIP: not configured. The weight-free fallback makes pseudo-masks by co-segmenting your tagged set: "
            "regions of the current model's frozen encoder (EfficientNet-Lite0 ImageNet features by default) are "
            "classified by what images tagged with a class share and images without it lack, by the current "
            "model's known classes and by an "
            "objectness prior. Once you accept or correct masks, a small classifier fitted on them (over the encoder's "
            "features and the current model's) relabels the drafts (\"relabel drafts from my corrections\"). "
            "A class tagged on (nearly) every image cannot be localised from tags alone: correct a few of its masks.",
            "To use CLIP: set --clip-model (an open_clip ViT name such as ViT-B-16) and --clip-pretrained to a local "
            "open_clip weights file (.safetensors, .bin or .pt state dict).",
        ]
    if looks_like_file(cfg.clip_pretrained):
        ok, line = _file_line(f"CLIP {cfg.clip_model}", cfg.clip_pretrained)
        return [line + (" Class maps: MaskCLIP dense image–text similarity." if ok else "")]
    return [f"CLIP {cfg.clip_model}: open_clip tag {cfg.clip_pretrained!r}, read from open_clip's local download "
            "cache (this tool never downloads; on an offline machine give a file path instead). Class maps: MaskCLIP "
            "dense image–text similarity."]


def _sam_lines(cfg: LabelingConfig) -> list[str]:
    fallback = ("Regions come from SLIC superpixels (without CLIP: those of the co-segmentation; with CLIP: about "
                f"{cfg.superpixels} per image, each taking the average class map inside it); click-to-refine adds "
                "or removes whole superpixels.")
    if not cfg.sam_checkpoint:
        return [f"SAM: not configured. {fallback}",
                "To use SAM: set --sam-checkpoint to a Segment Anything checkpoint file (.pth state dict or "
                "safetensors) and --sam-model-type to vit_h, vit_l or vit_b to match it."]
    lines = []
    if cfg.sam_model_type not in SAM_TYPES:
        lines.append(f"SAM: model type {cfg.sam_model_type!r} is not one of {', '.join(SAM_TYPES)}; loading will fail.")
    ok, line = _file_line(f"SAM {cfg.sam_model_type}", cfg.sam_checkpoint)
    suffix = " Regions: SAM masks prompted by class-map peaks; click-to-refine uses SAM point prompts."
    return lines + [line + (suffix if ok else "")]


def describe_weights(cfg: LabelingConfig) -> list[str]:
    """Human lines: what CLIP/SAM weights are configured or missing, what the fallback does, how to
    add weights, and the unsure threshold."""
    return _clip_lines(cfg) + _sam_lines(cfg) + [
        f"Pixels whose confidence (the labeller's probability that the label is right) is below "
        f"{cfg.unsure_below:.2f} are left unsure (shown as ignore) for review."]
