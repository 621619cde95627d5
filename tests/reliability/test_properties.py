"""Property-based tests (hypothesis) of the edges every mask passes through: PNG encode/decode, the
class-id -> channel remapping of a training step, and the IoU maths of the reports."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from incseg_app.domain.errors import BadFileError, ValidationError
from incseg_app.services.imageio import (check_mask, class_pixels, decode_mask, encode_mask,
                                         encode_palette_png)
from incseg_app.training.data import step_lookup, target_lookup
from incseg_app.training.metrics import confusion_matrix, harmonic_iou, per_class_iou

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
shapes = st.tuples(st.integers(1, 24), st.integers(1, 24))
masks = shapes.flatmap(lambda s: arrays(np.uint8, s))
LIMIT = 2**31


@FAST
@given(masks)
def test_mask_png_round_trip_is_exact_and_deterministic(mask):
    data = encode_mask(mask)
    assert data == encode_mask(mask.copy())  # equal masks share one blob
    back = decode_mask(data, "m.png", LIMIT, LIMIT)
    assert back.dtype == np.uint8 and np.array_equal(back, mask)


@FAST
@given(masks, st.dictionaries(st.integers(1, 254), st.tuples(*[st.integers(0, 255)] * 3), max_size=8))
def test_palette_png_keeps_class_ids(mask, colors):
    back = decode_mask(encode_palette_png(mask, colors), "voc.png", LIMIT, LIMIT)
    assert np.array_equal(back, mask)


@FAST
@given(masks)
def test_class_pixels_counts_every_labelled_pixel(mask):
    counts = class_pixels(mask)
    assert sum(counts.values()) == int(((mask != 0) & (mask != 255)).sum())
    assert all(0 < cid < 255 and n > 0 for cid, n in counts.items())


@FAST
@given(masks, shapes)
def test_check_mask_accepts_only_the_image_size(mask, size):
    h, w = size
    if mask.shape == (h, w):
        assert np.array_equal(check_mask(mask, "m", w, h), mask)
    else:
        with pytest.raises(BadFileError, match=f"m: mask is {mask.shape[1]}x{mask.shape[0]} but its image is {w}x{h}"):
            check_mask(mask, "m", w, h)


class_lists = st.lists(st.integers(1, 254), min_size=1, max_size=12, unique=True)


@FAST
@given(class_lists, st.data())
def test_step_lookup_maps_trained_ids_to_their_channel_and_the_rest_to_background(ids, data):
    class_ids = [0, *ids]  # channel order of a model: background first
    trained = data.draw(st.lists(st.sampled_from(ids), unique=True))
    lut = step_lookup(class_ids, trained)
    assert lut.shape == (256,) and lut.dtype == np.uint8
    assert lut[0] == 0 and lut[255] == 255
    for cid in range(1, 255):
        assert lut[cid] == (class_ids.index(cid) if cid in trained else 0)
    mask = data.draw(arrays(np.uint8, (6, 7)))
    target = lut[mask]
    assert set(np.unique(target).tolist()) <= set(range(len(class_ids))) | {255}
    assert ((mask == 255) == (target == 255)).all()  # ignore stays ignore, nothing else becomes it


@FAST
@given(st.integers(-3, 300), st.integers(-3, 300))
def test_target_lookup_refuses_ids_outside_0_to_254(cid, channel):
    if 0 <= cid < 255 and 0 <= channel < 255:
        assert target_lookup({cid: channel})[cid] == channel
    else:
        with pytest.raises(ValidationError, match=f"class id {cid} -> channel {channel}"):
            target_lookup({cid: channel})


@FAST
@given(class_lists, st.integers(1, 254))
def test_step_lookup_refuses_a_trained_class_without_channel(ids, extra):
    if extra in ids:
        return
    with pytest.raises(ValidationError, match=f"\\[{extra}\\] are trained in this step but have no output channel"):
        step_lookup([0, *ids], [extra])


def _labels(k: int, n: int, ignore: bool):
    values = st.integers(0, k - 1) | (st.just(255) if ignore else st.nothing())
    return arrays(np.int64, n, elements=values)


pairs = st.integers(1, 6).flatmap(lambda k: st.integers(1, 200).flatmap(
    lambda n: st.tuples(st.just(k), _labels(k, n, False), _labels(k, n, True))))


@FAST
@given(pairs)
def test_iou_is_in_0_1_or_nan_exactly_for_absent_classes(pair):
    k, pred, target = pair
    cm = confusion_matrix(torch.from_numpy(pred), torch.from_numpy(target), k)
    assert int(cm.sum()) == int((target != 255).sum())  # ignore pixels are never counted
    iou = per_class_iou(cm)
    present = np.bincount(target[target != 255], minlength=k)[:k] > 0
    assert (np.isnan(iou) == ~present).all()
    assert ((iou[present] >= 0) & (iou[present] <= 1)).all()


@FAST
@given(pairs)
def test_perfect_prediction_scores_one_and_iou_is_symmetric(pair):
    k, pred, target = pair
    perfect = np.where(target == 255, pred, target)
    iou = per_class_iou(confusion_matrix(torch.from_numpy(perfect), torch.from_numpy(target), k))
    present = ~np.isnan(iou)
    assert np.allclose(iou[present], 1.0)
    swapped_target = np.where(target == 255, 255, pred)  # swap roles of prediction and truth
    a = per_class_iou(confusion_matrix(torch.from_numpy(pred), torch.from_numpy(target), k))
    b = per_class_iou(confusion_matrix(torch.from_numpy(np.where(target == 255, 0, target)),
                                       torch.from_numpy(swapped_target), k))
    both = ~np.isnan(a) & ~np.isnan(b)
    assert np.allclose(a[both], b[both])


@FAST
@given(st.floats(0, 1), st.floats(0, 1))
def test_harmonic_iou_is_symmetric_and_between_min_and_max(old, new):
    h = harmonic_iou(old, new)
    assert h == harmonic_iou(new, old)
    assert min(old, new) - 1e-12 <= h <= max(old, new) + 1e-12
    assert math.isnan(harmonic_iou(math.nan, new))
