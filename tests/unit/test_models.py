"""Segmenter + class-token decoder on the tiny encoder: shapes, exact growth, round trips, gradients."""
from __future__ import annotations

import pytest
import torch

from incseg_app.domain.config import ModelConfig
from incseg_app.domain.errors import ValidationError
from incseg_app.models import Segmenter, build_model
from incseg_app.models.decoder import sincos_position_encoding

TINY = ModelConfig(encoder="tiny", embed_dim=32, decoder_heads=4, decoder_layers=1)


def _tiny(group_sizes=(3,), **changes) -> Segmenter:
    cfg = ModelConfig(**{**TINY.__dict__, **changes})
    return build_model(cfg, group_sizes).eval()


@pytest.mark.parametrize("stride", [8, 16])
def test_forward_shapes_and_normalised_embeddings(stride):
    model = _tiny((3, 2), output_stride=stride)
    out = model(torch.rand(2, 3, 64, 48))
    h, w = 64 // stride, 48 // stride
    assert model.stride == stride
    assert out.logits.shape == (2, 5, 64, 48)
    assert out.pixel_emb.shape == (2, 32, h, w)
    assert out.class_emb.shape == (2, 5, 32)
    assert out.features.shape == (2, model.encoder.out_channels, h, w)
    torch.testing.assert_close(out.pixel_emb.norm(dim=1), torch.ones(2, h, w))
    torch.testing.assert_close(out.class_emb.norm(dim=2), torch.ones(2, 5))


def test_odd_input_size_gives_ceil_feature_size():
    out = _tiny()(torch.rand(1, 3, 67, 41))
    assert out.logits.shape == (1, 3, 67, 41)
    assert out.features.shape[-2:] == (9, 6)


def test_logits_are_cosine_over_temperature_plus_bias():
    model = _tiny((2, 1), temperature=0.5)
    with torch.no_grad():
        model.bias_groups[1].fill_(3.0)
    images = torch.rand(1, 3, 32, 32)
    out = model(images)
    features = model.encoder(images)
    masks, _, _ = model.decoder(features)
    cos = torch.einsum("bkd,bdhw->bkhw", out.class_emb, out.pixel_emb)
    torch.testing.assert_close(masks, cos / 0.5 + torch.tensor([0.0, 0.0, 3.0]).view(1, 3, 1, 1))
    assert out.logits[:, :2].abs().max() <= 2.0 + 1e-5


def test_channel_bookkeeping():
    model = _tiny((3, 2))
    assert model.num_classes == 5
    assert model.group_sizes == (3, 2)
    assert model.channel_steps == (0, 0, 0, 1, 1)
    assert [tuple(t.shape) for t in model.token_groups] == [(3, 32), (2, 32)]
    assert [tuple(b.shape) for b in model.bias_groups] == [(3,), (2,)]
    model.grow(4)
    assert model.channel_steps == (0, 0, 0, 1, 1, 2, 2, 2, 2)
    assert len(model.token_groups) == len(model.bias_groups) == 3


def test_growth_preserves_old_outputs_exactly():
    model = _tiny((3,))
    images = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        before = model(images)
        model.grow(2)
        after_one = model(images)
        model.grow(1)
        after_two = model(images)
    assert after_one.logits.shape[1] == 5 and after_two.logits.shape[1] == 6
    assert torch.equal(after_one.logits[:, :3], before.logits)
    assert torch.equal(after_one.pixel_emb, before.pixel_emb)
    assert torch.equal(after_one.class_emb[:, :3], before.class_emb)
    assert torch.equal(after_two.logits[:, :5], after_one.logits)


def test_new_tokens_are_small_and_distinct_from_old():
    model = _tiny((3,))
    model.grow(2)
    new = model.token_groups[1]
    assert new.norm(dim=1).max() < 0.5
    assert not torch.equal(new[0], new[1])
    assert torch.equal(model.bias_groups[1].detach(), torch.zeros(2))


def test_later_steps_do_not_influence_base_channels():
    model = _tiny((3, 2))
    images = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        before = model(images).logits[:, :3]
        model.token_groups[1].add_(torch.randn(2, 32))
        after = model(images).logits[:, :3]
    assert torch.equal(before, after)


def test_step_tokens_attend_to_earlier_steps():
    model = _tiny((3, 2, 1), decoder_layers=2)
    images = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        before = model(images).logits
        model.token_groups[1].add_(torch.randn(2, 32))
        after = model(images).logits
    assert torch.equal(before[:, :3], after[:, :3])
    assert not torch.allclose(before[:, 5], after[:, 5])


def test_state_dict_round_trip_after_growth():
    model = _tiny((3,))
    model.grow(2)
    images = torch.rand(2, 3, 64, 64)
    copy = build_model(TINY, model.group_sizes).eval()
    copy.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.equal(copy(images).logits, model(images).logits)


def test_gradient_reaches_new_tokens_and_biases():
    model = _tiny((3,))
    model.grow(2)
    model.train()
    out = model(torch.rand(2, 3, 32, 32))
    out.logits[:, 3:].logsumexp(dim=1).mean().backward()
    assert model.token_groups[1].grad is not None and model.token_groups[1].grad.abs().sum() > 0
    assert model.bias_groups[1].grad.abs().sum() > 0


def test_every_parameter_gets_a_gradient():
    """No unused parameters (DDP without find_unused_parameters)."""
    model = _tiny((3, 2), learn_temperature=True)
    model.train()
    out = model(torch.rand(2, 3, 32, 32))
    (out.logits.square().mean() + out.features.mean()).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert missing == []


def test_temperature_learnable_or_fixed():
    fixed = _tiny(temperature=0.1)
    learned = _tiny(temperature=0.1, learn_temperature=True)
    assert fixed.temperature == pytest.approx(0.1)
    assert "decoder.log_scale" in dict(learned.named_parameters())
    assert "decoder.log_scale" not in dict(fixed.named_parameters())
    assert "decoder.log_scale" in fixed.state_dict()


@pytest.mark.parametrize("sizes", [(), (3, 0), (-1,)])
def test_bad_group_sizes_are_rejected(sizes):
    with pytest.raises(ValidationError, match="group_sizes"):
        build_model(TINY, sizes)


def test_grow_by_zero_is_rejected():
    with pytest.raises(ValidationError, match="at least one"):
        _tiny().grow(0)


def test_position_encoding_distinguishes_positions():
    pe = sincos_position_encoding(4, 5, 32, torch.device("cpu"), torch.float32)
    assert pe.shape == (20, 32)
    assert torch.unique(pe, dim=0).shape[0] == 20
    assert pe.abs().max() <= 1.0
