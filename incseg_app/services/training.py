"""Train a class step through the store: plan it, run it (inline or as a job), version the result.

``train_step`` is the one use case: the parent is the active version (or the one asked for), the new
classes are the store's classes the parent has not learned, the data are the train-split images with
an accepted mask (ground truth, corrected, accepted pseudo) plus — unless ``accepted_only`` — pseudo
masks still waiting for review. The new version is a TRAINING row from the start; it becomes READY
(and active) only after its checkpoint blobs and metrics are stored, and FAILED/CANCELLED otherwise,
so a failed or cancelled job never leaves a ready version.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..domain.config import MethodConfig, ModelConfig, TrainConfig, to_dict
from ..domain.enums import JobKind, VersionStatus
from ..domain.errors import CancelledError, ValidationError
from ..domain.records import Job, ModelVersion
from ..methods.parts import Method, StepCarry
from ..methods.registry import METHODS, get_method
from ..storage.db import retry_busy
from ..training.checkpoint import Checkpoint, checkpoint_blobs, load_checkpoint, save_checkpoint
from ..training.step import run_incremental_step, select_device
from . import versions
from .context import AppContext
from .evaluation import evaluate_version, val_fingerprint
from .features import feature_cache
from .jobs import STATUS_RETRY_S
from .job_metrics import LOSS, MetricsWriter
from .ml_settings import check_encoder_weights
from .planning import DEFAULT_METHOD, StepPlan, plan_step_for
from .runner import JobControl, Launcher
from .store_data import StoreDataset

log = logging.getLogger(__name__)

GPU_WORKERS = 4  # DataLoader workers of a GPU step (decoding and augmenting keep up with the device)


@dataclass(frozen=True)
class MethodInfo:
    name: str
    paper: str
    parts: tuple[str, ...]
    joint: bool


def list_methods() -> list[MethodInfo]:
    """Every registered method with its switchable parts."""
    return [MethodInfo(m.name, m.paper, m.part_names, m.joint) for m in METHODS.values()]


@dataclass(frozen=True)
class TrainRequest:
    """What a user asks for; unset numbers take the app's defaults (``MLSettings.train``).

    ``parent_version_id``: None = the active version; ``from_scratch`` starts a new root version.
    ``parts_off``: part names of the method to switch off (ablation).
    ``validate_on_drafts``: also validate on val images whose draft nobody reviewed (off by default:
    IoU and forgetting are then measured on reviewed masks only).
    """

    method: str = DEFAULT_METHOD
    new_class_ids: tuple[int, ...] | None = None
    parts_off: tuple[str, ...] = ()
    epochs: int | None = None
    batch_size: int | None = None
    crop_size: int | None = None
    lr: float | None = None
    accepted_only: bool = False
    parent_version_id: int | None = None
    from_scratch: bool = False
    name: str = ""
    validate_on_drafts: bool = False


def plan_step(ctx: AppContext, new_class_ids: tuple[int, ...] | list[int] | None = None, accepted_only: bool = False,
              parent_version_id: int | None = None, method: str = DEFAULT_METHOD, from_scratch: bool = False,
              with_entries: bool = False, validate_on_drafts: bool = False) -> StepPlan:
    """Resolve the parent, the new classes, the training images and the validation masks of a step
    (nothing is written); ``with_entries`` lists the training entries too (see ``planning.plan_step_for``)."""
    return plan_step_for(ctx, get_method(method).joint, new_class_ids, accepted_only, parent_version_id,
                         from_scratch, with_entries, validate_on_drafts)


def _train_config(ctx: AppContext, req: TrainRequest) -> TrainConfig:
    """The request over the app's defaults, resolved for the device the step will run on: a CPU keeps the
    backbone frozen (and so trains from cached taps) unless ``cpu_freezes_backbone`` is off; a GPU
    reads its batches with DataLoader workers."""
    base = ctx.ml.train
    cfg = replace(base, epochs=req.epochs or base.epochs, batch_size=req.batch_size or base.batch_size,
                  crop_size=req.crop_size or base.crop_size, lr=req.lr or base.lr, accepted_only=req.accepted_only)
    device = select_device(cfg.device)
    if device.type == "cpu" and ctx.ml.cpu_freezes_backbone:
        cfg = replace(cfg, encoder_lr_mult=0.0)
    elif device.type == "cuda" and cfg.num_workers == 0:
        cfg = replace(cfg, num_workers=min(GPU_WORKERS, os.cpu_count() or 1))
    cfg.validate()
    return cfg


def _method_config(req: TrainRequest) -> MethodConfig:
    method = get_method(req.method)
    unknown = sorted(set(req.parts_off) - set(method.part_names))
    if unknown:
        raise ValidationError(f"method {req.method!r} has no part(s) {', '.join(unknown)}; "
                              f"parts: {', '.join(method.part_names)}")
    return MethodConfig(req.method, {p: {"enabled": False} for p in req.parts_off})


def _resume_dir(ctx: AppContext, config: dict) -> Path:
    key = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    return ctx.root / "work" / f"train-{key}"


def _checked_plan(ctx: AppContext, request: TrainRequest, with_entries: bool = True) -> StepPlan:
    """The step's plan, refusing a step with nothing new to learn or no training masks."""
    plan = plan_step(ctx, request.new_class_ids, request.accepted_only, request.parent_version_id, request.method,
                     request.from_scratch, with_entries, request.validate_on_drafts)
    if not plan.new_class_ids:
        raise ValidationError("nothing new to learn: every class tagged on a training image is already in the "
                              "parent version (add a class and tag or label images of it)")
    if plan.n_train_images == 0:
        raise ValidationError("no training images with masks for the new classes: run pseudo-labelling or "
                              "import masks first")
    if plan.parent_version_id is None:  # a new root model loads the configured encoder weights
        check_encoder_weights(ctx.ml.model)
    return plan


