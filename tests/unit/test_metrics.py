"""IoU, old/new/all mIoU, hIoU and forgetting on a hand-built confusion matrix."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from incseg_app.training.metrics import (
    class_ious, confusion_matrix, forgetting, harmonic_iou, nan_mean, per_class_iou, step_scores,
)

# rows = ground truth, columns = prediction; channel 3 is predicted once but has no ground-truth pixel
CM = np.array([
    [4, 1, 0, 1],
    [1, 3, 0, 0],
    [0, 0, 2, 0],
    [0, 0, 0, 0],
])


def test_confusion_matrix_counts_pairs_and_skips_ignore():
    pred = torch.tensor([[0, 0, 0, 0, 1, 3], [1, 0, 1, 1, 2, 2]])
    target = torch.tensor([[0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 2, 2]])
    pred_with_ignored = torch.cat([pred, torch.tensor([[2, 2, 2, 2, 2, 2]])])
    target_with_ignored = torch.cat([target, torch.full((1, 6), 255)])
    assert confusion_matrix(pred_with_ignored, target_with_ignored, 4).numpy().tolist() == CM.tolist()
    assert confusion_matrix(pred, target, 4).dtype == torch.int64


def test_confusion_matrix_rejects_targets_beyond_the_classes():
    with pytest.raises(ValueError, match="number of classes"):
        confusion_matrix(torch.tensor([0]), torch.tensor([5]), 3)


def test_per_class_iou_and_absent_class_is_nan():
    iou = per_class_iou(CM)
    assert iou[0] == pytest.approx(4 / 7)  # tp 4, gt 6, predicted 5
    assert iou[1] == pytest.approx(3 / 5)  # tp 3, gt 4, predicted 4
    assert iou[2] == pytest.approx(1.0)
    assert math.isnan(iou[3])  # no ground truth -> not averaged, although predicted once


def test_step_scores_old_new_all_and_hiou():
    scores = step_scores(CM, old_channels=[0, 1], new_channels=[2, 3])
    old, new = (4 / 7 + 3 / 5) / 2, 1.0
    assert scores["old"] == pytest.approx(old)
    assert scores["new"] == pytest.approx(new)  # channel 3 (absent) is left out
    assert scores["all"] == pytest.approx((4 / 7 + 3 / 5 + 1) / 3)
    assert scores["hiou"] == pytest.approx(2 * old * new / (old + new))


def test_base_step_has_no_old_score():
    scores = step_scores(CM, old_channels=[], new_channels=[0, 1, 2, 3])
    assert math.isnan(scores["old"]) and math.isnan(scores["hiou"])
    assert scores["new"] == pytest.approx(scores["all"])


def test_harmonic_iou_edges():
    assert harmonic_iou(0.0, 0.0) == 0.0
    assert harmonic_iou(0.5, 0.5) == pytest.approx(0.5)
    assert math.isnan(harmonic_iou(math.nan, 0.4))
    assert math.isnan(nan_mean([math.nan, math.nan]))


def test_class_ious_keyed_by_stable_id_with_none_for_absent():
    ious = class_ious(CM, class_ids=[0, 7, 3, 9])
    assert ious[7] == pytest.approx(3 / 5)
    assert ious[9] is None


def test_forgetting_is_best_ancestor_minus_now():
    ancestors = [{0: 0.95, 1: 0.8, 2: None}, {0: 0.9, 1: 0.6, 2: 0.5}]
    current = {0: 0.9, 1: 0.5, 2: 0.4, 3: None, 4: 0.7}
    got = forgetting(current, ancestors)
    assert got[1] == pytest.approx(0.3)  # best 0.8 two versions ago
    assert got[2] == pytest.approx(0.1)
    assert got[0] is None  # background is never scored
    assert got[3] is None  # absent now
    assert got[4] is None  # never learned before
    assert forgetting({1: 0.9}, [{1: 0.8}])[1] == pytest.approx(-0.1)  # improvement is negative forgetting
