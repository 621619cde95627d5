"""``run_incremental_step``: the one function the services and the benchmark call to train a step.

Base step (no parent): a model with one token group (background + the new classes). Incremental
step: the parent is rebuilt from its checkpoint, copied into a frozen eval-mode old model, grown by
the new classes, and trained on targets where only the new classes are labelled (CISS background
shift). A ``Method.joint`` method ignores the parent's weights and trains every class (parent's +
new) at once with full labels, in one token group, keeping the parent's channel order.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..domain.config import MethodConfig, ModelConfig, TrainConfig
from ..domain.errors import ValidationError
from ..methods.parts import Method, Part, StepCarry, StepInfo, StepRun
from ..models.build import compile_segmenter
from .checkpoint import Checkpoint
from .data import Augment, SegDataset, StepDataset, StepLoader, step_lookup
from .ddp import DistInfo, to_sync_batchnorm
from .deltas import round_to_parent
from .featcache import FeatureCache
from .loop import EpochFn, ProgressFn, train_step
from .taps import TapSource

log = logging.getLogger(__name__)


@dataclass
class StepResult:
    """A trained step.

    Attributes:
        model: the trained ``Segmenter`` (on the training device, eval mode).
        model_cfg: the resolved model config (the parent's for an incremental step).
        class_ids: stable class id per output channel (channel 0 = background 0).
        group_sizes: class tokens per step of ``model``.
        step: which channels were old / new in this step.
        losses: mean of each named loss over the last epoch.
        epoch_losses: the same per epoch.
        iterations, seconds, images_per_second, peak_memory_mb: as in ``loop.LoopResult``.
        carry: what parts wrote into ``StepRun.carry_out`` (for the caller to persist and hand to the
            next step).
        part_summaries: each enabled part's ``summary()`` (diagnostics such as GSC's step factors).
        feature_path: how the step saw its images: {"space": "features" (taps of whole views, cropped) or
            "pixels" (the backbone ran on pixel crops), "cached": bool (the taps came from the feature
            cache), "reason": text, "views_encoded": n (backbone runs on whole views)}.
    """

    model: nn.Module
    model_cfg: ModelConfig
    class_ids: tuple[int, ...]
    group_sizes: tuple[int, ...]
    step: StepInfo
    losses: dict[str, float]
    epoch_losses: list[dict[str, float]]
    iterations: int
    seconds: float
    images_per_second: float
    peak_memory_mb: float
    carry: StepCarry = field(default_factory=StepCarry)
    part_summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    feature_path: dict[str, Any] = field(default_factory=dict)

    def checkpoint(self, extra: dict[str, Any] | None = None) -> Checkpoint:
        """The trained weights (CPU copies) with what is needed to rebuild the model."""
        state = {k: v.detach().to("cpu").clone() for k, v in self.model.state_dict().items()}
        return Checkpoint(state, self.model_cfg, self.group_sizes, self.class_ids, dict(extra or {}))


def select_device(spec: str) -> torch.device:
    """"auto" -> CUDA when present, else CPU; "cpu", "cuda", "cuda:N" as given."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise ValidationError(f"device {spec!r} requested but CUDA is not available on this machine")
    return torch.device(spec)


def _check_new_classes(new_class_ids: Sequence[int], parent_ids: Sequence[int]) -> tuple[int, ...]:
    new = tuple(int(c) for c in new_class_ids)
    if not new:
        raise ValidationError("a training step needs at least one new class")
    bad = [c for c in new if not 1 <= c <= 254]
    if bad:
        raise ValidationError(f"class ids {bad} are not valid class ids (1..254)")
    if len(set(new)) != len(new):
        raise ValidationError(f"new class ids {list(new)} contain duplicates")
    known = sorted(set(new) & set(parent_ids))
    if known:
        raise ValidationError(f"classes {known} are already learned by the parent version")
    return new


def _frozen_copy(model: nn.Module) -> nn.Module:
    old = copy.deepcopy(model).eval()
    for p in old.parameters():
        p.requires_grad_(False)
    return old


