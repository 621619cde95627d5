"""The training loop of one incremental step. It knows no method names: every method-specific action
happens in the parts (``methods.parts``), called role by role in their list order.

Per iteration: ``transform_batch`` -> forward of the current model (bf16 autocast on CUDA) and of the
frozen old model (no grad, eval), on pixels or on cached backbone taps (``forward_models``) ->
``StepContext`` -> every ``relabel`` -> every ``before_loss`` -> sum of every ``losses`` dict -> backward
(on several ranks through ``DistributedDataParallel``, which averages the gradients) -> optimiser step ->
every ``after_update``. Around it: ``on_step_start`` before the optimiser is built, ``on_step_end``
after the last iteration, a cancel check per iteration and a resumable snapshot per finished epoch.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol

import torch
from torch import Tensor, nn
from torch.profiler import record_function

from ..domain.config import to_dict
from ..domain.errors import CancelledError, ValidationError
from ..methods.parts import Batch, Part, StepContext, StepRun
from ..models.outputs import SegOutput
from . import ddp, resume

log = logging.getLogger(__name__)

ProgressFn = Callable[[float, str, dict[str, float]], None]
EpochFn = Callable[[int, nn.Module], None]  # (finished epochs, model) after each epoch
POLY_POWER = 0.9  # poly learning-rate decay, the usual schedule in segmentation (DeepLab)


class EpochBatches(Protocol):
    """Per-epoch batches (``data.StepLoader``): ``len`` = batches per epoch of ``batch_size`` images."""

    batch_size: int

    def __len__(self) -> int: ...

    def epoch(self, epoch: int) -> Iterator[Batch]: ...


@dataclass
class LoopResult:
    """What one call of ``train_step`` measured.

    Attributes:
        epoch_losses: per finished epoch, the mean of each named loss (and "total").
        iterations: optimiser steps taken in total (including those before a resume).
        seconds: wall time of this call.
        images_per_second: training images processed per second by this call (all ranks).
        peak_memory_mb: CUDA peak allocated memory, or the process's peak RSS on CPU.
        resumed_from_epoch: finished epochs found in the resume state (0 for a fresh start).
    """

    epoch_losses: list[dict[str, float]] = field(default_factory=list)
    iterations: int = 0
    seconds: float = 0.0
    images_per_second: float = 0.0
    peak_memory_mb: float = 0.0
    resumed_from_epoch: int = 0


def set_train_mode(model: nn.Module, freeze_bn: bool, freeze_backbone: bool = False) -> None:
    """``model.train()``; with ``freeze_bn`` BatchNorm layers stay in eval mode (running statistics fixed);
    with ``freeze_backbone`` the whole backbone half of the encoder stays in eval mode.

    Incremental steps freeze BatchNorm: the statistics describe the data the old classes were learned on,
    and re-estimating them on a new step's images shifts old-class features (a source of forgetting);
    it also keeps data-parallel training exact on CPU, where SyncBatchNorm does not exist. A frozen
    backbone is a fixed function (no stochastic depth either), which is what caching its taps assumes.
    """
    model.train()
    if freeze_bn:
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
    encoder = getattr(model, "encoder", None)
    if freeze_backbone and encoder is not None:
        neck = getattr(encoder, "neck_module", None)
        for child in encoder.children():
            if child is not neck:
                child.eval()


def build_optimizer(model: nn.Module, extra: list[nn.Module], lr: float, encoder_lr_mult: float,
                    weight_decay: float) -> torch.optim.Optimizer:
    """AdamW over trainable params: the pretrained backbone at ``lr * encoder_lr_mult`` (0 freezes it); the
    encoder's neck (``encoder.neck_module``, randomly initialised), the decoder and ``extra`` at ``lr``."""
    encoder = getattr(model, "encoder", None)
    enc_ids = {id(p) for p in encoder.parameters()} if encoder is not None else set()
    neck = getattr(encoder, "neck_module", None)
    enc_ids -= {id(p) for p in neck.parameters()} if isinstance(neck, nn.Module) else set()
    if encoder_lr_mult == 0:  # frozen backbone: no gradient is computed through it at all
        for p in model.parameters():
            if id(p) in enc_ids:
                p.requires_grad_(False)
    enc = [p for p in model.parameters() if p.requires_grad and id(p) in enc_ids]
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in enc_ids]
    rest += [p for m in extra for p in m.parameters() if p.requires_grad]
    groups = [{"params": g, "lr": lr * mult, "base_lr": lr * mult}
              for g, mult in ((enc, encoder_lr_mult), (rest, 1.0)) if g]
    if not groups:
        raise ValidationError("nothing to train: every parameter of the model is frozen")
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)


