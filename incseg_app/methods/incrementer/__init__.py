"""Incrementer as parts: Shang et al., "Incrementer: Transformer for Class-Incremental Semantic
Segmentation with Knowledge Distillation Focusing on Old Class", CVPR 2023.

Paper component -> part (part name) -> functions:

* Sec. 3.2, class tokens added per step, old ones kept, decoder shared
  -> ``TokenGrowthFreeze`` (``inc_tokens``) -> ``old_row_scales``.
* Old-class pseudo-labels on background pixels, PLOP-style (Douillard et al., CVPR 2021, Sec. 3.2)
  -> ``EntropyPseudoLabels`` (``inc_pseudo``) -> ``entropy_pseudo_labels``,
  ``class_entropy_thresholds``, ``normalised_entropy``.
* Cross-entropy on the step's labels, weighted per channel -> ``baselines.CrossEntropy`` (``ce``).
* Sec. 3.3, FOD (distillation focusing on old classes) -> ``FocusedOldDistillation`` (``inc_fod``)
  -> ``visual_token_distillation`` (loss ``inc_fod_visual``), ``class_token_distillation``
  (loss ``inc_fod_token``).
* Sec. 3.4, CDS (class deconfusion) -> ``ClassDeconfusion`` (``inc_cds``) ->
  ``scale_new_channel_weights`` (CE down-weighting), ``new_class_probability`` + ``dice_loss``
  (loss ``inc_cds_dice``).

Order matters: pseudo-labels run before the losses read ``ctx.labels``, and CDS lowers the new
channels' weights in ``before_loss``, which the engine calls for every part before any ``losses``.
"""
from __future__ import annotations

from functools import partial

from ..baselines import CrossEntropy
from ..parts import Method
from ._options import build_part
from .cds import ClassDeconfusion, dice_loss, new_class_probability, scale_new_channel_weights
from .fod import FocusedOldDistillation, class_token_distillation, cosine_distance, visual_token_distillation
from .pseudo import EntropyPseudoLabels, class_entropy_thresholds, entropy_pseudo_labels, normalised_entropy
from .tokens import TokenGrowthFreeze, old_row_scales

INCREMENTER = Method(
    name="incrementer",
    paper=("Shang et al., Incrementer: Transformer for Class-Incremental Semantic Segmentation with Knowledge "
           "Distillation Focusing on Old Class, CVPR 2023 (pseudo-labels: Douillard et al., PLOP, CVPR 2021)"),
    parts=(
        ("inc_tokens", partial(build_part, TokenGrowthFreeze, "inc_tokens")),
        ("inc_pseudo", partial(build_part, EntropyPseudoLabels, "inc_pseudo")),
        ("ce", CrossEntropy),
        ("inc_fod", partial(build_part, FocusedOldDistillation, "inc_fod")),
        ("inc_cds", partial(build_part, ClassDeconfusion, "inc_cds")),
    ),
)

__all__ = [
    "INCREMENTER", "ClassDeconfusion", "EntropyPseudoLabels", "FocusedOldDistillation", "TokenGrowthFreeze",
    "class_entropy_thresholds", "class_token_distillation", "cosine_distance", "dice_loss",
    "entropy_pseudo_labels", "new_class_probability", "normalised_entropy", "old_row_scales",
    "scale_new_channel_weights", "visual_token_distillation",
]
