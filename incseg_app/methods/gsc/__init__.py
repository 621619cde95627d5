"""GSC: Cong et al., "Gradient-Semantic Compensation for Incremental Semantic Segmentation"
(arXiv 2307.10822, IEEE TMM 2024), as three parts usable alone or with any other method.

* step-aware gradient compensation: part ``gsc_gradcomp``, ``gradcomp.py``;
  pure functions ``step_weights``, ``channel_step_grads``, ``logit_grad_magnitude``.
* soft–sharp semantic relation distillation: part and loss ``gsc_relation``,
  ``relation.py``; pure functions ``class_prototypes``, ``relation_matrix``, ``relation_kl``.
* prototypical pseudo re-labelling: part ``gsc_relabel``, ``relabel.py``; pure functions
  ``confident_prototypes``, ``prototype_distances``, ``prototype_relabel``.

``GSC`` runs them on top of the engine's standard cross-entropy and LwF distillation, in the order
re-label -> compensate -> CE -> KD -> relation, so the CE sees the re-labelled targets and both CE and
KD see the step weights through ``StepContext.channel_weights``.

The formulas are those of the paper as stated in issue #4 (each module docstring writes its formula
out); where the paper leaves a detail open, the module docstring names the choice and the option
that switches it.
"""
from __future__ import annotations

from ..baselines import CrossEntropy, Distillation
from ..parts import Method
from .gradcomp import (
    GradCompOptions, StepGradientCompensation, channel_step_grads, logit_grad_magnitude, step_weights,
)
from .relabel import (
    PrototypicalPseudoRelabel, RelabelOptions, confident_prototypes, prototype_distances, prototype_relabel,
)
from .relation import (
    RelationOptions, SoftSharpRelationDistillation, class_prototypes, prototype_labels, relation_kl,
    relation_matrix, soft_sharp_relation_loss,
)

GSC = Method(
    name="gsc",
    paper="Cong et al., Gradient-Semantic Compensation for Incremental Semantic Segmentation, "
          "arXiv 2307.10822 (IEEE TMM 2024)",
    parts=(
        ("gsc_relabel", PrototypicalPseudoRelabel.from_options),
        ("gsc_gradcomp", StepGradientCompensation.from_options),
        ("ce", CrossEntropy),
        ("kd", Distillation),
        ("gsc_relation", SoftSharpRelationDistillation.from_options),
    ),
)

__all__ = [
    "GSC", "GradCompOptions", "RelabelOptions", "RelationOptions", "StepGradientCompensation",
    "PrototypicalPseudoRelabel", "SoftSharpRelationDistillation", "step_weights", "channel_step_grads",
    "logit_grad_magnitude",
    "confident_prototypes", "prototype_distances", "prototype_relabel", "class_prototypes",
    "prototype_labels", "relation_kl", "relation_matrix", "soft_sharp_relation_loss",
]
