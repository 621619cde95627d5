"""Incrementer as parts: Shang et al., "Incrementer: Transformer for Class-Incremental Semantic
Segmentation with Knowledge Distillation Focusing on Old Class", CVPR 2023.

Paper component -> part (part name) -> functions:

* Sec. 3.2, class tokens added per step, old ones kept, decoder shared
  -> ``TokenGrowthFreeze`` (``inc_tokens``) -> ``old_row_scales``.
* Old-class pseudo-labels on background pixels, PLOP-style (Douillard et al., CVPR 2021, Sec. 3.2)
  -> ``EntropyPseudoLabels`` (``inc_pseudo``) -> ``entropy_pseudo_labels``, ``plop_entropy``,
  ``plop_code_thresholds``, ``median_thresholds``.
* Cross-entropy and output distillation with the background treatment every method shares
  (``baselines``: ``bg_init``, ``ce``, ``kd``); the registry's defaults are what measured best.
* Sec. 3.3, FOD (distillation focusing on old classes) -> ``FocusedOldDistillation`` (``inc_fod``)
  -> ``visual_token_distillation`` (loss ``inc_fod_visual``), ``class_token_distillation``
  (loss ``inc_fod_token``).
* Sec. 3.4, CDS (class deconfusion) -> ``ClassDeconfusion`` (``inc_cds``) ->
  ``scale_new_channel_weights`` (CE down-weighting), ``new_class_probability`` /
  ``old_class_region`` + ``dice_loss`` (losses ``inc_cds_dice``, ``inc_cds_old_dice``).

The authors' code is not public; the paper's text is the reference, and each module names the
choices it had to make. Order matters only inside a role: pseudo-labels run before the losses read
``ctx.labels`` (label sources run before any loss), and CDS lowers the new channels' weights in
``before_loss``, which the engine calls for every part before any ``losses``.
"""
from __future__ import annotations

from ..baselines import BackgroundInit, CrossEntropy, Distillation
from ..parts import Method, PartSpec
from .cds import (
    ClassDeconfusion, DeconfusionOptions, dice_loss, new_class_probability, old_class_region,
    scale_new_channel_weights,
)
from .fod import (
    FocusedDistillationOptions, FocusedOldDistillation, class_token_distillation, cosine_distance, focus_weights,
    visual_token_distillation,
)
from .pseudo import (
    EntropyPseudoLabels, PseudoOptions, entropy_pseudo_labels, median_thresholds, normalised_entropy,
    plop_code_thresholds, plop_entropy,
)
from .tokens import TokenGrowthFreeze, TokenOptions, old_row_scales

INCREMENTER = Method(
    name="incrementer",
    paper=("Shang et al., Incrementer: Transformer for Class-Incremental Semantic Segmentation with Knowledge "
           "Distillation Focusing on Old Class, CVPR 2023 (pseudo-labels: Douillard et al., PLOP, CVPR 2021)"),
    parts=(
        PartSpec("inc_tokens", TokenGrowthFreeze),
        PartSpec("bg_init", BackgroundInit),
        PartSpec("inc_pseudo", EntropyPseudoLabels),
        PartSpec("ce", CrossEntropy, {"unbiased": True}),
        PartSpec("kd", Distillation, {"unbiased": True}),
        PartSpec("inc_fod", FocusedOldDistillation),
        PartSpec("inc_cds", ClassDeconfusion),
    ),
)

__all__ = [
    "INCREMENTER", "ClassDeconfusion", "DeconfusionOptions", "EntropyPseudoLabels", "FocusedDistillationOptions",
    "FocusedOldDistillation", "PseudoOptions", "TokenGrowthFreeze", "TokenOptions", "class_token_distillation",
    "cosine_distance", "dice_loss", "entropy_pseudo_labels", "focus_weights", "median_thresholds",
    "new_class_probability", "normalised_entropy", "old_class_region", "old_row_scales", "plop_code_thresholds",
    "plop_entropy", "scale_new_channel_weights", "visual_token_distillation",
]
