"""Learning from corrections: the correction head, model evidence, and the set labeller that joins them."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from incseg_app.domain.config import ModelConfig
from incseg_app.domain.errors import ValidationError
from incseg_app.labeling.coseg import CoSegmenter, RegionSample
from incseg_app.labeling.correction_head import CorrectionHead
from incseg_app.labeling.evidence import model_evidence
from incseg_app.labeling.region_crf import border_adjacency
from incseg_app.labeling.regions import RegionExtractor
from incseg_app.labeling.set_labeler import SetLabeler
from incseg_app.models.build import ENCODER_BUILDERS, build_model
from incseg_app.services.ml_settings import TINY_MODEL

CLASSES = [1, 2]


def scene(n: int, seed: int, rare: float = 0.5, noise: float = 0.3) -> list[RegionSample]:
    """Images of 40 regions: background (feature e0), class 1 (e1), class 2 (e2) plus noise; every image
    shows both classes and is tagged with both (constant tags: tags alone cannot tell where they are).
    ``rare``: share of the class regions that are class 2. Each sample has ``truth`` and full ``targets``."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        truth = rng.choice([0, 1, 2], size=40, p=[0.6, 0.4 * (1 - rare), 0.4 * rare])
        truth[:2] = (1, 2)
        feats = np.eye(8, dtype=np.float32)[truth] + noise * rng.standard_normal((40, 8)).astype(np.float32)
        feats /= np.linalg.norm(feats, axis=1, keepdims=True)
        targets = np.eye(3, dtype=np.float32)[truth] * 100.0
        s = RegionSample(feats.astype(np.float16), np.zeros((40, 2), np.float32), np.full(40, 0.5, np.float32),
                         (1, 2), None, np.full(40, 1 / 40, np.float32), targets)
        s.truth = truth  # type: ignore[attr-defined]
        out.append(s)
    return out


def as_drafts(samples: list[RegionSample]) -> list[RegionSample]:
    for s in samples:
        s.targets = None
    return samples


def class_iou(predict, samples: list[RegionSample], label: int) -> float:
    inter = union = 0
    for s in samples:
        pred = np.array([0, *s.tags])[predict(s).argmax(0)]
        truth = s.truth  # type: ignore[attr-defined]
        inter += int(((pred == label) & (truth == label)).sum())
        union += int(((pred == label) | (truth == label)).sum())
    return inter / max(union, 1)


def test_head_fitted_on_a_few_corrections_labels_the_rest_better_than_tags_alone():
    corrected, drafts, held_out = scene(4, 0), as_drafts(scene(24, 1)), scene(12, 2)
    tags_only = CoSegmenter()
    tags_only.fit(drafts, CLASSES)
    head = CorrectionHead()
    head.fit(drafts + corrected, CLASSES)  # drafts carry no targets: only the 4 corrected images teach it
    assert head.seen.all()
    with_corrections = [class_iou(lambda s: head.predict(s, s.tags), held_out, label) for label in CLASSES]
    without = [class_iou(lambda s: tags_only.predict(s.features, s.extra, s.tags), held_out, label)
               for label in CLASSES]
    # constant tags cannot tell the two classes apart: tags alone get at least one of them wrong
    assert min(with_corrections) > 0.8 and min(with_corrections) > min(without) + 0.2


def test_class_balancing_recalls_a_rare_class():
    corrected, held_out = scene(3, 3, rare=0.06, noise=0.8), scene(20, 4, rare=0.06, noise=0.8)
    balanced, plain = CorrectionHead(balance=0.75), CorrectionHead(balance=0.0)
    balanced.fit(corrected, CLASSES)
    plain.fit(corrected, CLASSES)

    def recall(head: CorrectionHead) -> float:
        hits = total = 0
        for s in held_out:
            pred = head.predict(s, s.tags).argmax(0)
            rare = s.truth == 2  # type: ignore[attr-defined]
            hits, total = hits + int((pred[rare] == 2).sum()), total + int(rare.sum())
        return hits / total

    assert recall(balanced) > recall(plain) + 0.05


