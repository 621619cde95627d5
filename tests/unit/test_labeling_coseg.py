"""The weight-free labeller's parts: objectness prior, regions, set-level co-segmentation, calibration."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from incseg_app.domain.errors import ValidationError
from incseg_app.labeling.calibration import (
    Calibrator, expected_calibration_error, fit_calibrator, monotone, reliability_curve,
)
from incseg_app.labeling.coseg import (
    CoSegmenter, RegionSample, coseg_descriptor, padded_slots, presence_loss, region_loss,
)
from incseg_app.labeling.imagenet_names import matching_categories, name_weight, split_by_names
from incseg_app.labeling.objectness import adjacent_pairs, boundary_objectness
from incseg_app.labeling.regions import RegionExtractor
from incseg_app.labeling.set_labeler import SetLabeler
from incseg_app.models.build import ENCODER_BUILDERS
from incseg_app.services.ml_settings import TINY_MODEL


def grid_segments(h: int = 8, w: int = 8) -> np.ndarray:
    return np.arange(h * w, dtype=np.int32).reshape(h, w)


def test_boundary_connectivity_marks_the_object_not_the_border_stuff():
    seg = grid_segments()
    colour = np.zeros((64, 3), np.float32)
    obj = np.zeros((8, 8), bool)
    obj[3:5, 3:5] = True  # a red square in the middle of a grey background
    colour[seg[obj]] = (0.5, 0.6, 0.4)
    prior = boundary_objectness(seg, colour)
    assert prior.shape == (64,) and 0.0 <= prior.min() <= prior.max() <= 1.0
    assert prior[seg[obj]].min() > 0.9 > 0.1 > prior[seg[~obj]].max()
    assert len(adjacent_pairs(seg)) == 2 * 8 * 7


def random_samples(n: int, seed: int = 0, constant_tags: bool = False) -> list[RegionSample]:
    """Images of 30 regions: background (feature e0), class 1 (e1), class 2 (e2) plus noise; an image
    shows class 1, class 2 or both, and is tagged with what it shows (``constant_tags``: always both)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        show = [(1,), (2,), (1, 2)][i % 3]
        truth = rng.choice([0, *show], size=30, p=[0.5] + [0.5 / len(show)] * len(show))
        feats = np.eye(8, dtype=np.float32)[truth] + 0.3 * rng.standard_normal((30, 8)).astype(np.float32)
        feats /= np.linalg.norm(feats, axis=1, keepdims=True)
        free = np.where(truth > 0, 0.9, 0.1).astype(np.float32)
        tags = (1, 2) if constant_tags else show
        out.append(RegionSample(feats.astype(np.float16), np.zeros((30, 2), np.float32), free, tags, None,
                                np.full(30, 1 / 30, np.float32)))
        out[-1].truth = truth  # type: ignore[attr-defined]
    return out


def accuracy(model: CoSegmenter, samples: list[RegionSample]) -> float:
    """Share of the class regions (background excluded) labelled with their class."""
    right = total = 0
    for s in samples:
        probs = model.predict(s.features, s.extra, s.tags)
        labels = np.array([0, *s.tags])[probs.argmax(0)]
        fg = s.truth > 0  # type: ignore[attr-defined]
        right += int((labels[fg] == s.truth[fg]).sum())  # type: ignore[attr-defined]
        total += int(fg.sum())
    return right / total


def test_coseg_learns_classes_from_what_tagged_images_share_and_untagged_lack():
    samples = random_samples(24)
    model = CoSegmenter()
    history = model.fit(samples, [1, 2])
    assert history[-1] < history[0]
    assert accuracy(model, random_samples(12, seed=1)) > 0.9


def test_corrections_teach_what_constant_tags_cannot():
    drafts = random_samples(24, constant_tags=True)
    before = CoSegmenter()
    before.fit(drafts, [1, 2])
    corrected = random_samples(4, seed=2, constant_tags=True)
    for s in corrected:
        s.labels = s.truth.astype(np.int64)  # type: ignore[attr-defined]
    after = CoSegmenter()
    after.fit(drafts + corrected, [1, 2])
    held_out = random_samples(12, seed=3, constant_tags=True)
    assert accuracy(after, held_out) > 0.8
    assert accuracy(after, held_out) > accuracy(before, held_out) + 0.1


