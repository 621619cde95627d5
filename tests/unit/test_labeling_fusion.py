"""Fusion, peak prompts, the superpixel refiner (refine + click) and the weight status lines."""
from __future__ import annotations

import numpy as np
import pytest

from incseg_app.domain.config import LabelingConfig
from incseg_app.domain.errors import ValidationError
from incseg_app.labeling import SuperpixelRefiner, describe_weights, fuse
from incseg_app.labeling.fusion import normalise_present, peak_prompts, touched_components


def two_region_image() -> np.ndarray:
    """60×80 image: dark left half, bright red right half."""
    img = np.full((60, 80, 3), 30, np.uint8)
    img[:, 40:] = (230, 30, 30)
    return img


def test_fuse_labels_confidence_and_unsure():
    scores = np.array([[[0.9, 0.55, 0.1, 0.3]], [[0.2, 0.6, 0.05, 0.3]]], np.float32)  # 2×1×4
    labels, conf = fuse(scores, [4, 7], unsure_below=0.5)
    # pixel 0: class 4 (0.9) vs class 7 (0.2), bg (0.1) -> 0.9 / 1.2
    # pixel 1: 0.6 vs 0.55, bg 0.4 -> 0.6 / 1.55 -> unsure
    # pixel 2: bg 0.9 vs 0.1, 0.05 -> 0.9 / 1.05; pixel 3: bg 0.7 vs 0.3, 0.3 -> 0.7 / 1.3
    np.testing.assert_array_equal(labels, [[4, 255, 0, 0]])
    np.testing.assert_allclose(conf, [[0.9 / 1.2, 0.6 / 1.55, 0.9 / 1.05, 0.7 / 1.3]], atol=1e-6)
    assert labels.dtype == np.uint8 and conf.dtype == np.float32


def test_fuse_only_tagged_ids_appear_and_rejects_bad_input():
    rng = np.random.default_rng(1)
    labels, conf = fuse(rng.random((3, 20, 30)).astype(np.float32), [2, 9, 11], unsure_below=0.1)
    assert set(np.unique(labels)) <= {0, 2, 9, 11, 255}
    assert 0.0 <= conf.min() and conf.max() <= 1.0
    with pytest.raises(ValidationError, match="2 classes"):
        fuse(np.zeros((3, 4, 4), np.float32), [1, 2], 0.4)
    with pytest.raises(ValidationError, match=r"1\.\.254"):
        fuse(np.zeros((1, 4, 4), np.float32), [255], 0.4)


def test_normalise_present_scales_each_peak_to_one():
    maps = np.zeros((2, 4, 4), np.float32)
    maps[0, 1, 1] = 0.25
    maps[0, 2, 2] = 0.125
    out = normalise_present(maps)
    assert out[0, 1, 1] == pytest.approx(1.0) and out[0, 2, 2] == pytest.approx(0.5)
    assert out[1].max() == 0.0  # an empty map stays empty


def test_peak_prompts_points_and_box():
    class_map = np.zeros((40, 50), np.float32)
    class_map[10:20, 5:25] = 0.8
    class_map[14, 12] = 1.0
    points, box = peak_prompts(class_map)
    assert [12.0, 14.0] in points.tolist()  # (x, y) of the peak
    np.testing.assert_array_equal(box, [5, 10, 24, 19])
    assert peak_prompts(np.zeros((8, 8), np.float32)) is None


def test_superpixel_refine_snaps_maps_to_regions_and_caches():
    img = two_region_image()
    refiner = SuperpixelRefiner(n_segments=8)
    blob = np.zeros((1, 60, 80), np.float32)
    blob[0, 10:50, 45:75] = 1.0  # coarse map inside the red half
    refined = refiner.refine(img, blob)
    assert refined.shape == (1, 60, 80)
    assert refined[0, :, :40].max() < 0.05  # nothing leaks across the colour edge
    assert refined[0, :, 40:].mean() > blob[0, :, 40:].mean() * 0.8
    refiner.refine(img, blob)
    assert refiner.segment_calls == 1


def test_superpixel_click_adds_and_removes_superpixels():
    img = two_region_image()
    refiner = SuperpixelRefiner(n_segments=4, compactness=0.1)
    mask = np.zeros((60, 80), np.uint8)
    added = refiner.click(img, mask, 3, [(60, 30, True)])
    seg = refiner.segments(img)
    assert (added[seg == seg[30, 60]] == 3).all() and mask.max() == 0
    assert added[:, :40].max() == 0  # the dark half is another superpixel
    removed = refiner.click(img, added, 3, [(60, 30, False)])
    assert removed.max() == 0
    with pytest.raises(ValidationError, match="outside"):
        refiner.click(img, mask, 3, [(90, 5, True)])


def test_touched_components_selects_clicked_object_only():
    mask = np.zeros((10, 10), np.uint8)
    mask[1:3, 1:3] = 5
    mask[6:9, 6:9] = 5
    touched = touched_components(mask, 5, [(1, 1, False)])
    assert touched.sum() == 4 and not touched[7, 7]


def test_describe_weights_fallbacks():
    lines = describe_weights(LabelingConfig(superpixels=150, unsure_below=0.35))
    text = "\n".join(lines)
    assert lines[0].startswith("CLIP: not configured") and "co-segment" in lines[0]
    assert "--clip-pretrained" in text and "--sam-checkpoint" in text
    assert "about 150 per image" in text and "below 0.35" in text


def test_describe_weights_configured_and_missing(tmp_path):
    clip = tmp_path / "clip.safetensors"
    clip.write_bytes(b"x" * 2_000_000)
    lines = describe_weights(LabelingConfig(clip_pretrained=str(clip), sam_checkpoint=str(tmp_path / "sam.pth")))
    assert "CLIP ViT-B-16: file clip.safetensors (2.0 MB)" in lines[0] and "MaskCLIP" in lines[0]
    assert "sam.pth does not exist" in lines[1] and "stops with an error" in lines[1]
    tag_lines = describe_weights(LabelingConfig(clip_pretrained="openai", sam_model_type="vit_q",
                                                sam_checkpoint=str(clip)))
    assert "open_clip tag 'openai'" in tag_lines[0]
    assert "'vit_q' is not one of" in tag_lines[1]


def test_fuse_background_evidence_wins_where_known():
    scores = np.full((1, 1, 2), 0.7, np.float32)
    labels, conf = fuse(scores, [4], 0.25, background=np.array([[0.0, 1.0]], np.float32))
    np.testing.assert_array_equal(labels, [[4, 0]])  # bg 0.3 vs 0.7, then bg 1.0 vs 0.7
    np.testing.assert_allclose(conf, [[0.7, 1.0 / 1.7]], atol=1e-6)
    with pytest.raises(ValidationError, match="does not match"):
        fuse(scores, [4], 0.25, background=np.zeros((2, 2), np.float32))
