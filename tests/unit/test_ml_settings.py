"""``--clip-pretrained`` reaches the segmentation encoder, and encoder weights that cannot load are an
error (at the request, and at the build), never a warning followed by random weights."""
from __future__ import annotations

from dataclasses import replace

import pytest

from incseg_app.domain.config import ModelConfig
from incseg_app.domain.errors import WeightsUnavailableError
from incseg_app.models import build_model
from incseg_app.services import versions
from incseg_app.services.ml_settings import MLSettings, check_encoder_weights
from incseg_app.services.training import TrainRequest, train_step
from store_helpers import add_shapes_project, tiny_store  # noqa: F401

VIT = ModelConfig(encoder="openclip_vit", embed_dim=32, decoder_heads=4, decoder_layers=1)


def test_clip_options_reach_encoder_and_labeller(monkeypatch):
    monkeypatch.delenv("INCSEG_CLIP_PRETRAINED", raising=False)
    ml = MLSettings.from_env(encoder="openclip_vit", clip_model="ViT-B-32", clip_pretrained="/w/clip.safetensors")
    assert (ml.model.encoder, ml.model.clip_model, ml.model.clip_pretrained) == \
        ("openclip_vit", "ViT-B-32", "/w/clip.safetensors")
    assert (ml.labeling.clip_model, ml.labeling.clip_pretrained) == ("ViT-B-32", "/w/clip.safetensors")
    monkeypatch.setenv("INCSEG_CLIP_PRETRAINED", "/env/clip.pt")
    assert MLSettings.from_env().model.clip_pretrained == "/env/clip.pt"


def test_openclip_without_weights_is_refused(tmp_path, tiny_openclip):
    with pytest.raises(WeightsUnavailableError, match="without weights"):
        check_encoder_weights(VIT)
    with pytest.raises(WeightsUnavailableError, match="without weights"):
        build_model(VIT, (2,))
    with pytest.raises(WeightsUnavailableError, match="absent.pt"):
        check_encoder_weights(replace(VIT, clip_pretrained=str(tmp_path / "absent.pt")))
    name, checkpoint = tiny_openclip
    check_encoder_weights(replace(VIT, clip_model=name, clip_pretrained=str(checkpoint)))  # loads: no error
    check_encoder_weights(replace(VIT, pretrained=False))  # rebuilt from a checkpoint: weights come from it


def test_loaded_clip_weights_reach_the_segmenter(tiny_openclip):
    import torch

    name, checkpoint = tiny_openclip
    cfg = replace(VIT, clip_model=name, clip_pretrained=str(checkpoint))
    loaded = build_model(cfg, (2,)).encoder.visual.conv1.weight
    saved = torch.load(checkpoint, weights_only=True)
    saved = saved.get("state_dict", saved)
    assert torch.equal(loaded, saved["visual.conv1.weight"])
    torch.manual_seed(0)
    random = build_model(replace(cfg, pretrained=False), (2,)).encoder.visual.conv1.weight
    assert not torch.equal(random, loaded)


def test_training_with_a_missing_encoder_file_fails_before_any_version(tiny_store, tmp_path):
    ctx = tiny_store
    add_shapes_project(ctx, (0,), n_train=2, n_val=1)
    ctx.ml = replace(ctx.ml, model=replace(VIT, clip_pretrained=str(tmp_path / "gone.safetensors")))
    with pytest.raises(WeightsUnavailableError, match="gone.safetensors"):
        train_step(ctx, TrainRequest(method="finetune"))
    assert versions.list_versions(ctx) == []