def prepare_models(model_cfg: ModelConfig, method: Method, new: tuple[int, ...], parent: Checkpoint | None
                   ) -> tuple[nn.Module, nn.Module | None, tuple[int, ...], StepInfo]:
    """Build (model, frozen old model or None, class ids in channel order, step info) for a step."""
    from ..models.build import build_model
    parent_ids = tuple(parent.class_ids) if parent is not None else (0,)
    class_ids = parent_ids + new
    if parent is None or method.joint:
        model = build_model(model_cfg, (len(class_ids),))
        k = len(class_ids)
        return model, None, class_ids, StepInfo(0, (), tuple(range(k)), (0,) * k)
    model = build_model(replace(model_cfg, pretrained=False), parent.group_sizes)
    model.load_state_dict(parent.state, strict=True)
    old_model = _frozen_copy(model)
    model.grow(len(new))
    k_old = len(parent_ids)
    info = StepInfo(len(parent.group_sizes), tuple(range(k_old)), tuple(range(k_old, len(class_ids))),
                    tuple(model.channel_steps))
    return model, old_model, class_ids, info


def taps_path(train_cfg: TrainConfig, parts: Sequence[Part], model: nn.Module) -> tuple[bool, str]:
    """Whether a step trains from backbone taps of whole image views, cropped in feature space (cached
    or recomputed per sample, ``TrainConfig.cache_features``), rather than from pixel crops; and why."""
    if train_cfg.encoder_lr_mult != 0:
        return False, "the backbone trains (encoder_lr_mult > 0)"
    if train_cfg.crop_space == "pixels":
        return False, "pixel crops requested (crop_space = pixels)"
    pixel_parts = [p.name for p in parts if type(p).transform_batch is not Part.transform_batch]
    if pixel_parts:
        return False, f"part(s) {', '.join(pixel_parts)} edit pixels"
    align = max(model.encoder.tap_strides)
    if train_cfg.crop_size % align:
        return False, f"crop size {train_cfg.crop_size} is not a multiple of the backbone stride {align}"
    return True, "frozen backbone"


@dataclass
class PreparedStep:
    """Everything ``train_step`` needs for one step, built by ``prepare_step`` (benchmarks reuse it)."""

    run: StepRun
    parts: list[Part]
    loader: StepLoader
    model_cfg: ModelConfig
    taps: TapSource | None
    feature_path: dict[str, Any]


def prepare_step(model_cfg: ModelConfig, train_cfg: TrainConfig, method: Method, method_cfg: MethodConfig,
                 data: SegDataset, new_class_ids: Sequence[int], parent: Checkpoint | None = None, *,
                 carry: StepCarry | None = None, dist_info: DistInfo | None = None,
                 feature_cache: FeatureCache | None = None) -> PreparedStep:
    """Build the models, parts, data pipeline (pixels or cached taps) and ``StepRun`` of a step."""
    new = _check_new_classes(new_class_ids, parent.class_ids if parent is not None else ())
    if parent is not None and parent.model_cfg != model_cfg:
        model_cfg = parent.model_cfg
        log.info("incremental step uses the parent's model config")
    device = select_device(train_cfg.device)
    if device.type == "cuda" and device.index is None and dist_info is not None:
        device = torch.device("cuda", dist_info.local_rank)
    torch.manual_seed(train_cfg.seed)
    parts = method.build(method_cfg)
    model, old_model, class_ids, info = prepare_models(model_cfg, method, new, parent)
    # channels-last makes the depthwise convolutions of EfficientNet about twice as fast (CPU and GPU)
    model = to_sync_batchnorm(model, device, dist_info).to(device, memory_format=torch.channels_last)
    if old_model is not None:
        old_model = old_model.to(device, memory_format=torch.channels_last)
    trained = class_ids[1:] if method.joint or parent is None else new
    lookup = step_lookup(class_ids, trained)
    world, rank = (dist_info.world_size, dist_info.rank) if dist_info else (1, 0)
    if train_cfg.batch_size % world:
        raise ValidationError(f"batch size {train_cfg.batch_size} is not divisible by {world} ranks")
    use_taps, reason = taps_path(train_cfg, parts, model)
    cached = use_taps and train_cfg.cache_features
    store = (feature_cache or FeatureCache()) if cached else None
    taps = TapSource(model, store, device, train_cfg.amp) if use_taps else None
    aug = Augment(train_cfg.crop_size, tuple(train_cfg.scales), train_cfg.flip, max(model.encoder.tap_strides))
    dataset = StepDataset(data, lookup, len(class_ids), aug, train_cfg.seed, taps=taps)
    loader = StepLoader(dataset, train_cfg.batch_size // world, seed=train_cfg.seed, rank=rank, world_size=world,
                        num_workers=0 if use_taps else train_cfg.num_workers, pin_memory=device.type == "cuda")
    if train_cfg.compile:
        compile_segmenter(model, train_cfg.compile)
        if old_model is not None:
            compile_segmenter(old_model, train_cfg.compile)
    run = StepRun(model=model, old_model=old_model, step=info, method=method_cfg, train=train_cfg, device=device,
                  dataset=data, class_ids=class_ids, carry_in=carry or StepCarry())
    path = f"{'cached' if cached else 'recomputed'} backbone taps of whole views" if use_taps else "pixel crops"
    log.info("step %d (%s): %d images, new classes %s, %d channels on %s, %s (%s)", info.step, method.name,
             len(data), list(new), len(class_ids), device, path, reason)
    return PreparedStep(run, parts, loader, model_cfg, taps,
                        {"space": "features" if use_taps else "pixels", "cached": cached, "reason": reason})


