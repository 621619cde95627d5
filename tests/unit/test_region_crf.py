"""RegionCRF: mean-field smoothing of the correction head's region probabilities (labeling/region_crf.py)."""
from __future__ import annotations

import numpy as np
import pytest

from incseg_app.domain.errors import ValidationError
from incseg_app.labeling.region_crf import RegionCRF, border_adjacency


def stripes(count: int, width: int = 4, height: int = 6) -> np.ndarray:
    """h×w id map of ``count`` vertical stripes 0..count-1, left to right."""
    return np.repeat(np.arange(count), width)[None].repeat(height, 0)


def test_border_adjacency_weighs_shared_border_and_only_touching_regions():
    seg = stripes(3)
    a = border_adjacency(seg).toarray()
    assert a.shape == (3, 3)
    np.testing.assert_allclose(a.sum(1), 1.0)
    assert a[0, 2] == 0 and a[2, 0] == 0  # the outer stripes never touch
    assert a[1, 0] == pytest.approx(0.5) and a[1, 2] == pytest.approx(0.5)
    assert np.all(np.diag(a) == 0)
    lone = border_adjacency(np.zeros((5, 5), np.int32)).toarray()
    assert lone.shape == (1, 1) and lone[0, 0] == 0  # no neighbour: a zero row, not a division by zero


def test_an_unsure_region_takes_the_label_of_similar_neighbours():
    seg = stripes(5)
    probs = np.array([[0.1, 0.1, 0.55, 0.1, 0.1], [0.9, 0.9, 0.45, 0.9, 0.9]])  # bg, class: the middle is unsure
    same = np.ones((5, 4))
    out = RegionCRF()(probs, border_adjacency(seg), same)
    assert out[1, 2] > 0.5 > probs[1, 2]  # the middle stripe joins its look-alike class neighbours
    np.testing.assert_allclose(out.sum(0), 1.0)
    assert (out[1, [0, 1, 3, 4]] >= probs[1, [0, 1, 3, 4]] - 1e-9).all()  # agreement only sharpens


def test_a_region_that_looks_different_keeps_its_own_label():
    seg = stripes(3)
    probs = np.array([[0.1, 0.7, 0.1], [0.9, 0.3, 0.9]])  # a small object (bg-labelled) between two of the class
    desc = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])  # ... that looks nothing like them
    sharp = RegionCRF(sharpness=5.0)(probs, border_adjacency(seg), desc)
    plain = RegionCRF(sharpness=0.0)(probs, border_adjacency(seg), desc)
    assert sharp[0, 1] > 0.5  # the appearance kernel protects the boundary
    assert plain[0, 1] < 0.5  # without it the neighbours would swallow the object
    assert sharp[0, 1] > plain[0, 1]


def test_no_strength_or_no_iteration_leaves_the_probabilities_alone():
    seg = stripes(3)
    probs = np.array([[0.2, 0.6, 0.3], [0.8, 0.4, 0.7]])
    for crf in (RegionCRF(strength=0.0), RegionCRF(iterations=0)):
        np.testing.assert_allclose(crf(probs, border_adjacency(seg), np.ones((3, 2))), probs)


def test_bad_settings_and_mismatched_shapes_are_refused():
    with pytest.raises(ValidationError, match="≥ 0"):
        RegionCRF(strength=-1.0)
    with pytest.raises(ValidationError, match="≥ 0"):
        RegionCRF(iterations=-2)
    with pytest.raises(ValidationError, match="same regions"):
        RegionCRF()(np.full((2, 3), 0.5), border_adjacency(stripes(4)), np.ones((3, 2)))
    with pytest.raises(ValidationError, match="same regions"):
        RegionCRF()(np.full((2, 3), 0.5), border_adjacency(stripes(3)), np.ones((4, 2)))