def test_region_loss_prefers_tagged_labels_and_presence_wants_every_tag():
    allowed = torch.tensor([[True, True, False], [True, True, False]])
    free = torch.tensor([1.0, 1.0])
    w = torch.ones(2)
    drafts = torch.full((2,), -1)
    on_tag = torch.tensor([[0.0, 5.0, 0.0], [0.0, 5.0, 0.0]])
    off_tag = torch.tensor([[0.0, 0.0, 5.0], [0.0, 0.0, 5.0]])
    assert region_loss(on_tag, allowed, free, w, drafts, 5.0) < region_loss(off_tag, allowed, free, w, drafts, 5.0)
    slots = padded_slots(torch.tensor([0, 0]))
    both = torch.tensor([[True, True, True], [True, True, True]])
    one_class = torch.tensor([[0.0, 5.0, 0.0], [0.0, 5.0, 0.0]])
    split = torch.tensor([[0.0, 5.0, 0.0], [0.0, 0.0, 5.0]])
    assert presence_loss(split, both, free, slots, top=0.5) < presence_loss(one_class, both, free, slots, top=0.5)


def test_expected_calibration_error_and_curve():
    conf = np.array([0.95] * 10 + [0.55] * 10)
    right = np.array([1] * 9 + [0] + [1] * 5 + [0] * 5)
    assert expected_calibration_error(conf, right) == pytest.approx(0.5 * 0.05 + 0.5 * 0.05)
    assert expected_calibration_error(np.full(4, 0.75), np.array([1, 1, 1, 0])) == pytest.approx(0.0)
    curve = reliability_curve(conf, right)
    assert [b["pixels"] for b in curve if b["pixels"]] == [10, 10]


def test_calibrator_scales_and_admits_unreliable_classes():
    probs = np.array([[0.1, 0.6], [0.9, 0.4]], np.float32)  # [bg, class 5] × 2 regions
    hot = Calibrator(temperature=2.0)(probs, [5])
    assert hot[1, 0] < 0.9 and np.allclose(hot.sum(0), 1.0, atol=1e-5)
    doubted = Calibrator(reliability={5: 0.5, 7: 0.5})
    np.testing.assert_allclose(doubted(probs, [5]), probs * np.array([[1.0], [0.5]]), atol=1e-6)
    two = np.array([[0.1], [0.6], [0.3]], np.float32)
    assert doubted(two, [5, 7])[1, 0] == pytest.approx(0.3, abs=1e-6)  # the rest is admitted ignorance


def test_calibration_doubts_a_class_on_every_image_and_learns_temperature_from_corrections():
    constant = random_samples(24, constant_tags=True)
    model = CoSegmenter()
    model.fit(constant, [1, 2])
    cal = fit_calibrator(constant, [1, 2], model)
    assert cal.reliability[1] <= 0.5 and cal.reliability[2] <= 0.5  # no image lacks them: cannot localise
    corrected = random_samples(24, seed=5)
    for s in corrected[:8]:
        s.labels = s.truth.astype(np.int64)  # type: ignore[attr-defined]
    model.fit(corrected, [1, 2])
    cal = fit_calibrator(corrected, [1, 2], model)
    assert 0.25 <= cal.temperature <= 8.0 and cal.reliability.get(0, 1.0) > 0.8


def test_set_labeler_on_tiny_encoder_labels_tagged_classes_with_confidence():
    encoder = ENCODER_BUILDERS["tiny"](TINY_MODEL)
    labeler = SetLabeler(RegionExtractor(encoder, work_side=64, region_pixels=40, feature_side=64))
    rng = np.random.default_rng(0)
    images = []
    for i in range(6):
        image = np.full((48, 64, 3), 40, np.uint8)
        image[10:30, 15 + i:40 + i] = (220, 40, 40)
        images.append(np.clip(image + rng.integers(0, 20, image.shape), 0, 255).astype(np.uint8))
    with pytest.raises(ValidationError, match="fit"):
        labeler.label(images[0], [3])
    labeler.fit([labeler.sample(im, [3], None, None, [3]) for im in images], [3])
    result = labeler.label(images[0], [(3, ("red",))])
    assert result.labels.shape == (48, 64) and set(np.unique(result.labels)) <= {0, 3, 255}
    assert result.confidence.dtype == np.float32 and 0.0 <= result.confidence.min() <= result.confidence.max() <= 1.0
    assert (result.confidence[result.labels == 255] <= labeler.unsure_below).all()  # "at or below" is unsure
    assert set(np.unique(result.proposal)) <= {0, 3}
    with pytest.raises(ValidationError, match="distinct"):
        labeler.label(images[0], [3, 3])