def run_incremental_step(model_cfg: ModelConfig, train_cfg: TrainConfig, method: Method, method_cfg: MethodConfig,
                         data: SegDataset, new_class_ids: Sequence[int], parent: Checkpoint | None = None, *,
                         progress: ProgressFn | None = None, should_cancel: Callable[[], bool] | None = None,
                         resume_dir: Path | None = None, carry: StepCarry | None = None,
                         dist_info: DistInfo | None = None, feature_cache: FeatureCache | None = None,
                         epoch_end: EpochFn | None = None) -> StepResult:
    """Grow (or build), train and return the model of one step.

    Args:
        data: the step's training items (masks in stable class ids); for a joint method, items
            labelled with every class.
        new_class_ids: stable ids learned in this step (base step: the base classes).
        parent: the active version's checkpoint, or None for a base step.
        resume_dir: folder for per-epoch snapshots; an interrupted call resumes from it.
        carry: what the parent version hands to the parts (``StepRun.carry_in``), e.g. the FMWISS memory.
        dist_info: this rank's place in a data-parallel job (``ddp.init_from_env``).
        feature_cache: where a frozen backbone's taps are kept (``taps_path`` and ``TrainConfig.cache_features``
            decide whether they are used); None = a memory-only cache for this call.
        epoch_end: called with (finished epochs, model) after every epoch (e.g. a validation curve).
    """
    prep = prepare_step(model_cfg, train_cfg, method, method_cfg, data, new_class_ids, parent, carry=carry,
                        dist_info=dist_info, feature_cache=feature_cache)
    run = prep.run
    result = train_step(run, prep.parts, prep.loader, progress=progress, should_cancel=should_cancel,
                        resume_dir=resume_dir, dist_info=dist_info, epoch_end=epoch_end)
    if prep.taps is not None:
        prep.taps.check_unchanged()
    model = run.model.eval()
    if parent is not None and not method.joint and train_cfg.delta_weights:
        # what is evaluated is what is stored: parent + bfloat16 difference (``training.deltas``)
        model.load_state_dict(round_to_parent(model.state_dict(), parent.state))
    return StepResult(model=model, model_cfg=prep.model_cfg, class_ids=run.class_ids,
                      group_sizes=tuple(model.group_sizes), step=run.step,
                      losses=result.epoch_losses[-1] if result.epoch_losses else {},
                      epoch_losses=result.epoch_losses, iterations=result.iterations, seconds=result.seconds,
                      images_per_second=result.images_per_second, peak_memory_mb=result.peak_memory_mb,
                      carry=run.carry_out, part_summaries={p.name: p.summary() for p in prep.parts},
                      feature_path=prep.feature_path | {"views_encoded": prep.taps.computed if prep.taps else 0})
