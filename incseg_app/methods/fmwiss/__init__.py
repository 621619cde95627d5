"""FMWISS: Yu et al., "Foundation Model Drives Weakly Incremental Learning for Semantic Segmentation"
(CVPR 2023), the training-time parts. Pseudo-masks from image-level tags (Sec. 3.2) come from
``incseg_app.labeling``; the steps train on them with these parts, in this order:

* ``fmwiss_copypaste`` – memory-based copy-paste of old-class instances (Sec. 3.4): ``copypaste.py``,
  ``memory.py``.
* ``bg_init`` / ``ce`` / ``kd`` – the background treatment every method shares (``baselines``).
* ``fmwiss_teacher`` – plug-in ASPP teacher with L_bce and the dense contrastive L_nce (Sec. 3.3):
  ``teacher.py``.
* ``fmwiss_student`` – student soft targets: α·teacher + (1-α)·pseudo-mask for new classes, β·old
  model + (1-β)·teacher for old classes (Sec. 3.3): ``student.py``.

Choices where the paper is open (defaults measured in ``docs/benchmarks.md``; the authors' code is not
public): on weak images the student's soft targets are the paper's supervision, so the registry's
``kd`` skips weak images (``weak_images: false``; a second, plain KD there doubled the old-class term)
and the ``ce`` is the unbiased one: a plain CE on a pseudo-mask teaches "old class = background"
wherever the mask says background — every old object in a tags-only image. The unbiased CE still
trains the pseudo-mask's new-class pixels and the pasted old instances' labels.

The part names ``ce`` and ``kd`` match the other methods', so ``FMWISS + GSC`` keeps one of each.
Run data: ``StepRun.carry_in.memory`` (the parent version's memory bytes, optional) in,
``StepRun.carry_out.memory`` (``.npz`` bytes for the blob store) out. A parent trained without
FMWISS has no memory; ``collect_instances`` builds one from its training data.
"""
from __future__ import annotations

from ..baselines import BackgroundInit, CrossEntropy, Distillation
from ..parts import Method, PartSpec
from .copypaste import CopyPasteOptions, CopyPastePart
from .memory import Instance, InstanceMemory, collect_instances, extract_instances
from .student import StudentOptions, StudentPart
from .teacher import TeacherHead, TeacherOptions, TeacherPart, group_norm_aspp

FMWISS = Method(
    name="fmwiss",
    paper="Yu et al., Foundation Model Drives Weakly Incremental Learning for Semantic Segmentation, CVPR 2023",
    parts=(
        PartSpec("fmwiss_copypaste", CopyPastePart),
        PartSpec("bg_init", BackgroundInit),
        PartSpec("ce", CrossEntropy, {"unbiased": True}),
        PartSpec("kd", Distillation, {"unbiased": True, "weak_images": False}),
        PartSpec("fmwiss_teacher", TeacherPart),
        PartSpec("fmwiss_student", StudentPart),
    ),
)

__all__ = [
    "FMWISS", "CopyPasteOptions", "CopyPastePart", "Instance", "InstanceMemory", "StudentOptions", "StudentPart",
    "TeacherHead", "TeacherOptions", "TeacherPart", "collect_instances", "extract_instances", "group_norm_aspp",
]
