"""Incremental-learning methods as bundles of parts (``parts``), registered in ``registry.METHODS``."""
from .parts import Batch, Method, Part, StepContext, StepInfo, StepRun

__all__ = ["Batch", "Method", "Part", "StepContext", "StepInfo", "StepRun"]
