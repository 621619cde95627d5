"""CLIP / SAM weight locations saved with the store, so the web UI can set them and every process that
opens the store (the server, the CLI, a job) uses them.

Precedence: a value given on the command line or in the environment (``--clip-pretrained``,
``INCSEG_CLIP_PRETRAINED`` …) wins; the store's saved value fills a setting left empty; else the
fallback runs. Paths are checked when they are saved (the file exists and has a weight-file suffix,
the SAM model type is known), never loaded in the request.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

from ..domain.config import LabelingConfig
from ..domain.errors import ValidationError
from ..storage.repositories import SettingsRepo
from .context import AppContext

log = logging.getLogger(__name__)

PREFIX = "weights."
FIELDS = ("clip_model", "clip_pretrained", "sam_checkpoint", "sam_model_type")
SAM_TYPES = ("vit_b", "vit_l", "vit_h")
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")


@dataclass(frozen=True)
class WeightPaths:
    """What the weights panel edits; empty strings mean "not set" (the fallback runs)."""

    clip_model: str = "ViT-B-16"
    clip_pretrained: str = ""
    sam_checkpoint: str = ""
    sam_model_type: str = "vit_b"


def _check_file(role: str, path: str) -> str:
    if not path:
        return ""
    p = Path(path).expanduser()
    if not p.is_absolute():
        raise ValidationError(f"{role}: give the absolute path of the file on the server, got {path!r}")
    if not p.is_file():
        raise ValidationError(f"{role}: {p} is not a file on the server")
    if p.suffix.lower() not in WEIGHT_SUFFIXES:
        raise ValidationError(f"{role}: {p.name} is not a weights file ({', '.join(WEIGHT_SUFFIXES)})")
    if not os.access(p, os.R_OK) or p.stat().st_size == 0:
        raise ValidationError(f"{role}: {p} is empty or cannot be read")
    return str(p)


def validate(paths: WeightPaths) -> WeightPaths:
    """Checked, normalised paths (ValidationError naming the first problem)."""
    if paths.sam_model_type not in SAM_TYPES:
        raise ValidationError(f"SAM model type must be one of {', '.join(SAM_TYPES)}, got {paths.sam_model_type!r}")
    if paths.clip_pretrained and not paths.clip_model.strip():
        raise ValidationError("name the open_clip architecture of the CLIP weights (e.g. ViT-B-16)")
    return replace(paths, clip_model=paths.clip_model.strip(),
                   clip_pretrained=_check_file("CLIP weights", paths.clip_pretrained.strip()),
                   sam_checkpoint=_check_file("SAM checkpoint", paths.sam_checkpoint.strip()))


def stored_weights(ctx: AppContext) -> dict[str, str]:
    """The values saved with the store (only the ones set)."""
    with ctx.unit_of_work() as s:
        repo = SettingsRepo(s)
        values = {f: repo.get(PREFIX + f) for f in FIELDS}
    return {k: v for k, v in values.items() if v}


def set_weights(ctx: AppContext, paths: WeightPaths) -> LabelingConfig:
    """Validate and save the weight locations, and use them from now on in this process."""
    checked = validate(paths)
    with ctx.unit_of_work(write=True) as s:
        repo = SettingsRepo(s)
        for f in FIELDS:
            repo.set(PREFIX + f, getattr(checked, f) or None)
    ctx.ml = replace(ctx.ml, labeling=replace(ctx.ml.labeling, **{f: getattr(checked, f) for f in FIELDS}))
    log.info("weights set: clip %s %s, sam %s %s", checked.clip_model, checked.clip_pretrained or "-",
             checked.sam_model_type, checked.sam_checkpoint or "-")
    return ctx.ml.labeling


def apply_stored_weights(ctx: AppContext) -> None:
    """Fill the weight settings the process left empty from the store's saved ones (see the module
    docstring); a saved file that has gone missing is logged and skipped."""
    saved = stored_weights(ctx)
    cfg = ctx.ml.labeling
    if not saved or (cfg.clip_pretrained and cfg.sam_checkpoint):
        return
    updates: dict[str, str] = {}
    if not cfg.clip_pretrained and saved.get("clip_pretrained"):
        updates.update(clip_pretrained=saved["clip_pretrained"], clip_model=saved.get("clip_model", cfg.clip_model))
    if not cfg.sam_checkpoint and saved.get("sam_checkpoint"):
        updates.update(sam_checkpoint=saved["sam_checkpoint"],
                       sam_model_type=saved.get("sam_model_type", cfg.sam_model_type))
    for key, model_key in (("clip_pretrained", "clip_model"), ("sam_checkpoint", "sam_model_type")):
        if key in updates and not os.path.isfile(updates[key]):
            log.warning("the store's saved %s %s no longer exists; the fallback runs", key, updates[key])
            del updates[key], updates[model_key]
    if updates:
        ctx.ml = replace(ctx.ml, labeling=replace(cfg, **updates))


def current_weights(ctx: AppContext) -> WeightPaths:
    """What this process uses now."""
    cfg = ctx.ml.labeling
    return WeightPaths(cfg.clip_model, cfg.clip_pretrained, cfg.sam_checkpoint, cfg.sam_model_type)