def only_one_region_of_class_2(samples: list[RegionSample]) -> list[RegionSample]:
    """The corrected images a reviewer happened to pick show class 2 in a single region each: the
    others become background (their features too)."""
    rng = np.random.default_rng(0)
    for s in samples:
        drop = np.flatnonzero(s.truth == 2)[1:]  # type: ignore[attr-defined]
        s.truth[drop] = 0  # type: ignore[attr-defined]
        s.targets[drop] = (100.0, 0.0, 0.0)
        f = np.eye(8, dtype=np.float32)[np.zeros(len(drop), int)] + 0.8 * rng.standard_normal((len(drop), 8))
        s.features[drop] = (f / np.linalg.norm(f, axis=1, keepdims=True)).astype(np.float16)
    return samples


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tag_anchors_find_a_class_the_corrections_barely_show(seed):
    corrected = only_one_region_of_class_2(scene(2, 10 + seed, rare=0.3, noise=0.8))
    drafts, held_out = as_drafts(scene(30, 20 + seed, rare=0.3, noise=0.8)), scene(15, 30 + seed, rare=0.3, noise=0.8)
    iou = {}
    for anchors in (0, 1):
        head = CorrectionHead(anchors=anchors)
        head.fit(corrected + drafts, CLASSES)
        iou[anchors] = class_iou(lambda s: head.predict(s, s.tags), held_out, 2)
    # two reviewed regions of class 2 among 80: alone, the head almost never calls it; the
    # drafts' tags say it is in every draft, and each draft's most class-2-like region teaches it
    assert iou[1] > iou[0] + 0.1


def strip_scene(n: int, seed: int) -> list[RegionSample]:
    """Images of 40 regions in a row (region i borders i ± 1) where objects are runs of 4-8 regions
    of one label (background, class 1 or 2), as superpixels of one object are. The regions of an object
    share its colour (random, so it says nothing about the class); their encoder features are noisy
    enough that a region alone is often misread."""
    rng = np.random.default_rng(seed)
    adjacency = border_adjacency(np.arange(40)[None].repeat(3, 0))
    out = []
    for _ in range(n):
        runs = [(rng.choice(3, p=[0.5, 0.25, 0.25]), rng.integers(4, 9), rng.random(3)) for _ in range(10)]
        runs[:2] = [(1, 4, rng.random(3)), (2, 4, rng.random(3))]
        truth = np.concatenate([np.full(length, label) for label, length, _ in runs])[:40]
        colour = np.concatenate([np.tile(c, (length, 1)) for _, length, c in runs])[:40]
        feats = np.eye(8, dtype=np.float32)[truth] + 0.7 * rng.standard_normal((40, 8)).astype(np.float32)
        feats /= np.linalg.norm(feats, axis=1, keepdims=True)
        s = RegionSample(feats.astype(np.float16), np.zeros((40, 2), np.float32), np.full(40, 0.5, np.float32),
                         (1, 2), None, np.full(40, 1 / 40, np.float32), np.eye(3, dtype=np.float32)[truth] * 100.0,
                         colour=(colour + 0.02 * rng.standard_normal((40, 3))).astype(np.float32),
                         adjacency=adjacency)
        s.truth = truth  # type: ignore[attr-defined]
        out.append(s)
    return out


def test_region_crf_reads_a_region_with_its_look_alike_neighbours():
    gain = []
    for seed in range(3):
        corrected, drafts = strip_scene(4, 40 + seed), as_drafts(strip_scene(20, 50 + seed))
        held_out = strip_scene(15, 60 + seed)
        iou = {}
        for name, options in (("crf", {}), ("none", {"crf": None})):
            head = CorrectionHead(**options)
            head.fit(corrected + drafts, CLASSES)
            iou[name] = np.mean([class_iou(lambda s: head.predict(s, s.tags), held_out, c) for c in CLASSES])
        gain.append(iou["crf"] - iou["none"])
    # a misread region inside an object of one colour is pulled back to its neighbours' label
    # (measured: +0.007 to +0.030 class IoU on these three scenes); never a loss
    assert min(gain) > 0 and np.mean(gain) > 0.01


def test_anchors_must_not_be_negative():
    with pytest.raises(ValidationError, match="anchors"):
        CorrectionHead(anchors=-1)