def _autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager:
    if device.type == "cuda" and amp:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _collect_losses(parts: list[Part], ctx: StepContext) -> dict[str, Tensor]:
    terms: dict[str, Tensor] = {}
    for part in parts:
        for name, value in part.losses(ctx).items():
            terms[name if name not in terms else f"{part.name}.{name}"] = value
    return terms


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _fingerprint(run: StepRun, parts: list[Part]) -> str:
    """What a resume state must match: the step's channels, the train/method config and the part list."""
    return json.dumps({"step": dataclasses.asdict(run.step), "train": to_dict(run.train),
                       "method": to_dict(run.method), "parts": [p.name for p in parts]}, sort_keys=True, default=str)


def forward_models(run: StepRun, batch: Batch) -> tuple[SegOutput, SegOutput | None]:
    """Outputs of the current and the frozen old model on a batch of pixels or of cached taps.

    Pixels: the current model's backbone, then its neck + decoder; the old model runs whole (its
    backbone may differ). Cached taps: the backbone already ran once per view (``training.taps``),
    so both models run only their neck + decoder on the same taps.
    """
    size = batch.labels.shape[-2:]
    old_out = None
    if batch.images is None:
        taps = [t.float() for t in batch.taps]  # stored in half precision
    else:
        with record_function("encoder"):
            taps = run.model.encoder.backbone(batch.images)
    with record_function("decoder"):
        out = run.model.forward_taps(taps, size)
    if run.old_model is not None:
        with record_function("old_model"), torch.no_grad():
            old_out = (run.old_model(batch.images) if batch.images is not None
                       else run.old_model.forward_taps(taps, size))
    return out, old_out


def iteration_loss(run: StepRun, parts: list[Part], batch: Batch
                   ) -> tuple[tuple[Tensor, dict[str, Tensor]], StepContext]:
    """The forward of one iteration through every part role: ((total loss, named loss terms), context)."""
    device = run.device
    with record_function("data"):
        batch = batch.to(device)
        for part in parts:
            batch = part.transform_batch(batch, run)
    with _autocast(device, run.train.amp):
        out, old_out = forward_models(run, batch)
    with record_function("losses"):
        ctx = StepContext(run=run, batch=batch, out=out, old_out=old_out, labels=batch.labels,
                          channel_weights=torch.ones(out.logits.shape[1], device=device))
        for part in parts:
            labels = part.relabel(ctx)
            if labels is not None:
                ctx.labels = labels
        for part in parts:
            part.before_loss(ctx)
        terms = _collect_losses(parts, ctx)
        if not terms:
            raise ValidationError("the method's enabled parts produced no loss term; enable at least one loss")
        loss = torch.stack([t.float() for t in terms.values()]).sum()
    return (loss, terms), ctx


def train_iteration(run: StepRun, parts: list[Part], batch: Batch, optimizer: torch.optim.Optimizer,
                    forward: Callable[[Batch], tuple[tuple[Tensor, dict[str, Tensor]], StepContext]] | None = None
                    ) -> dict[str, float]:
    """One optimiser step through every part role; returns each named loss and "total" as floats.

    ``forward``: ``iteration_loss`` run through ``ddp.data_parallel`` on several ranks (default: plain).
    """
    (loss, terms), ctx = forward(batch) if forward is not None else iteration_loss(run, parts, batch)
    with record_function("backward"):
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
    with record_function("optimiser"):
        optimizer.step()
        for part in parts:
            part.after_update(ctx)
    return {name: float(t.detach()) for name, t in terms.items()} | {"total": float(loss.detach())}


