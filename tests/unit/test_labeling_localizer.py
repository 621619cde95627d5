"""The tag localiser (WILSON NGWP) and the all-fallback ``PseudoLabeler`` on the tiny encoder."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from incseg_app.domain.config import LabelingConfig, ModelConfig
from incseg_app.domain.errors import ValidationError, WeightsUnavailableError
from incseg_app.labeling import SuperpixelRefiner, TagLocalizer, build_labeler, describe_weights
from incseg_app.labeling.localizer import localizer_loss, ngwp
from incseg_app.models.build import ENCODER_BUILDERS

RED, BLUE = (220, 30, 30), (30, 30, 220)


def tiny_encoder() -> torch.nn.Module:
    return ENCODER_BUILDERS["tiny"](ModelConfig(encoder="tiny", embed_dim=32, decoder_heads=4, decoder_layers=1))


def toy_set(n: int = 16, size: int = 64) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]:
    """Grey images with a red and/or blue square; tags over class ids (3 = red, 8 = blue); GT boxes."""
    rng = np.random.default_rng(0)
    images, tags, boxes = [], [], []
    for i in range(n):
        img = rng.integers(100, 140, (size, size, 3), dtype=np.uint8)
        box = np.zeros((size, size), np.uint8)
        has = (i % 3 != 1, i % 3 != 0)
        for present, colour, cid in zip(has, (RED, BLUE), (3, 8)):
            if present:
                y, x = rng.integers(0, size - 24, 2)
                img[y:y + 24, x:x + 24] = colour
                box[y:y + 24, x:x + 24] = cid
        images.append(img)
        tags.append([float(h) for h in has])
        boxes.append(box)
    return images, np.array(tags, np.float32), boxes


def test_ngwp_pools_scores_where_masks_are():
    scores = torch.zeros(1, 2, 4, 4)
    scores[0, 1, :2, :2] = 5.0  # class 1 strong in one corner
    pooled, masks = ngwp(scores)
    assert masks.shape == (1, 2, 4, 4) and torch.allclose(masks.sum(1), torch.ones(1, 4, 4))
    assert pooled[0, 1] > pooled[0, 0] - 1.0  # a confident local region yields a high class score
    targets = torch.tensor([[1.0]])
    assert localizer_loss(scores, targets) < localizer_loss(-scores, targets)


def test_localizer_learns_from_tags_and_localises():
    images, tags, boxes = toy_set()
    localizer = TagLocalizer(tiny_encoder(), input_size=64, hidden=32)
    history = localizer.fit(images, tags, [3, 8])
    assert len(history) == 150 and history[-1] < history[0] * 0.1  # 2 batches a pass -> 300 steps
    maps = localizer(images[2], [(3, ()), (8, ())])  # image 2 holds both squares
    assert maps.shape == (2, 64, 64) and 0.0 <= maps.min() and maps.max() <= 1.0
    for k, cid in enumerate((3, 8)):
        inside = boxes[2] == cid
        assert maps[k][inside].mean() > maps[k][~inside].mean() + 0.1


def test_localizer_bytes_round_trip_and_errors():
    images, tags, _ = toy_set(n=4)
    localizer = TagLocalizer(tiny_encoder(), input_size=64, hidden=16)
    with pytest.raises(ValidationError, match="not been trained"):
        localizer(images[0], [(3, ())])
    localizer.fit(images, tags, [3, 8], epochs=2)
    data = localizer.to_bytes()
    restored = TagLocalizer(localizer.encoder, input_size=32)
    restored.load_bytes(data)
    assert restored.class_ids == (3, 8) and restored.input_size == 64
    np.testing.assert_allclose(restored(images[1], [(8, ())]), localizer(images[1], [(8, ())]), atol=1e-6)
    with pytest.raises(ValidationError, match=r"class id\(s\) \[5\]"):
        localizer(images[1], [(5, ())])
    with pytest.raises(WeightsUnavailableError, match="could not be read"):
        restored.load_bytes(b"garbage")
    with pytest.raises(ValidationError, match="tag matrix"):
        localizer.fit(images, tags[:, :1], [3, 8], epochs=1)


def test_fallback_labeler_labels_only_tagged_classes():
    images, tags, _ = toy_set()
    cfg = LabelingConfig(superpixels=40, unsure_below=0.2)
    labeler = build_labeler(cfg, encoder_factory=tiny_encoder)
    assert isinstance(labeler.refiner, SuperpixelRefiner) and labeler.needs_fit
    assert labeler.sources["class_map"] == ("tag localiser on the TinyEncoder encoder, WILSON NGWP "
                                            "(no CLIP weights configured)")
    assert labeler.sources["refiner"].endswith("(no SAM checkpoint configured)")
    labeler.class_maps.input_size = 64
    labeler.fit(images, tags, [3, 8])
    assert not labeler.needs_fit
    result = labeler.label(images[0], [(3, ("red",))])  # image 0 holds only the red square
    assert result.labels.shape == (64, 64) and set(np.unique(result.labels)) <= {0, 3, 255}
    assert 0.0 <= result.confidence.min() and result.confidence.max() <= 1.0
    np.testing.assert_array_equal(result.labels == 255, result.confidence < 0.2)
    assert result.sources == labeler.sources
    known = labeler.label(images[0], [(3, ("red",))], background=np.ones((64, 64), np.float32))
    assert 3 not in known.labels  # background evidence everywhere: the class cannot win a pixel
    with pytest.raises(ValidationError, match="at least one image tag"):
        labeler.label(images[2], [])
    with pytest.raises(ValidationError, match="distinct class ids"):
        labeler.label(images[2], [(3, ()), (3, ())])


def test_fallback_refine_click_is_pure_and_edits_one_class():
    images, _, _ = toy_set(n=1)
    labeler = build_labeler(LabelingConfig(superpixels=30), encoder_factory=tiny_encoder)
    mask = np.zeros((64, 64), np.uint8)
    mask[:5, :5] = 7
    new = labeler.refine_click(images[0], mask, 3, [(40, 40, True)])
    assert new[40, 40] == 3 and (new[:5, :5] == 7).all() and mask[40, 40] == 0
    with pytest.raises(ValidationError, match="does not match image"):
        labeler.refine_click(images[0], mask[:10], 3, [(1, 1, True)])


def test_describe_weights_matches_sources_for_fallbacks():
    lines = describe_weights(LabelingConfig())
    assert any("tag localiser" in line for line in lines) and any("superpixel" in line for line in lines)


@pytest.mark.slow
def test_localizer_fallback_on_real_voc_images(shared_data):
    """Real VOC photos of several sizes, tags from their ground truth, the product's default encoder
    (EfficientNet-Lite0, ImageNet weights): the fallback pipeline keeps its contract end to end.
    Six images cannot teach a localiser where classes are; quality is measured by bench/pseudo.py."""
    from PIL import Image

    root = shared_data / "voc_samples"
    names = json.loads((root / "classes.json").read_text())["classes"]
    images, gts = [], []
    for path in sorted((root / "images").glob("*.jpg")):
        images.append(np.asarray(Image.open(path).convert("RGB")))
        gts.append(np.asarray(Image.open(root / "labels" / f"{path.stem}.png")))
    ids = sorted({int(c) for gt in gts for c in np.unique(gt) if 0 < c < 255})
    tags = np.array([[float((gt == c).any()) for c in ids] for gt in gts], np.float32)
    labeler = build_labeler(LabelingConfig(unsure_below=0.3))
    history = labeler.fit(images, tags, ids, epochs=60)
    assert history[-1] < history[0] * 0.5
    for image, gt in zip(images, gts):
        present = [(c, (names[c],)) for c in ids if (gt == c).any()]
        result = labeler.label(image, present)
        assert result.labels.shape == gt.shape
        assert set(np.unique(result.labels)) <= {0, 255} | {c for c, _ in present}
        np.testing.assert_array_equal(result.labels == 255, result.confidence < 0.3)
        assert 0.0 <= result.mean_confidence <= 1.0