def train_step(ctx: AppContext, request: TrainRequest, control: JobControl | None = None) -> ModelVersion:
    """Train one class step and return its READY, active version (see the module docstring)."""
    plan = _checked_plan(ctx, request)
    method, method_cfg, train_cfg = get_method(request.method), _method_config(request), _train_config(ctx, request)
    parent = versions.get_version(ctx, plan.parent_version_id) if plan.parent_version_id else None
    parent_ckpt = load_checkpoint(ctx.blobs, parent.checkpoint_sha256) if parent else None
    model_cfg = parent_ckpt.model_cfg if parent_ckpt else ctx.ml.model
    parent_ids = parent.class_ids if parent else (0,)
    config = {"model": to_dict(model_cfg), "train": to_dict(train_cfg), "method": to_dict(method_cfg),
              "method_options": method.resolved_options(method_cfg),
              "new_class_ids": list(plan.new_class_ids), "labeling": to_dict(ctx.ml.labeling),
              "data": {"train_mask_ids": [e.mask.id for e in plan.entries], "counts": plan.mask_counts},
              "eval": {"val_fingerprint": val_fingerprint(ctx, request.validate_on_drafts),
                       "max_side": ctx.ml.eval_max_side, "include_drafts": request.validate_on_drafts,
                       "val_counts": plan.val_counts}}
    name = request.name.strip() or f"+{'+'.join(plan.new_classes)} ({request.method})"
    version = versions.create_version(ctx, name, parent_ids + plan.new_class_ids, request.method, config,
                                      parent.id if parent else None, control.job_id if control else None)
    try:
        return _run(ctx, version, plan, method, method_cfg, train_cfg, model_cfg, parent_ckpt, control, config)
    except CancelledError:
        _end_version(ctx, version.id, VersionStatus.CANCELLED)
        raise
    except BaseException:
        _end_version(ctx, version.id, VersionStatus.FAILED)
        raise


def _end_version(ctx: AppContext, version_id: int, status: VersionStatus) -> None:
    """Mark a version that will not become ready, retrying while the store is busy; a failure here is
    logged, never raised over the error that ended the step (a job's fail/cancel write, which ends
    its TRAINING version in the same transaction, and start-up recovery are the second line)."""
    try:
        retry_busy(lambda: versions.mark_failed(ctx, version_id, status), STATUS_RETRY_S,
                   f"mark version {version_id} {status.value}")
    except Exception:
        log.exception("version %d could not be marked %s", version_id, status.value)