def train_step(run: StepRun, parts: list[Part], batches: EpochBatches, *, progress: ProgressFn | None = None,
               should_cancel: Callable[[], bool] | None = None, resume_dir: Path | None = None,
               dist_info: ddp.DistInfo | None = None, epoch_end: EpochFn | None = None) -> LoopResult:
    """Train ``run.model`` (already grown, on ``run.device``) for one step with ``parts``.

    ``run.old_model`` must be frozen and in eval mode (the step runner does it). Raises
    ``CancelledError`` when ``should_cancel()`` turns true; the last finished epoch stays in
    ``resume_dir`` and a later call with the same arguments continues from it.
    """
    cfg, model, device = run.train, run.model, run.device
    for part in parts:
        part.on_step_start(run)
    extra = [m.to(device) for part in parts for m in part.trainable_modules()]
    optimizer = build_optimizer(model, extra, cfg.lr, cfg.encoder_lr_mult, cfg.weight_decay)
    per_epoch = len(batches)
    total = per_epoch * cfg.epochs
    run.total_iterations = min(total, cfg.max_iters) if cfg.max_iters else total
    result = LoopResult()
    fingerprint = _fingerprint(run, parts)
    saved = resume.load_state(resume_dir) if resume_dir is not None else None
    if saved is not None and saved.fingerprint != fingerprint:
        log.warning("ignoring the resume state in %s: it belongs to a different step or configuration", resume_dir)
        saved = None
    if saved is not None:
        resume.restore(saved, model, extra, parts, optimizer)
        run.iteration, result.epoch_losses, result.resumed_from_epoch = saved.iteration, saved.epoch_losses, saved.epoch
        log.info("resuming step %d at epoch %d (iteration %d)", run.step.step, saved.epoch, saved.iteration)
    forward = None
    if dist_info is not None:  # DDP starts every rank from rank 0's weights; the old model is broadcast here
        forward = ddp.data_parallel(model, extra, functools.partial(iteration_loss, run, parts), device)
        if run.old_model is not None:
            ddp.broadcast_state(run.old_model)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start, start_iter = time.perf_counter(), run.iteration
    for epoch in range(result.resumed_from_epoch, cfg.epochs):
        if run.iteration >= run.total_iterations:
            break
        set_train_mode(model, freeze_bn=run.step.step > 0 or cfg.encoder_lr_mult == 0,
                       freeze_backbone=cfg.encoder_lr_mult == 0)
        for m in extra:
            m.train()
        sums: dict[str, float] = {}
        seen = 0
        epoch_batches = iter(batches.epoch(epoch))
        while True:
            with record_function("data"):  # reading, augmenting, and (cached path) encoding missing views
                batch = next(epoch_batches, None)
            if batch is None:
                break
            if should_cancel is not None and should_cancel():
                raise CancelledError(f"training step {run.step.step} cancelled at iteration {run.iteration}")
            if run.iteration >= run.total_iterations:
                break
            for group in optimizer.param_groups:  # poly decay over the whole step
                group["lr"] = group["base_lr"] * (1 - run.iteration / run.total_iterations) ** POLY_POWER
            last = train_iteration(run, parts, batch, optimizer, forward)
            run.iteration += 1
            seen += 1
            for name, value in last.items():
                sums[name] = sums.get(name, 0.0) + value
            if progress is not None:
                progress(run.iteration / run.total_iterations,
                         f"epoch {epoch + 1}/{cfg.epochs}, iteration {run.iteration}/{run.total_iterations}", last)
        if seen == 0:
            break
        result.epoch_losses.append({name: value / seen for name, value in sums.items()})
        log.info("step %d epoch %d: %s", run.step.step, epoch + 1,
                 ", ".join(f"{n}={v:.4f}" for n, v in result.epoch_losses[-1].items()))
        if resume_dir is not None and (dist_info is None or dist_info.is_main):
            state = resume.capture(epoch + 1, run.iteration, result.epoch_losses, model, extra, parts, optimizer)
            state.fingerprint = fingerprint
            resume.save_state(resume_dir, state)
        if epoch_end is not None:
            epoch_end(epoch + 1, model)
            set_train_mode(model, freeze_bn=run.step.step > 0 or cfg.encoder_lr_mult == 0,
                           freeze_backbone=cfg.encoder_lr_mult == 0)
        ddp.barrier()
    if dist_info is not None:  # BatchNorm statistics of a base step differ per rank: keep rank 0's
        ddp.broadcast_state(model)
    for part in parts:
        part.on_step_end(run)
    result.iterations = run.iteration
    result.seconds = time.perf_counter() - start
    images = (run.iteration - start_iter) * batches.batch_size * (dist_info.world_size if dist_info else 1)
    result.images_per_second = images / result.seconds if result.seconds > 0 else 0.0
    result.peak_memory_mb = _peak_memory_mb(device)
    return result
