"""Data-parallel training across processes started by ``torchrun`` (or ``torch.multiprocessing``).

Each rank builds the same model from the same seed, reads its share of every global batch
(``data.StepLoader`` with ``rank``/``world_size``) and, after ``backward()``, the gradients of every
trainable parameter are averaged across ranks (one flat all-reduce), so all ranks take the same
optimiser step. This is the arithmetic of ``DistributedDataParallel`` without its wrapper: parts call
methods on ``run.model`` directly and may add modules of their own (``Part.trainable_modules``), which a
DDP wrapper would not see. Backend: NCCL on CUDA, gloo on CPU.

Equivalence with one rank holds when every rank's loss is a mean over the same number of pixels
(equal per-rank batches; see ``methods.losses``) and BatchNorm statistics are frozen; incremental
steps freeze them (``loop.set_train_mode``). In a base step each rank normalises with its own batch
statistics unless the model runs on CUDA, where BatchNorm layers become ``SyncBatchNorm``.

Launch, e.g.: ``torchrun --nproc_per_node 2 bench/ciss.py --data ROOT --split 6-5 --distributed``.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Iterable

import torch
import torch.distributed as dist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job: ``rank`` of ``world_size``; ``local_rank`` picks the GPU."""

    rank: int
    world_size: int
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env(device_type: str) -> DistInfo | None:
    """Join the process group described by torchrun's env (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_*).

    Returns None when not launched by torchrun (WORLD_SIZE unset or 1).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    if device_type == "cuda":
        torch.cuda.set_device(info.local_rank)
    log.info("rank %d of %d joined (%s)", info.rank, info.world_size, dist.get_backend())
    return info


def current() -> DistInfo | None:
    """The DistInfo of an already initialised process group, or None."""
    if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() == 1:
        return None
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def average_gradients(params: Iterable[nn.Parameter], world_size: int) -> None:
    """Replace each parameter's gradient by its mean over ranks.

    A gradient missing on some ranks counts as zero there; one missing on every rank stays None, so the
    optimiser skips that parameter exactly as a single process would.
    """
    params = [p for p in params if p.requires_grad]
    has_grad = torch.tensor([p.grad is not None for p in params], dtype=torch.float32)
    if params and params[0].is_cuda:
        has_grad = has_grad.to(params[0].device)
    dist.all_reduce(has_grad, op=dist.ReduceOp.MAX)
    params = [p for p, flag in zip(params, has_grad.tolist()) if flag > 0]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    grads = [p.grad for p in params]
    if not grads:
        return
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world_size
    for g, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
        g.copy_(synced)


def broadcast_state(module: nn.Module, src: int = 0) -> None:
    """Copy parameters and buffers of rank ``src`` to every rank (same start, same BN statistics)."""
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=src)


def barrier() -> None:
    """Wait for every rank (no-op without a process group)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def to_sync_batchnorm(model: nn.Module, device: torch.device, info: DistInfo | None) -> nn.Module:
    """SyncBatchNorm for multi-GPU runs (unsupported by gloo/CPU, where the model is returned as is)."""
    if info is None or device.type != "cuda":
        return model
    return nn.SyncBatchNorm.convert_sync_batchnorm(model)
