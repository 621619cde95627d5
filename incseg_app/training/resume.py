"""Per-epoch resumable state of one training step, in a single safetensors file (no pickle).

Tensors: ``model/<name>``, ``module<i>/<name>`` (parts' extra trainable modules), ``part/<part>/<name>``
(parts that expose ``state_dict``/``load_state_dict`` of tensors), ``optim/<param index>/<key>`` and
``rng/cpu`` (+ ``rng/cuda<i>``). Everything else (epoch, iteration, losses, optimiser param groups and
non-tensor optimiser state) is JSON in the safetensors metadata, so one ``os.replace`` makes a
save atomic: a crash mid-save leaves the previous epoch's file intact.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

STATE_FILE = "step_state.safetensors"


@dataclass
class ResumeState:
    """What a step needs to continue after its last finished epoch.

    Attributes:
        epoch: number of finished epochs (training continues at this 0-based epoch).
        iteration: optimiser steps taken so far.
        epoch_losses: mean of every named loss per finished epoch.
        tensors: the flat tensor dict described in the module docstring.
        optim_meta: JSON-able optimiser param groups and non-tensor state.
        fingerprint: the step and configuration the state belongs to (``loop`` refuses others).
    """

    epoch: int
    iteration: int
    epoch_losses: list[dict[str, float]]
    tensors: dict[str, Tensor] = field(default_factory=dict)
    optim_meta: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""


def capture(epoch: int, iteration: int, epoch_losses: list[dict[str, float]], model: nn.Module,
            modules: list[nn.Module], parts: list[Any], optimizer: torch.optim.Optimizer) -> ResumeState:
    """Snapshot model, extra modules, part states, optimiser and RNG after ``epoch`` finished epochs."""
    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    for i, module in enumerate(modules):
        tensors.update({f"module{i}/{k}": v for k, v in module.state_dict().items()})
    for part in parts:
        if hasattr(part, "state_dict"):
            tensors.update({f"part/{part.name}/{k}": v for k, v in part.state_dict().items()})
    opt = optimizer.state_dict()
    plain_state: dict[str, dict[str, Any]] = {}
    for idx, slot in opt["state"].items():
        for key, value in slot.items():
            if isinstance(value, Tensor):
                tensors[f"optim/{idx}/{key}"] = value
            else:
                plain_state.setdefault(str(idx), {})[key] = value
    tensors["rng/cpu"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda{i}"] = s
    meta = {"param_groups": opt["param_groups"], "plain_state": plain_state}
    return ResumeState(epoch, iteration, epoch_losses, tensors, meta)


def restore(state: ResumeState, model: nn.Module, modules: list[nn.Module], parts: list[Any],
            optimizer: torch.optim.Optimizer) -> None:
    """Load a snapshot into freshly built objects of the same shapes."""
    def sub(prefix: str) -> dict[str, Tensor]:
        return {k[len(prefix):]: v for k, v in state.tensors.items() if k.startswith(prefix)}

    model.load_state_dict(sub("model/"), strict=True)
    for i, module in enumerate(modules):
        module.load_state_dict(sub(f"module{i}/"), strict=True)
    for part in parts:
        if hasattr(part, "load_state_dict"):
            part.load_state_dict(sub(f"part/{part.name}/"))
    opt_state: dict[int, dict[str, Any]] = {}
    for key, value in sub("optim/").items():
        idx, name = key.split("/", 1)
        opt_state.setdefault(int(idx), {})[name] = value
    for idx, plain in state.optim_meta.get("plain_state", {}).items():
        opt_state.setdefault(int(idx), {}).update(plain)
    optimizer.load_state_dict({"state": opt_state, "param_groups": state.optim_meta["param_groups"]})
    torch.set_rng_state(state.tensors["rng/cpu"])
    cuda_states = [state.tensors[k] for k in sorted(state.tensors) if k.startswith("rng/cuda")]
    if cuda_states and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda_states)


def save_state(directory: Path, state: ResumeState) -> Path:
    """Write ``directory/step_state.safetensors`` atomically; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / STATE_FILE
    tmp = directory / f".{STATE_FILE}.tmp"
    meta = {"epoch": str(state.epoch), "iteration": str(state.iteration),
            "epoch_losses": json.dumps(state.epoch_losses), "optim": json.dumps(state.optim_meta),
            "fingerprint": state.fingerprint}
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.tensors.items()}
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, path)
    return path


def load_state(directory: Path) -> ResumeState | None:
    """The saved state in ``directory``, or None when no epoch has finished yet."""
    path = directory / STATE_FILE
    if not path.is_file():
        return None
    from safetensors import safe_open
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    return ResumeState(epoch=int(meta["epoch"]), iteration=int(meta["iteration"]),
                       epoch_losses=json.loads(meta["epoch_losses"]), tensors=load_file(str(path)),
                       optim_meta=json.loads(meta["optim"]), fingerprint=meta.get("fingerprint", ""))
