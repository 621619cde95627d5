"""Cached backbone taps: keys and invalidation, feature-space crop alignment, and cached training,
evaluation and prediction matching the pixel path."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from incseg_app.domain.config import MethodConfig, TrainConfig
from incseg_app.domain.errors import ValidationError
from incseg_app.methods.registry import METHODS, get_method
from incseg_app.models.build import ENCODER_BUILDERS, build_model
from incseg_app.models.encoders.base import IMAGENET_MEAN, IMAGENET_STD, Encoder, FPNFusion
from incseg_app.training.data import Augment, InMemoryDataset, StepDataset, step_lookup
from incseg_app.training.evaluate import evaluate, predict_logits
from incseg_app.training.featcache import FeatureCache
from incseg_app.training.step import prepare_step, run_incremental_step, taps_path
from incseg_app.training.taps import TapSource, encoder_fingerprint, predict_logits_cached
from incseg_app.training.views import Crop, View, crop_map, crop_pixels, crop_taps, eval_view, render_view

sys.path.insert(0, str(Path(__file__).parent))
from test_loop import MODEL, colour_items  # noqa: E402

CPU = torch.device("cpu")
FROZEN = TrainConfig(epochs=3, batch_size=4, crop_size=32, lr=5e-3, encoder_lr_mult=0.0, scales=(1.0,), seed=0)


class PoolEncoder(Encoder):
    """A purely local backbone (average pools with kernel = stride): the taps of a crop are exactly the
    crop of the taps, so any misalignment between pixel and feature crops shows."""

    def __init__(self) -> None:
        super().__init__(6, 8, IMAGENET_MEAN, IMAGENET_STD)
        self.tap_strides = (8, 16, 32)
        self.fusion = FPNFusion((3, 3, 3), self.tap_strides, 6, 8)

    def backbone(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = self.normalize(images)
        return [F.avg_pool2d(x, s, ceil_mode=True) for s in self.tap_strides]


def _model_with(encoder: Encoder) -> torch.nn.Module:
    model = build_model(MODEL, (3,))
    model.encoder = encoder
    model.decoder.input_proj = torch.nn.Conv2d(encoder.out_channels, MODEL.embed_dim, 1)
    return model


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("view", [View(1.0), View(1.0, True), View(0.5), View(0.5, True)])
@pytest.mark.parametrize("top,left", [(0, 0), (32, 0), (64, 32)])
def test_feature_crops_align_with_pixel_crops_at_every_stride(view, top, left):
    model = _model_with(PoolEncoder())
    source = TapSource(model, FeatureCache(), CPU)
    image = _image(192, 128)
    crop = Crop(view, top, left, 32)
    pixels = crop_pixels(render_view(torch.from_numpy(image).permute(2, 0, 1).float() / 255, view), crop)
    direct = [t[0] for t in model.encoder.backbone(pixels[None])]
    from_view = crop_taps(source.encode(image, view), source.strides, crop)
    assert [t.shape for t in from_view] == [(3, 4, 4), (3, 2, 2), (3, 1, 1)]
    for a, b in zip(from_view, direct):
        assert torch.allclose(a, b, atol=1e-5)
    cached = crop_taps(source.view_taps({"image": image, "image_key": "img"}, view), source.strides, crop)
    for a, b in zip(cached, direct):
        assert torch.allclose(a.float(), b, atol=2e-2)


@pytest.mark.parametrize("view", [View(1.0, True), View(0.75), View(1.5, True)])
def test_label_crops_follow_nearest_resize_and_flip(view):
    labels = np.random.default_rng(1).integers(0, 5, (40, 56)).astype(np.uint8)
    vh, vw = view.size(40, 56)
    ref = F.interpolate(torch.from_numpy(labels)[None, None].float(), size=(vh, vw), mode="nearest")[0, 0]
    ref = ref.flip(-1) if view.flip else ref
    ref = F.pad(ref, (0, 64, 0, 64), value=255)
    for top, left in ((0, 0), (32, 32)):
        got = crop_map(labels, Crop(view, top, left, 32), 255)
        assert np.array_equal(got, ref[top:top + 32, left:left + 32].numpy().astype(np.uint8))


def test_cached_and_pixel_datasets_draw_the_same_crops_and_targets():
    data = colour_items(4, 64)
    model = build_model(MODEL, (4,))
    source = TapSource(model, FeatureCache(), CPU)
    aug = Augment(32, (0.75, 1.0, 1.5), True, 32)
    lookup = step_lookup((0, 1, 2, 3), (1, 2, 3))
    pixel, cached = StepDataset(data, lookup, 4, aug, 5), StepDataset(data, lookup, 4, aug, 5, taps=source)
    for epoch in (0, 1):
        pixel.epoch = cached.epoch = epoch
        for i in range(len(data)):
            a, b = pixel[i], cached[i]
            assert torch.equal(a["labels"], b["labels"]) and torch.equal(a["confidence"], b["confidence"])
            assert torch.equal(a["tags"], b["tags"]) and "images" not in b
            assert [t.shape[1:] for t in b["taps"]] == [(4, 4), (2, 2), (1, 1)]


def test_keys_change_with_backbone_weights_but_not_with_the_neck():
    model = build_model(MODEL, (3,))
    item = {"image": _image(64, 64), "image_key": "a"}
    source = TapSource(model, FeatureCache(), CPU)
    before = source.fingerprint
    source.view_taps(item, View())
    source.view_taps(item, View())
    assert source.computed == 1
    with torch.no_grad():
        model.encoder.fusion.smooth[0].weight.add_(1.0)  # the neck trains: taps stay valid
    assert encoder_fingerprint(model.encoder) == before
    source.check_unchanged()
    with torch.no_grad():
        model.encoder.stages[0][0].weight.mul_(1.1)  # the backbone changed: a new key, taps recomputed
    with pytest.raises(RuntimeError, match="backbone changed"):
        source.check_unchanged()
    fresh = TapSource(model, source.cache, CPU)
    assert fresh.fingerprint != before
    fresh.view_taps(item, View())
    assert fresh.computed == 1 and source.cache.stats.stored == 2


def test_a_new_image_content_or_view_is_a_new_entry(tmp_path):
    model = build_model(MODEL, (3,))
    source = TapSource(model, FeatureCache(tmp_path), CPU)
    source.view_taps({"image": _image(64, 64, 0)}, View())
    source.view_taps({"image": _image(64, 64, 1)}, View())  # same shape, other pixels
    source.view_taps({"image": _image(64, 64, 0)}, View(1.0, True))
    source.view_taps({"image": _image(64, 64, 0)}, View())
    assert source.computed == 3


def test_a_damaged_cache_file_is_recomputed_to_the_same_taps(tmp_path):
    model = build_model(MODEL, (3,)).eval()
    item = {"image": _image(64, 96), "image_key": "x"}
    first = [t.clone() for t in TapSource(model, FeatureCache(tmp_path), CPU).view_taps(item, View(0.75))]
    for path in tmp_path.rglob("*.taps"):
        path.write_bytes(path.read_bytes()[:-10])
    source = TapSource(model, FeatureCache(tmp_path), CPU)
    again = source.view_taps(item, View(0.75))
    assert source.computed == 1 and source.cache.stats.rejected == 1
    assert all(torch.equal(a, b) for a, b in zip(first, again))


def test_whole_view_taps_are_chosen_only_for_a_frozen_backbone_and_pixel_free_parts():
    model = build_model(MODEL, (3,))
    mib = get_method("mib").build(MethodConfig("mib"))
    assert taps_path(FROZEN, mib, model) == (True, "frozen backbone")
    assert taps_path(replace(FROZEN, cache_features=False), mib, model)[0]  # recomputed, not stored
    assert not taps_path(replace(FROZEN, encoder_lr_mult=0.1), mib, model)[0]
    assert not taps_path(replace(FROZEN, crop_space="pixels"), mib, model)[0]
    assert not taps_path(replace(FROZEN, crop_size=48), mib, model)[0]
    used, reason = taps_path(FROZEN, get_method("fmwiss").build(MethodConfig("fmwiss")), model)
    assert not used and "fmwiss_copypaste" in reason


def test_a_wrong_crop_space_is_refused():
    with pytest.raises(ValidationError, match="crop_space"):
        TrainConfig(crop_space="voxels").validate()


def test_training_without_the_cache_is_the_cached_training(parent):
    # the cache only stores what the no-cache path recomputes: the same whole-view taps, cropped the
    # same way; the two differ by the cache's half precision alone
    data = colour_items(8, 64)
    runs = {}
    for cached in (False, True):
        cfg = replace(FROZEN, epochs=6, scales=(0.75, 1.0), cache_features=cached)
        step = run_incremental_step(MODEL, cfg, get_method("mib"), MethodConfig("mib"), data, [3], parent)
        assert step.feature_path["space"] == "features" and step.feature_path["cached"] is cached
        runs[cached] = step
    live, cached = runs[False], runs[True]
    assert live.feature_path["views_encoded"] == 6 * 8  # one backbone run per sample and epoch
    assert cached.feature_path["views_encoded"] <= 4 * 8  # at most once per view (2 scales × flip, 8 images)
    for a, b in zip(live.epoch_losses, cached.epoch_losses):
        assert b["total"] == pytest.approx(a["total"], rel=1e-2)
    probs = [torch.stack([predict_logits(r.model, data[i]["image"], CPU).softmax(0) for i in range(len(data))])
             for r in (live, cached)]
    assert (probs[0] - probs[1]).abs().max() < 2e-2
    assert (probs[0].argmax(1) == probs[1].argmax(1)).float().mean() > 0.99


def _pixel_accuracy(model: torch.nn.Module, data: InMemoryDataset, class_ids: tuple[int, ...]) -> float:
    cm = evaluate(model, data, class_ids, CPU)
    return float(cm.diag().sum() / cm.sum())


@pytest.fixture(scope="module")
def parent():
    """A base version whose tiny backbone was trained (a frozen random one would carry little signal)."""
    cfg = TrainConfig(epochs=5, batch_size=4, crop_size=64, lr=5e-3, encoder_lr_mult=1.0)
    data = colour_items(8, 64)
    return run_incremental_step(MODEL, cfg, get_method("finetune"), MethodConfig("finetune"), data, [1, 2]).checkpoint()


def test_with_a_local_backbone_cached_and_pixel_training_coincide(monkeypatch):
    # PoolEncoder's taps of a crop equal the crop of its taps, so the two paths differ only by the cache's
    # half precision: same crops, same targets, nearly the same losses and weights.
    monkeypatch.setitem(ENCODER_BUILDERS, "tiny", lambda cfg: PoolEncoder())
    data = colour_items(8, 64)
    runs = {}
    for cached in (False, True):
        cfg = replace(FROZEN, epochs=4, scales=(0.5, 1.0), crop_space="features" if cached else "pixels")
        base = run_incremental_step(MODEL, cfg, get_method("finetune"), MethodConfig("finetune"), data, [1, 2])
        step = run_incremental_step(MODEL, cfg, get_method("mib"), MethodConfig("mib"), data, [3], base.checkpoint())
        assert step.feature_path["cached"] is cached
        runs[cached] = step
    pixel, cached = runs[False], runs[True]
    for a, b in zip(pixel.epoch_losses, cached.epoch_losses):
        assert b["total"] == pytest.approx(a["total"], rel=1e-2)
    probs = [torch.stack([predict_logits(r.model, data[i]["image"], CPU).softmax(0) for i in range(len(data))])
             for r in (pixel, cached)]
    agree = (probs[0].argmax(1) == probs[1].argmax(1)).float().mean()
    assert (probs[0] - probs[1]).abs().max() < 1e-2 and agree > 0.999


def test_cached_and_pixel_increments_give_close_results(parent):
    # a conv backbone sees more context in a cached whole view than in a crop: close, not equal
    data = colour_items(8, 64)
    results = {}
    for cached in (False, True):
        cfg = replace(FROZEN, epochs=6, scales=(0.75, 1.0), crop_space="features" if cached else "pixels")
        step = run_incremental_step(MODEL, cfg, get_method("finetune"), MethodConfig("finetune"), data, [3], parent)
        assert step.feature_path["cached"] is cached
        results[cached] = step
    pixel, cached = results[False], results[True]
    assert cached.losses["ce"] == pytest.approx(pixel.losses["ce"], rel=0.25)
    assert cached.epoch_losses[-1]["ce"] < 0.7 * cached.epoch_losses[0]["ce"]  # both learn the new class
    assert pixel.epoch_losses[-1]["ce"] < 0.7 * pixel.epoch_losses[0]["ce"]


def test_evaluation_and_prediction_through_the_cache_match_the_pixel_path(tmp_path):
    data = colour_items(4, 56)
    base = run_incremental_step(MODEL, FROZEN, get_method("finetune"), MethodConfig("finetune"), data, [1, 2, 3])
    model, ids = base.model, base.class_ids
    cache = FeatureCache(tmp_path)
    for max_side in (None, 40):
        plain = evaluate(model, data, ids, CPU, max_side=max_side)
        cached = evaluate(model, data, ids, CPU, max_side=max_side, feature_cache=cache)
        assert (plain - cached).abs().sum() <= 0.01 * plain.sum()
    source = TapSource(model, cache, CPU)
    item = data[1]
    for max_side in (None, 40):
        ref = predict_logits(model, item["image"], CPU, max_side)
        got = predict_logits_cached(model, source, item, eval_view(56, 56, max_side))
        assert got.shape == ref.shape == (4, 56, 56)
        assert torch.allclose(got, ref, atol=0.05)
    assert source.computed == 0  # every view was cached by the evaluations


def test_a_prepared_cached_step_feeds_taps_and_no_images():
    data = colour_items(4, 64)
    prep = prepare_step(MODEL, FROZEN, get_method("finetune"), MethodConfig("finetune"), data, [1, 2, 3])
    batch = next(prep.loader.epoch(0))
    assert batch.images is None and [tuple(t.shape) for t in batch.taps] == [(4, 24, 4, 4), (4, 32, 2, 2),
                                                                            (4, 48, 1, 1)]
    assert batch.labels.shape == (4, 32, 32)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_registered_method_trains_from_cached_taps_or_says_why_not(name):
    method, data = get_method(name), colour_items(4)
    cfg = replace(FROZEN, epochs=1, batch_size=2)
    base = run_incremental_step(MODEL, cfg, method, MethodConfig(name), data, [1, 2])
    step = run_incremental_step(MODEL, cfg, method, MethodConfig(name), data, [3], base.checkpoint())
    pixel_parts = [spec.name for spec in method.parts if spec.name == "fmwiss_copypaste"]
    assert step.feature_path["cached"] is not bool(pixel_parts), step.feature_path
    assert step.losses and all(np.isfinite(v) for v in step.losses.values())
