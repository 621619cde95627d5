"""FMWISS: Yu et al., "Foundation Model Drives Weakly Incremental Learning for Semantic Segmentation"
(CVPR 2023), the training-time parts. Pseudo-masks from image-level tags (Sec. 3.2) come from
``incseg_app.labeling``; the steps train on them with these parts, in this order:

* ``fmwiss_copypaste`` – memory-based copy-paste of old-class instances (Sec. 3.4): ``copypaste.py``,
  ``memory.py``.
* ``ce`` / ``kd`` – the engine's standard cross-entropy and old-channel distillation (``baselines``).
* ``fmwiss_teacher`` – plug-in ASPP teacher with L_bce and the dense contrastive L_nce (Sec. 3.3):
  ``teacher.py``.
* ``fmwiss_student`` – student soft targets: α·teacher + (1-α)·pseudo-mask for new classes, β·old
  model + (1-β)·teacher for old classes (Sec. 3.3): ``student.py``.

The part names ``ce`` and ``kd`` match the other methods', so ``FMWISS + GSC`` keeps one of each.
Run data: ``StepRun.inputs["memory"]`` (the parent version's memory bytes, optional) in,
``StepRun.outputs["memory"]`` (``.npz`` bytes for the blob store) out. A parent trained without
FMWISS has no memory; ``collect_instances`` builds one from its training data.
"""
from __future__ import annotations

from ..baselines import CrossEntropy, Distillation
from ..parts import Method
from ._options import part_factory
from .copypaste import CopyPastePart
from .memory import Instance, InstanceMemory, collect_instances, extract_instances
from .student import StudentPart
from .teacher import TeacherHead, TeacherPart

FMWISS = Method(
    name="fmwiss",
    paper="Yu et al., Foundation Model Drives Weakly Incremental Learning for Semantic Segmentation, CVPR 2023",
    parts=(
        ("fmwiss_copypaste", part_factory(CopyPastePart, "fmwiss_copypaste")),
        ("ce", CrossEntropy),
        ("kd", Distillation),
        ("fmwiss_teacher", part_factory(TeacherPart, "fmwiss_teacher")),
        ("fmwiss_student", part_factory(StudentPart, "fmwiss_student")),
    ),
)

__all__ = [
    "FMWISS", "CopyPastePart", "Instance", "InstanceMemory", "StudentPart", "TeacherHead", "TeacherPart",
    "collect_instances", "extract_instances",
]
