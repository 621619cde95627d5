"""Every method the engine can train, in one dict written out in full.

A method is a bundle of named parts (``methods.parts.Method``); users switch a part off with
``MethodConfig.parts = {"<part>": {"enabled": false}}`` and override an option with
``{"<part>": {"<option>": value}}``. Combinations join part lists (``a + b``; a part name present in
both runs once, with the first method's defaults), so FMWISS's weak-label machinery can sit under
GSC's or Incrementer's distillation.
"""
from __future__ import annotations

from ..domain.errors import ValidationError
from .baselines import BackgroundInit, CrossEntropy, Distillation
from .fmwiss import FMWISS
from .gsc import GSC
from .incrementer import INCREMENTER
from .parts import Method, PartSpec

FINETUNE = Method(
    name="finetune",
    paper="Fine-tuning lower bound (cross-entropy on the current step's labels only)",
    parts=(PartSpec("ce", CrossEntropy),),
)

JOINT = Method(
    name="joint",
    paper="Joint-training upper bound (all classes at once with full labels)",
    parts=(PartSpec("ce", CrossEntropy),),
    joint=True,
)

MIB = Method(
    name="mib",
    paper="Cermelli et al., Modeling the Background for Incremental Learning in Semantic Segmentation, CVPR 2020",
    parts=(
        PartSpec("mib_init", BackgroundInit),
        PartSpec("mib_unce", CrossEntropy, {"unbiased": True}),
        PartSpec("mib_unkd", Distillation, {"unbiased": True}),
    ),
)

METHODS: dict[str, Method] = {
    "finetune": FINETUNE,
    "joint": JOINT,
    "mib": MIB,
    "gsc": GSC,
    "incrementer": INCREMENTER,
    "fmwiss": FMWISS,
    "fmwiss+gsc": FMWISS + GSC,
    "fmwiss+incrementer": FMWISS + INCREMENTER,
}


def get_method(name: str) -> Method:
    """The registered method called ``name``; ValidationError listing the known names otherwise."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValidationError(f"unknown method {name!r}; registered: {', '.join(sorted(METHODS))}") from None
