"""Every encoder builder: shapes and strides, real EfficientNet-Lite0 weights, the open_clip loading
path with a tiny random ViT saved to a file, and exact growth / round trips on the real encoders."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from incseg_app.domain.config import ModelConfig
from incseg_app.domain.errors import WeightsUnavailableError
from incseg_app.models import ENCODER_BUILDERS, build_model
from incseg_app.models.encoders.efficientnet import EfficientNetLite0Encoder, lite0_weights_path


def _config(name: str, tiny_openclip: tuple[str, Path], **changes) -> ModelConfig:
    base = {"encoder": name, "embed_dim": 32, "decoder_heads": 4, "decoder_layers": 1}
    if name == "openclip_vit":
        clip_name, checkpoint = tiny_openclip
        base.update(clip_model=clip_name, clip_pretrained=str(checkpoint))
    return ModelConfig(**{**base, **changes})


EXPECTED = {  # encoder -> (out_channels, stride at output_stride=8)
    "efficientnet_lite0": (128, 8),
    "openclip_vit": (32, 8),  # the tiny ViT: width 32, patch 8
    "tiny": (32, 8),
}


def test_every_builder_has_an_expectation():
    assert set(EXPECTED) == set(ENCODER_BUILDERS)


@pytest.mark.parametrize("name", sorted(ENCODER_BUILDERS))
def test_encoder_shapes_and_stride(name, tiny_openclip):
    encoder = ENCODER_BUILDERS[name](_config(name, tiny_openclip)).eval()
    channels, stride = EXPECTED[name]
    assert (encoder.out_channels, encoder.stride) == (channels, stride)
    with torch.no_grad():
        features = encoder(torch.rand(2, 3, 64, 80))
    assert features.shape == (2, channels, 64 // stride, 80 // stride)
    assert torch.isfinite(features).all()


@pytest.mark.parametrize("name", ["efficientnet_lite0", "tiny"])
@pytest.mark.parametrize("stride", [8, 16])
def test_cnn_encoders_fuse_to_output_stride_on_odd_sizes(name, stride, tiny_openclip):
    encoder = ENCODER_BUILDERS[name](_config(name, tiny_openclip, output_stride=stride)).eval()
    with torch.no_grad():
        features = encoder(torch.rand(1, 3, 70, 90))
    assert encoder.stride == stride
    assert features.shape[-2:] == (-(-70 // stride), -(-90 // stride))


@pytest.mark.parametrize("name", sorted(ENCODER_BUILDERS))
def test_growth_preserves_old_logits_on_every_encoder(name, tiny_openclip):
    model = build_model(_config(name, tiny_openclip), (3,)).eval()
    images = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        before = model(images).logits
        model.grow(2)
        after = model(images).logits
    assert after.shape == (1, 5, 64, 64)
    assert torch.equal(after[:, :3], before)


@pytest.mark.parametrize("name", sorted(ENCODER_BUILDERS))
def test_state_dict_round_trip_through_build_model(name, tiny_openclip):
    cfg = _config(name, tiny_openclip)
    model = build_model(cfg, (3,))
    model.grow(1)
    with torch.no_grad():  # move weights away from any initialisation the copy could reproduce
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    model.eval()
    copy = build_model(cfg, model.group_sizes).eval()
    copy.load_state_dict(model.state_dict())
    images = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(copy(images).logits, model(images).logits)


def test_efficientnet_loads_the_wheel_imagenet_weights():
    state = torch.load(lite0_weights_path(), weights_only=True, map_location="cpu")
    pretrained = EfficientNetLite0Encoder(pretrained=True)
    random = EfficientNetLite0Encoder(pretrained=False)
    assert pretrained.taps == (4, 10, 15)
    assert torch.equal(pretrained.stem[0].weight, state["_conv_stem.weight"])
    assert torch.equal(pretrained.stem[1].running_var, state["_bn0.running_var"])
    assert torch.equal(pretrained.blocks[15]._project_conv.weight, state["_blocks.15._project_conv.weight"])
    assert not torch.equal(random.stem[0].weight, state["_conv_stem.weight"])


def test_efficientnet_features_are_deterministic_in_eval():
    encoder = EfficientNetLite0Encoder(pretrained=True).eval()
    image = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        assert torch.equal(encoder(image), encoder(image))


@pytest.mark.parametrize("damage", ["drop_key", "extra_key", "wrong_shape"])
def test_efficientnet_mismatched_weights_fail_loudly(damage, tmp_path):
    state = torch.load(lite0_weights_path(), weights_only=True, map_location="cpu")
    if damage == "drop_key":
        del state["_blocks.3._bn1.weight"]
    elif damage == "extra_key":
        state["_extra.weight"] = torch.zeros(1)
    else:
        state["_fc.bias"] = torch.zeros(10)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(WeightsUnavailableError, match="do not match"):
        EfficientNetLite0Encoder(pretrained=True, weights_path=path)


def test_efficientnet_unreadable_weights_file(tmp_path):
    path = tmp_path / "broken.pth"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsUnavailableError, match="broken.pth"):
        EfficientNetLite0Encoder(pretrained=True, weights_path=path)


def test_openclip_encoder_loads_the_saved_checkpoint(tiny_openclip):
    _, checkpoint = tiny_openclip
    state = torch.load(checkpoint, weights_only=True, map_location="cpu")
    encoder = ENCODER_BUILDERS["openclip_vit"](_config("openclip_vit", tiny_openclip))
    loaded = {f"visual.{k}": v for k, v in encoder.visual.state_dict().items()}
    assert loaded, "the encoder holds the visual tower"
    for key, value in loaded.items():
        assert torch.equal(value, state[key]), key
    assert "visual.proj" not in loaded and "visual.proj" in state


def test_openclip_features_match_open_clip_patch_tokens_at_native_size(tiny_openclip):
    import open_clip

    name, checkpoint = tiny_openclip
    reference = open_clip.create_model(name, pretrained=str(checkpoint)).visual.eval()
    reference.output_tokens = True
    encoder = ENCODER_BUILDERS["openclip_vit"](_config("openclip_vit", tiny_openclip)).eval()
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        _, tokens = reference(encoder.normalize(images))
        features = encoder(images)
    torch.testing.assert_close(features.flatten(2).transpose(1, 2), tokens, rtol=1e-5, atol=1e-5)


def test_openclip_encoder_accepts_non_native_sizes(tiny_openclip):
    encoder = ENCODER_BUILDERS["openclip_vit"](_config("openclip_vit", tiny_openclip)).eval()
    with torch.no_grad():
        assert encoder(torch.rand(1, 3, 40, 57)).shape == (1, 32, 5, 8)
        assert encoder(torch.rand(1, 3, 96, 64)).shape == (1, 32, 12, 8)


def test_openclip_missing_weights_file_is_a_domain_error(tiny_openclip, tmp_path):
    cfg = _config("openclip_vit", tiny_openclip, clip_pretrained=str(tmp_path / "absent.pt"))
    with pytest.raises(WeightsUnavailableError, match="absent.pt"):
        build_model(cfg, (3,))


def test_openclip_segmenter_trains_new_tokens(tiny_openclip):
    model = build_model(_config("openclip_vit", tiny_openclip), (2,))
    model.grow(1)
    model.train()
    out = model(torch.rand(2, 3, 32, 32))
    out.logits[:, 2].mean().backward()
    assert model.token_groups[1].grad.abs().sum() > 0
    assert model.encoder.visual.conv1.weight.grad.abs().sum() > 0


def test_openclip_unreadable_weights_file_is_a_domain_error(tiny_openclip, tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsUnavailableError, match="garbage.pt"):
        build_model(_config("openclip_vit", tiny_openclip, clip_pretrained=str(path)), (3,))