def test_reliability_doubts_a_class_that_lands_on_images_without_it():
    """A class whose evidence also sits on images not tagged with it (a distractor shares its feature)
    gets a lower confidence than one the tags localise, with one ρ per class and with a precision per
    score bin (which never falls as the score rises)."""
    rng = np.random.default_rng(7)
    samples = []
    for i in range(30):
        show = [(1,), (2,), (1, 2)][i % 3]
        truth = rng.choice([0, *show], size=30, p=[0.5] + [0.5 / len(show)] * len(show))
        proto = np.eye(8, dtype=np.float32)
        looks = truth.copy()
        if 1 not in show:  # images without class 1 show a distractor that looks like it
            looks[rng.random(30) < 0.25] = 1
        feats = proto[looks] + 0.3 * rng.standard_normal((30, 8)).astype(np.float32)
        free = np.where(looks > 0, 0.9, 0.1).astype(np.float32)
        samples.append(RegionSample((feats / np.linalg.norm(feats, axis=1, keepdims=True)).astype(np.float16),
                                    np.zeros((30, 2), np.float32), free, show, None, np.full(30, 1 / 30, np.float32)))
    model = CoSegmenter()
    model.fit(samples, [1, 2])
    cal = fit_calibrator(samples, [1, 2], model, binned=True)
    assert set(cal.precision) == {1, 2} and not cal.reliability
    scalar = fit_calibrator(samples, [1, 2], model)  # the default: one ρ per class, doubting class 1 more
    assert not scalar.precision and scalar.reliability[1] < scalar.reliability[2]
    for curve in cal.precision.values():
        assert (np.diff(curve) >= -1e-12).all() and 0.0 <= curve.min() <= curve.max() <= 1.0
    assert cal.precision[1][-1] < cal.precision[2][-1]
    probs = np.array([[0.02, 0.02], [0.98, 0.0], [0.0, 0.98]], np.float32)  # [bg, 1, 2] × 2 regions
    out = cal(probs, [1, 2])
    assert out[1, 0] == pytest.approx(cal.precision[1][-1]) and out[2, 1] == pytest.approx(cal.precision[2][-1])
    assert np.allclose(out.sum(0), 1.0, atol=1e-5)  # the doubted mass goes to the other labels


def test_monotone_pools_adjacent_violators():
    np.testing.assert_allclose(monotone(np.array([0.2, 0.6, 0.4, 0.9]), np.ones(4)), [0.2, 0.5, 0.5, 0.9])
    np.testing.assert_allclose(monotone(np.array([0.8, 0.2]), np.array([1.0, 3.0])), [0.35, 0.35])


def test_self_training_runs_on_large_sets_and_descriptor_joins_every_view():
    samples = random_samples(24)
    with_round, without, small = CoSegmenter(min_images=10), CoSegmenter(self_training=2.0), CoSegmenter()
    rounds = len(without.fit(samples, [1, 2]))
    assert len(with_round.fit(samples, [1, 2])) > rounds  # a second round ran
    held_out = random_samples(12, seed=1)
    assert accuracy(with_round, held_out) >= accuracy(without, held_out) - 0.02
    assert len(small.fit(samples, [1, 2])) == rounds and small.small_set  # 24 < 50 images: no second round
    assert "imagenet" not in small.active_views and small.clone().small_set  # the clone keeps the decision
    s = samples[0]
    assert coseg_descriptor(s).shape == (30, 8)
    joined = RegionSample(s.features, s.extra, s.free, s.tags, None, s.weights, context=np.ones((30, 3)),
                          fine=s.features, imagenet=np.random.default_rng(0).standard_normal((30, 10)))
    x = coseg_descriptor(joined)
    assert x.shape == (30, 8 + 8 + 10 + 3)
    np.testing.assert_allclose(np.linalg.norm(x[:, 16:26], axis=1), 1.0, atol=1e-5)


def test_name_cue_weight_shrinks_as_tagged_images_grow():
    assert name_weight(1) > 0.9 and name_weight(200) < 0.05 and name_weight(10) == pytest.approx(0.5)
    probs = np.array([[0.2, 0.2], [0.4, 0.4], [0.4, 0.4]], np.float32)
    logp = np.log(np.full((2, 1000), 1e-4, np.float32))
    cats = matching_categories(("bus",))
    logp[0, list(cats)] = 0.0  # region 0 looks like a bus
    strong = split_by_names(probs, logp, [("bus",), ("tree",)], [1.0, 1.0])
    weak = split_by_names(probs, logp, [("bus",), ("tree",)], [name_weight(500), 1.0])
    assert strong[1, 0] > weak[1, 0] > 0.4 - 1e-6 and np.allclose(strong[0], probs[0])
