"""The training engine: data and step targets, the loop, the step runner, evaluation, checkpoints."""
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .evaluate import evaluate
from .step import StepResult, run_incremental_step

__all__ = ["Checkpoint", "StepResult", "evaluate", "load_checkpoint", "run_incremental_step", "save_checkpoint"]