def test_cross_fitted_temperature_softens_an_overfitted_head():
    corrected = scene(6, 5, noise=0.9)
    rng = np.random.default_rng(6)
    for s in corrected:  # 60 nuisance channels: a weakly regularised head overfits and is overconfident
        s.extra = rng.standard_normal((40, 60)).astype(np.float32)
    head = CorrectionHead(l2=1e-4)
    head.fit(corrected, CLASSES)
    assert head.temperature > 1.0
    uncalibrated = CorrectionHead(l2=1e-4)
    uncalibrated.fit(corrected, CLASSES, calibrate=False)
    assert uncalibrated.temperature == 1.0


def test_head_needs_reviewed_regions_and_known_tags():
    with pytest.raises(ValidationError, match="reviewed"):
        CorrectionHead().fit(as_drafts(scene(2, 7)), CLASSES)
    head = CorrectionHead()
    head.fit(scene(3, 8), CLASSES)
    with pytest.raises(ValidationError, match="fitted classes"):
        head.columns([9])


def test_head_learns_only_the_classes_it_saw_and_the_labeller_asks_the_coseg_for_the_others():
    samples = scene(6, 9)
    for s in samples[:3]:
        s.targets[:, 2] = 0.0  # nobody corrected class 2 yet
    for s in samples[3:]:
        s.targets = None
    head = CorrectionHead()
    head.fit(samples, CLASSES)
    assert head.seen.tolist() == [True, True, False]
    assert (head.predict(samples[0], (1, 2))[2] < 1e-4).all()


def test_model_evidence_from_a_tiny_segmenter():
    model = build_model(ModelConfig(encoder="tiny", pretrained=False, embed_dim=16, decoder_layers=1, decoder_heads=2),
                        (3,))
    image = np.random.default_rng(0).integers(0, 255, (30, 41, 3)).astype(np.uint8)
    evidence = model_evidence(model, image, [1, 2], torch.device("cpu"))
    assert evidence.known.shape == (30, 41) and 0.0 <= evidence.known.min() <= evidence.known.max() <= 1.0
    assert evidence.context.ndim == 3 and evidence.context.shape[0] == 3 + 16 + model.encoder.out_channels
    assert model_evidence(model, image, [], torch.device("cpu")).known is None


def test_set_labeler_learns_from_a_corrected_image_and_uses_model_context():
    encoder = ENCODER_BUILDERS["tiny"](TINY_MODEL)
    labeler = SetLabeler(RegionExtractor(encoder, work_side=64, region_pixels=40, feature_side=64))
    rng = np.random.default_rng(0)
    images, masks = [], []
    for i in range(5):
        image = np.full((48, 64, 3), 40, np.uint8)
        image[10:30, 15 + i:40 + i] = (220, 40, 40)
        images.append(np.clip(image + rng.integers(0, 20, image.shape), 0, 255).astype(np.uint8))
        mask = np.zeros((48, 64), np.uint8)
        mask[10:30, 15 + i:40 + i] = 3
        masks.append(mask)
    context = [np.stack([m.astype(np.float32) / 3, 1 - m.astype(np.float32) / 3])[:, ::4, ::4] for m in masks]
    samples = [labeler.sample(im, [3], None, masks[0] if n == 0 else None, [3], ctx)
               for n, (im, ctx) in enumerate(zip(images, context))]
    regions = labeler.regions(images[0])
    assert regions.fine is not None and regions.fine.shape[0] == regions.count == samples[0].fine.shape[0]
    assert samples[0].context.shape == (regions.count, 2) and samples[0].targets.shape == (regions.count, 2)
    np.testing.assert_allclose(samples[0].targets.sum(), regions.segments.size)  # every work pixel counted once
    labeler.fit(samples, [3])
    assert labeler.head.fitted and labeler.head.uses_context and not labeler.coseg.fitted
    result = labeler.label(images[3], [3], context=context[3])
    iou = ((result.proposal == 3) & (masks[3] == 3)).sum() / ((result.proposal == 3) | (masks[3] == 3)).sum()
    assert iou > 0.7
    assert (result.confidence[result.labels == 255] < labeler.unsure_below).all()


