"""Compact increments: changed weights stored as the parent's plus a compressed bfloat16 difference."""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from incseg_app.domain.config import MethodConfig, TrainConfig
from incseg_app.domain.errors import BadFileError
from incseg_app.methods.registry import get_method
from incseg_app.models.build import build_model
from incseg_app.training.checkpoint import checkpoint_blobs, load_checkpoint, save_checkpoint, tensor_blob
from incseg_app.training.deltas import decode_delta, encode_delta, round_to_parent
from incseg_app.training.step import run_incremental_step

sys.path.insert(0, str(Path(__file__).parent))
from test_checkpoint import CFG, MemoryStore  # noqa: E402
from test_loop import MODEL, colour_items  # noqa: E402


def _trained_child(parent: torch.nn.Module, scale: float = 1e-2, seed: int = 0) -> dict[str, torch.Tensor]:
    """The parent grown by 2 classes with every decoder/neck weight moved a little (like a step)."""
    child = build_model(CFG, (3,))
    child.load_state_dict(parent.state_dict())
    child.grow(2)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in child.named_parameters():
            if name.startswith(("decoder.", "encoder.fusion.")):
                p.add_(torch.randn(p.shape, generator=gen) * scale * (p.abs().mean() + 1e-3))
    return child.state_dict()


def _bytes(store: MemoryStore, shas: set[str]) -> int:
    return sum(len(store.blobs[s]) for s in shas)


def test_difference_blobs_round_trip_bit_for_bit():
    delta = (torch.randn(7, 5) * 1e-3).to(torch.bfloat16)
    assert torch.equal(decode_delta(encode_delta(delta)).view(torch.int16), delta.view(torch.int16))
    with pytest.raises(ValueError, match="not a"):
        decode_delta(tensor_blob(torch.zeros(3)))  # a plain tensor blob is not a difference


def test_rounded_increment_is_stored_as_differences_and_loads_exactly():
    store = MemoryStore()
    parent = build_model(CFG, (3,))
    parent_sha = save_checkpoint(store, parent.state_dict(), CFG, (3,), (0, 1, 2))
    trained = _trained_child(parent)
    rounded = round_to_parent(trained, parent.state_dict())
    moved = [k for k in trained if k in parent.state_dict() and not torch.equal(trained[k], parent.state_dict()[k])]
    assert moved and all((rounded[k] - trained[k]).abs().max() <= 4e-3 * (trained[k] - parent.state_dict()[k]).abs().max()
                         for k in moved)
    child_sha = save_checkpoint(store, rounded, CFG, (3, 2), (0, 1, 2, 3, 4), parent=parent_sha)
    loaded = load_checkpoint(store, child_sha).state
    assert all(torch.equal(loaded[k], rounded[k]) for k in rounded)
    manifest = json.loads(store.blobs[child_sha])
    assert manifest["format"] == "incseg-checkpoint/2"
    assert all(manifest["tensors"][k].get("deltas") for k in moved)
    added = checkpoint_blobs(store, child_sha) - checkpoint_blobs(store, parent_sha)
    changed_raw = sum(rounded[k].numel() * 4 for k in moved)
    assert _bytes(store, added) < 0.55 * changed_raw  # about a third, plus the manifest and new tokens


def test_a_chain_of_increments_loads_exactly_and_lists_every_blob():
    store = MemoryStore()
    parent = build_model(CFG, (3,))
    shas = [save_checkpoint(store, parent.state_dict(), CFG, (3,), (0, 1, 2))]
    first = round_to_parent(_trained_child(parent), parent.state_dict())
    shas.append(save_checkpoint(store, first, CFG, (3, 2), (0, 1, 2, 3, 4), parent=shas[0]))
    second = {k: v.clone() for k, v in first.items()}
    second["decoder.pixel_head.weight"] += 1e-3
    second = round_to_parent(second, first)
    shas.append(save_checkpoint(store, second, CFG, (3, 2), (0, 1, 2, 3, 4), parent=shas[1]))
    loaded = load_checkpoint(store, shas[2]).state
    assert all(torch.equal(loaded[k], second[k]) for k in second)
    entry = json.loads(store.blobs[shas[2]])["tensors"]["decoder.pixel_head.weight"]
    assert len(entry["deltas"]) == 2 and set(entry["deltas"]) <= checkpoint_blobs(store, shas[2])
    assert checkpoint_blobs(store, shas[1]) - {shas[1]} <= checkpoint_blobs(store, shas[2])


def test_unrounded_changes_are_stored_in_full():
    store = MemoryStore()
    parent = build_model(CFG, (3,))
    parent_sha = save_checkpoint(store, parent.state_dict(), CFG, (3,), (0, 1, 2))
    trained = _trained_child(parent)
    sha = save_checkpoint(store, trained, CFG, (3, 2), (0, 1, 2, 3, 4), parent=parent_sha)
    manifest = json.loads(store.blobs[sha])
    assert not any(e.get("deltas") for e in manifest["tensors"].values())
    assert all(torch.equal(load_checkpoint(store, sha).state[k], v) for k, v in trained.items())


def test_a_damaged_difference_blob_is_refused():
    store = MemoryStore()
    parent = build_model(CFG, (3,))
    parent_sha = save_checkpoint(store, parent.state_dict(), CFG, (3,), (0, 1, 2))
    rounded = round_to_parent(_trained_child(parent), parent.state_dict())
    sha = save_checkpoint(store, rounded, CFG, (3, 2), (0, 1, 2, 3, 4), parent=parent_sha)
    delta_sha = json.loads(store.blobs[sha])["tensors"]["decoder.pixel_head.weight"]["deltas"][0]
    store.blobs[delta_sha] = store.blobs[delta_sha][:-4] + b"\x00\x00\x00\x00"
    with pytest.raises(BadFileError, match="does not match its hash"):
        load_checkpoint(store, sha)


def test_version_one_manifests_still_load():
    store = MemoryStore()
    model = build_model(CFG, (3,))
    sha = save_checkpoint(store, model.state_dict(), CFG, (3,), (0, 1, 2))
    manifest = json.loads(store.blobs[sha])
    manifest["format"] = "incseg-checkpoint/1"
    old = store.put_bytes(json.dumps(manifest, sort_keys=True).encode())
    assert all(torch.equal(load_checkpoint(store, old).state[k], v) for k, v in model.state_dict().items())


def test_an_increment_is_rounded_to_parent_plus_bfloat16_differences():
    cfg = TrainConfig(epochs=1, batch_size=2, crop_size=32, lr=3e-3, encoder_lr_mult=0.0)
    data = colour_items(4)
    parent = run_incremental_step(MODEL, cfg, get_method("finetune"), MethodConfig("finetune"), data, [1, 2]).checkpoint()
    for rounded in (True, False):
        step = run_incremental_step(MODEL, replace(cfg, delta_weights=rounded), get_method("mib"), MethodConfig("mib"),
                                    data, [3], parent)
        state = step.checkpoint().state
        moved = [k for k, v in parent.state.items() if v.dtype == torch.float32 and not torch.equal(state[k], v)]
        exact = [torch.equal(parent.state[k] + (state[k] - parent.state[k]).to(torch.bfloat16).float(), state[k])
                 for k in moved]
        assert moved and (all(exact) if rounded else not all(exact))
