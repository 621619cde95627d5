"""Model checkpoints as content-addressed safetensors blobs (never pickle).

A checkpoint is a small JSON *manifest* blob::

    {"format": "incseg-checkpoint/1",
     "tensors": {name: {"sha256": <blob of that tensor alone>, "dtype": "float32", "shape": [...]}},
     "model": <ModelConfig as dict>, "group_sizes": [...], "class_ids": [...], "extra": {...}}

plus one safetensors blob per tensor. A tensor that did not change since the parent version (a frozen
old class token, an untouched buffer) serialises to identical bytes, hence the same hash, and is stored
once. Loading parses safetensors and JSON only and checks every hash.

Saved with its parent (``parent=``), a checkpoint stores a changed float32 tensor as the parent's
entry plus a compressed bfloat16 difference (``training.deltas``) when that reproduces it exactly
(the step runner rounds an increment's weights so that it does): the entry then reads
``{"sha256": <root tensor>, "deltas": [<difference blob>, ...], ...}`` and its value is the root plus
each difference in order. Format ``incseg-checkpoint/2`` (version 1, without differences, still loads).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Protocol, Sequence

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import Tensor

from ..domain.config import ModelConfig, from_dict, to_dict
from ..domain.errors import BadFileError, NotFoundError
from .deltas import decode_delta, encode_delta, exact_delta

FORMAT = "incseg-checkpoint/2"
READABLE = ("incseg-checkpoint/1", FORMAT)
_KEY = "t"  # the single tensor name inside each per-tensor blob


class BlobStore(Protocol):
    """What checkpoints need from the blob store (``storage.blobs``)."""

    def put_bytes(self, data: bytes) -> str: ...

    def get_bytes(self, sha256: str) -> bytes: ...

    def exists(self, sha256: str) -> bool: ...


@dataclass
class Checkpoint:
    """A loaded model version: weights in channel order plus what is needed to rebuild the model.

    Attributes:
        state: model state dict (CPU tensors).
        model_cfg: the resolved ``ModelConfig``.
        group_sizes: class tokens per step, e.g. (1 + n_base, n_1, ...).
        class_ids: stable class id of each output channel (channel 0 = background id 0).
        extra: JSON-ready data saved with the version (method config, step losses, ...).
    """

    state: dict[str, Tensor]
    model_cfg: ModelConfig
    group_sizes: tuple[int, ...]
    class_ids: tuple[int, ...]
    extra: dict[str, Any] = field(default_factory=dict)


def tensor_blob(tensor: Tensor) -> bytes:
    """Deterministic safetensors bytes of one tensor (contiguous CPU copy)."""
    return save_safetensors({_KEY: tensor.detach().to("cpu").contiguous()})


def _put(store: BlobStore, blob: bytes, what: str) -> str:
    sha = hashlib.sha256(blob).hexdigest()
    if not store.exists(sha):
        stored = store.put_bytes(blob)
        if stored != sha:
            raise RuntimeError(f"blob store returned hash {stored} for {what}, expected {sha}")
    return sha


def save_checkpoint(store: BlobStore, state: Mapping[str, Tensor], model_cfg: ModelConfig,
                    group_sizes: Sequence[int], class_ids: Sequence[int], extra: Mapping[str, Any] | None = None,
                    parent: str | None = None) -> str:
    """Write every tensor blob not yet stored, then the manifest; returns the manifest's sha256.

    ``parent``: the manifest of the version this one was trained from; tensors equal to the parent's
    reuse its entry, and float32 tensors that its entry plus a bfloat16 difference reproduces exactly
    are stored as that difference.
    """
    if sum(group_sizes) != len(class_ids):
        raise ValueError(f"group sizes {tuple(group_sizes)} do not add up to {len(class_ids)} class ids")
    base_entries = _load_manifest(store, parent)["tensors"] if parent else {}
    base_values = load_checkpoint(store, parent).state if parent else {}
    tensors: dict[str, dict[str, Any]] = {}
    for name, tensor in state.items():
        tensor = tensor.detach().to("cpu")
        base = base_values.get(name)
        if base is not None and base.dtype == tensor.dtype and base.shape == tensor.shape and torch.equal(base, tensor):
            tensors[name] = base_entries[name]
            continue
        delta = exact_delta(tensor, base) if base is not None else None
        if delta is not None:
            entry = base_entries[name]
            sha = _put(store, encode_delta(delta), f"the difference of tensor {name}")
            tensors[name] = {**entry, "deltas": [*entry.get("deltas", []), sha]}
            continue
        tensors[name] = {"sha256": _put(store, tensor_blob(tensor), f"tensor {name}"),
                         "dtype": str(tensor.dtype).removeprefix("torch."), "shape": list(tensor.shape)}
    manifest = {"format": FORMAT, "tensors": tensors, "model": to_dict(model_cfg),
                "group_sizes": [int(g) for g in group_sizes], "class_ids": [int(c) for c in class_ids],
                "extra": dict(extra or {})}
    return store.put_bytes(json.dumps(manifest, sort_keys=True).encode())


def _load_manifest(store: BlobStore, sha256: str) -> dict[str, Any]:
    if not store.exists(sha256):
        raise NotFoundError(f"checkpoint {sha256}: not in the blob store")
    try:
        manifest = json.loads(store.get_bytes(sha256))
    except ValueError as exc:
        raise BadFileError(f"checkpoint {sha256}", f"manifest is not JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") not in READABLE:
        raise BadFileError(f"checkpoint {sha256}", f"not an {FORMAT} manifest")
    return manifest


def load_checkpoint(store: BlobStore, sha256: str) -> Checkpoint:
    """Read a manifest and its tensor blobs (safetensors only, each hash verified)."""
    manifest = _load_manifest(store, sha256)
    state: dict[str, Tensor] = {}
    for name, meta in manifest["tensors"].items():
        tensor = load_safetensors(_verified(store, meta["sha256"], sha256, name))[_KEY]
        if list(tensor.shape) != meta["shape"] or str(tensor.dtype).removeprefix("torch.") != meta["dtype"]:
            raise BadFileError(f"checkpoint {sha256}", f"tensor {name} has an unexpected shape or dtype")
        for delta_sha in meta.get("deltas", []):
            try:
                delta = decode_delta(_verified(store, delta_sha, sha256, name))
            except ValueError as exc:
                raise BadFileError(f"checkpoint {sha256}", f"tensor {name}: bad difference blob ({exc})") from exc
            if delta.shape != tensor.shape or tensor.dtype != torch.float32:
                raise BadFileError(f"checkpoint {sha256}", f"tensor {name}: difference of the wrong shape")
            tensor = tensor + delta.float()
        state[name] = tensor
    return Checkpoint(state=state, model_cfg=from_dict(ModelConfig, manifest["model"]),
                      group_sizes=tuple(manifest["group_sizes"]), class_ids=tuple(manifest["class_ids"]),
                      extra=dict(manifest.get("extra", {})))


def _verified(store: BlobStore, blob_sha: str, ckpt_sha: str, name: str) -> bytes:
    blob = store.get_bytes(blob_sha)
    if hashlib.sha256(blob).hexdigest() != blob_sha:
        raise BadFileError(f"checkpoint {ckpt_sha}", f"tensor {name} blob does not match its hash")
    return blob


def checkpoint_blobs(store: BlobStore, sha256: str) -> set[str]:
    """Every blob hash a checkpoint uses (manifest, tensors and their differences), e.g. for garbage
    collection."""
    manifest = _load_manifest(store, sha256)
    return {sha256, *(meta["sha256"] for meta in manifest["tensors"].values()),
            *(d for meta in manifest["tensors"].values() for d in meta.get("deltas", []))}


def build_from_checkpoint(ckpt: Checkpoint) -> torch.nn.Module:
    """Rebuild the ``Segmenter`` of a checkpoint (no ImageNet weights are read; the state replaces them)."""
    from ..models.build import build_model
    model = build_model(replace(ckpt.model_cfg, pretrained=False), ckpt.group_sizes)
    model.load_state_dict(ckpt.state, strict=True)
    return model