def _run(ctx: AppContext, version: ModelVersion, plan: StepPlan, method: Method, method_cfg: MethodConfig,
         train_cfg: TrainConfig, model_cfg: ModelConfig, parent_ckpt: Checkpoint | None, control: JobControl | None,
         config: dict) -> ModelVersion:
    metrics = MetricsWriter(ctx, control.job_id) if control is not None else None

    def progress(fraction: float, message: str, losses: dict[str, float]) -> None:
        if control is not None and metrics is not None:
            metrics.add(fraction, losses)  # the chart's rows, written here so they work from any process
            total = losses.get(LOSS) if losses else None
            loss = f" · loss {total:.4f}" if total is not None else ""
            control.progress(0.9 * fraction, f"training: {message}{loss}")

    carry = StepCarry()
    memory_sha = (parent_ckpt.extra.get("memory_sha256") if parent_ckpt else None)
    if memory_sha and ctx.blobs.exists(memory_sha):
        carry.memory = ctx.blobs.get_bytes(memory_sha)
    resume_dir = _resume_dir(ctx, {**config, "parent": version.parent_id})
    try:
        result = run_incremental_step(model_cfg, train_cfg, method, method_cfg, StoreDataset(ctx, list(plan.entries)),
                                      plan.new_class_ids, parent_ckpt, progress=progress,
                                      should_cancel=control.should_cancel if control else None,
                                      resume_dir=resume_dir, carry=carry, feature_cache=feature_cache(ctx))
    finally:
        if metrics is not None:
            metrics.flush()
    extra: dict = {"losses": result.losses, "seconds": result.seconds, "images_per_second": result.images_per_second,
                   "peak_memory_mb": result.peak_memory_mb, "feature_path": result.feature_path}
    memory = result.carry.memory
    blob_shas: set[str] = set()
    if isinstance(memory, (bytes, bytearray)):
        extra["memory_sha256"] = ctx.blobs.put_bytes(bytes(memory))
        blob_shas.add(extra["memory_sha256"])
    elif memory_sha:
        extra["memory_sha256"] = memory_sha
        blob_shas.add(memory_sha)
    ckpt = result.checkpoint(extra)
    parent_sha = versions.get_version(ctx, version.parent_id).checkpoint_sha256 if version.parent_id else None
    sha = save_checkpoint(ctx.blobs, ckpt.state, ckpt.model_cfg, ckpt.group_sizes, ckpt.class_ids, ckpt.extra,
                          parent=parent_sha)
    if control is not None:
        control.progress(0.92, "evaluating on the validation images")
    evaluate_version(ctx, version, result.model, should_cancel=control.should_cancel if control else None,
                     include_drafts=plan.validate_on_drafts)
    ready = retry_busy(lambda: versions.mark_ready(ctx, version.id, sha, result.seconds,
                                                   checkpoint_blobs(ctx.blobs, sha) | blob_shas, activate=True),
                       STATUS_RETRY_S, f"mark version {version.id} ready")  # ready + active: one transaction
    shutil.rmtree(resume_dir, ignore_errors=True)
    log.info("version %d %s ready in %.1f s", ready.id, ready.name, result.seconds)
    return ready


def start_training(ctx: AppContext, runner: Launcher, request: TrainRequest) -> Job:
    """Validate the request now (clear errors in the request thread), then train in a background job
    (a thread of this process with ``JobRunner``, a child process with ``ProcessJobRunner``).

    Only one training job runs per store at a time (``exclusive``) unless the store's settings allow
    parallel training (``StoreSettings.parallel_training`` / ``INCSEG_PARALLEL_TRAINING``).
    """
    _checked_plan(ctx, request, with_entries=False)  # counts only: the job reads the entries itself
    _method_config(request)
    _train_config(ctx, request)
    return runner.launch(JobKind.TRAIN, asdict(request), exclusive=not ctx.settings.parallel_training)
