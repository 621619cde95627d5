"""Checkpoints: safetensors round trip, content-addressed sharing with the parent, no pickle."""
from __future__ import annotations

import hashlib
import json
import pickle

import pytest
import torch

from incseg_app.domain.config import ModelConfig
from incseg_app.domain.errors import BadFileError, NotFoundError
from incseg_app.models.build import build_model
from incseg_app.training.checkpoint import build_from_checkpoint, checkpoint_blobs, load_checkpoint, save_checkpoint

CFG = ModelConfig(encoder="tiny", pretrained=False, embed_dim=32, decoder_heads=4, decoder_layers=1)


class MemoryStore:
    """In-memory blob store satisfying ``checkpoint.BlobStore``; counts writes."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.puts = 0

    def put_bytes(self, data: bytes) -> str:
        self.puts += 1
        sha = hashlib.sha256(data).hexdigest()
        self.blobs[sha] = data
        return sha

    def get_bytes(self, sha256: str) -> bytes:
        return self.blobs[sha256]

    def exists(self, sha256: str) -> bool:
        return sha256 in self.blobs


def test_round_trip_restores_weights_config_and_channel_map():
    store = MemoryStore()
    model = build_model(CFG, (3,)).eval()
    sha = save_checkpoint(store, model.state_dict(), CFG, (3,), (0, 4, 7), extra={"method": "mib"})
    ckpt = load_checkpoint(store, sha)
    assert ckpt.model_cfg == CFG and ckpt.group_sizes == (3,) and ckpt.class_ids == (0, 4, 7)
    assert ckpt.extra == {"method": "mib"}
    assert set(ckpt.state) == set(model.state_dict())
    rebuilt = build_from_checkpoint(ckpt).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(rebuilt(x).logits, model(x).logits)


def test_tensors_unchanged_since_the_parent_are_stored_once():
    store = MemoryStore()
    parent = build_model(CFG, (3,))
    parent_sha = save_checkpoint(store, parent.state_dict(), CFG, (3,), (0, 1, 2))
    child = build_model(CFG, (3,))
    child.load_state_dict(parent.state_dict())
    child.grow(2)
    with torch.no_grad():
        child.decoder.input_proj.weight.add_(1.0)  # one trained tensor changes
    before = set(store.blobs)
    child_sha = save_checkpoint(store, child.state_dict(), CFG, (3, 2), (0, 1, 2, 3, 4))
    added = set(store.blobs) - before
    # new: the changed weight, the new token group, the new bias group, and the manifest
    assert len(added) == 4
    parent_tensors = json.loads(store.blobs[parent_sha])["tensors"]
    child_tensors = json.loads(store.blobs[child_sha])["tensors"]
    same = [n for n, meta in parent_tensors.items() if child_tensors[n]["sha256"] == meta["sha256"]]
    assert set(parent_tensors) - set(same) == {"decoder.input_proj.weight"}
    assert checkpoint_blobs(store, parent_sha) <= checkpoint_blobs(store, child_sha) | {parent_sha} | {
        parent_tensors["decoder.input_proj.weight"]["sha256"]}


def test_saving_twice_writes_only_the_manifest_again():
    store = MemoryStore()
    model = build_model(CFG, (2,))
    save_checkpoint(store, model.state_dict(), CFG, (2,), (0, 1))
    puts = store.puts
    save_checkpoint(store, model.state_dict(), CFG, (2,), (0, 1))
    assert store.puts == puts + 1


def test_loading_uses_no_pickle(monkeypatch):
    store = MemoryStore()
    model = build_model(CFG, (2,))
    sha = save_checkpoint(store, model.state_dict(), CFG, (2,), (0, 1))

    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    assert set(load_checkpoint(store, sha).state) == set(model.state_dict())


def test_corrupt_tensor_blob_is_rejected():
    store = MemoryStore()
    model = build_model(CFG, (2,))
    sha = save_checkpoint(store, model.state_dict(), CFG, (2,), (0, 1))
    name, meta = next(iter(json.loads(store.blobs[sha])["tensors"].items()))
    store.blobs[meta["sha256"]] = b"not the tensor"
    with pytest.raises(BadFileError, match=name):
        load_checkpoint(store, sha)


def test_missing_or_foreign_manifest_is_reported():
    store = MemoryStore()
    with pytest.raises(NotFoundError):
        load_checkpoint(store, "0" * 64)
    sha = store.put_bytes(b'{"hello": 1}')
    with pytest.raises(BadFileError, match="manifest"):
        load_checkpoint(store, sha)


def test_group_sizes_must_match_class_ids():
    with pytest.raises(ValueError, match="add up"):
        save_checkpoint(MemoryStore(), {}, CFG, (3,), (0, 1))