def test_self_training_takes_only_sure_draft_regions_within_their_tags():
    """Mechanism (its effect is measured in docs/benchmarks.md): a draft tagged with class 1 only
    lends regions to background or class 1, and only those the supervised head is sure of."""
    head = CorrectionHead()
    head.fit(scene(4, 13), CLASSES)
    (draft,) = as_drafts(scene(1, 14))
    draft.tags = (1,)
    x, targets = head._pseudo_targets([draft], pixels_per_image=1000.0)
    assert x.shape[0] == targets.shape[0] == 40
    assert (targets[:, 2] == 0).all() and (targets.sum(1) > 0).any()
    probs = head.predict(draft, (1,))
    sure = probs.max(0) >= head.pseudo_threshold
    assert ((targets.sum(1) > 0) == sure).all()
    np.testing.assert_allclose(targets.sum(1)[sure], 1000.0 / 40 * head.pseudo_weight, rtol=1e-5)


def test_a_class_nobody_corrected_takes_its_share_of_the_heads_background_from_the_coseg():
    encoder = ENCODER_BUILDERS["tiny"](TINY_MODEL)
    labeler = SetLabeler(RegionExtractor(encoder, work_side=64, region_pixels=40, feature_side=64))
    rng = np.random.default_rng(1)
    images, masks = [], []
    for i in range(6):
        image = np.full((48, 64, 3), 40, np.uint8)
        image[5:20, 5 + i:25 + i] = (220, 40, 40)  # class 3
        image[28:44, 30:50 - i] = (40, 40, 220)  # class 4
        images.append(np.clip(image + rng.integers(0, 20, image.shape), 0, 255).astype(np.uint8))
        mask = np.zeros((48, 64), np.uint8)
        mask[5:20, 5 + i:25 + i] = 3
        mask[28:44, 30:50 - i] = 255  # the reviewer left class 4 unpainted (void): never seen
        masks.append(mask)
    samples = [labeler.sample(im, [3, 4], None, masks[0] if n == 0 else None, [3, 4]) for n, im in enumerate(images)]
    labeler.fit(samples, [3, 4])
    assert labeler.head.fitted and labeler.head.seen.tolist() == [True, True, False] and labeler.coseg.fitted
    probs, regions = labeler.probabilities(images[2], [3, 4])
    head_probs = labeler.head.predict(labeler.sample(images[2], [3, 4]), [3, 4])
    np.testing.assert_allclose(probs[1], head_probs[1], atol=1e-6)  # the seen class: the head's word
    assert (probs[[0, 2]].sum(0) <= head_probs[0] + 1e-5).all()  # background and class 4 split the head's background
    assert probs[2].max() > 0.0


def test_imagenet_names_match_head_nouns_and_split_only_the_foreground():
    from incseg_app.labeling.imagenet_names import imagenet_categories, matching_categories, split_by_names

    names = imagenet_categories()
    assert len(names) == 1000 and names[779] == "school bus"
    bus = {names[k] for k in matching_categories(("bus",))}
    car = {names[k] for k in matching_categories(("car", "automobile"))}
    assert "school bus" in bus and "sports car" in car and "car mirror" not in car and "car wheel" not in car
    assert matching_categories(("person",)) == () and matching_categories(()) == ()
    logp = np.full((2, 1000), -12.0, np.float32)
    logp[0, 779] = -1.0  # region 0 looks like a school bus, region 1 like nothing in particular
    probs = np.array([[0.2, 0.6], [0.4, 0.2], [0.4, 0.2]], np.float32)  # [bg, bus, person] × 2 regions
    split = split_by_names(probs, logp, [("bus",), ("person",)])
    np.testing.assert_allclose(split[0], probs[0])  # background untouched
    np.testing.assert_allclose(split[1:].sum(0), probs[1:].sum(0), rtol=1e-6)  # foreground mass kept
    assert split[1, 0] > 0.7 and split[1, 1] < 0.2  # the bus takes the region that looks like one
    np.testing.assert_array_equal(split_by_names(probs, logp, [("person",), ("sofa",)]), probs)
