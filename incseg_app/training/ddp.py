"""Data-parallel training across processes started by ``torchrun`` (or ``torch.multiprocessing``).

Each rank builds the same model from the same seed and reads its share of every global batch
(``data.StepLoader`` with ``rank``/``world_size``). ``data_parallel`` wraps the model *and* the parts'
extra modules (``Part.trainable_modules``, e.g. FMWISS's teacher) in one ``StepModules``, and that in
``torch.nn.parallel.DistributedDataParallel``: its forward computes the whole loss of an iteration
(model, old model, every part), so every trainable parameter a loss term reaches is seen by DDP, and
``backward()`` averages the gradients across ranks in buckets while it runs. A parameter that gets no
gradient on any rank keeps ``grad = None`` (``find_unused_parameters``), so the optimiser skips it
exactly as a single process would. Backend: NCCL on CUDA, gloo on CPU.

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
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

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


class StepModules(nn.Module):
    """The model and the parts' extra modules as one ``nn.Module`` for ``DistributedDataParallel``.

    ``forward(*args)`` runs ``compute(*args)``, which returns ``(outputs, side)``: ``outputs`` (the loss
    and its terms) is what DDP sees; ``side`` (e.g. the step context the parts' later hooks need, which
    holds the run and the models) is kept in ``self.side`` out of DDP's search for graph tensors.
    ``compute`` calls ``model`` and the extra modules, the same objects registered here.
    """

    def __init__(self, model: nn.Module, extra: list[nn.Module], compute: Callable[..., tuple[Any, Any]]) -> None:
        super().__init__()
        self.model = model
        self.extra = nn.ModuleList(extra)
        self._compute = compute
        self.side: Any = None

    def forward(self, *args: Any) -> Any:
        outputs, self.side = self._compute(*args)
        return outputs


def data_parallel(model: nn.Module, extra: list[nn.Module], compute: Callable[..., tuple[Any, Any]],
                  device: torch.device) -> Callable[..., tuple[Any, Any]]:
    """``compute`` (args -> (outputs holding the loss, side)) run through DDP over
    ``StepModules(model, extra, compute)``; same call signature and result as ``compute``.

    Constructing DDP broadcasts rank 0's parameters and buffers, so every rank starts equal; each
    ``backward()`` of the loss then leaves every rank with the rank-averaged gradients.
    """
    ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    synced = DistributedDataParallel(StepModules(model, extra, compute), device_ids=ids, find_unused_parameters=True)

    def forward(*args: Any) -> tuple[Any, Any]:
        outputs = synced(*args)
        return outputs, synced.module.side
    return forward


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
