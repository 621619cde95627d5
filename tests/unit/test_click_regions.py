"""The region hierarchy behind click-to-refine without SAM: nested cuts, one region per click, negative
points split a region, and the cache builds a tree once."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from incseg_app.domain.errors import ValidationError
from incseg_app.labeling.click_regions import HierarchyCache, HierarchyOptions, build_hierarchy, click_edit


def quadrants(size: int = 64, seed: int = 0) -> np.ndarray:
    """Four flat colour quadrants with a little noise (TL red, TR green, BL blue, BR yellow)."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size, 3), np.uint8)
    h = size // 2
    img[:h, :h], img[:h, h:], img[h:, :h], img[h:, h:] = (200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40)
    return np.clip(img.astype(int) + rng.integers(-8, 8, img.shape), 0, 255).astype(np.uint8)


OPTS = HierarchyOptions(n_leaves=64, work_side=0)


def test_cuts_are_nested_and_respect_colour_edges():
    tree = build_hierarchy(quadrants(), OPTS)
    four = tree.partition(4)
    assert len(np.unique(four)) == 4
    for q in (four[:32, :32], four[:32, 32:], four[32:, :32], four[32:, 32:]):
        assert len(np.unique(q)) == 1  # each quadrant is one region of the 4-cut
    fine = tree.partition(16)
    for r in np.unique(fine):  # every fine region lies inside one coarse region
        assert len(np.unique(four[fine == r])) == 1


def test_one_positive_click_paints_a_whole_region_and_a_negative_one_splits_it():
    tree = build_hierarchy(quadrants(), OPTS)
    empty = np.zeros((64, 64), np.uint8)
    out = click_edit(tree, empty, 3, [(8, 8, True)], n_regions=4)
    assert (out[:32, :32] == 3).all() and (out[:, 32:] == 0).all() and (out[32:] == 0).all()
    two = click_edit(tree, empty, 3, [(8, 8, True)], n_regions=2)  # coarser: a bigger region
    assert (two == 3).sum() > (out == 3).sum()
    split = click_edit(tree, empty, 3, [(8, 8, True), (8, 56, False)], n_regions=2)
    assert split[8, 8] == 3 and split[56, 8] == 0
    start = np.full((64, 64), 3, np.uint8)
    start[:32] = 5
    removed = click_edit(tree, start, 3, [(56, 56, False)], n_regions=4)
    assert (removed[32:, 32:] == 0).all() and (removed[32:, :32] == 3).all() and (removed[:32] == 5).all()


def test_bad_clicks_are_refused():
    tree = build_hierarchy(quadrants(), OPTS)
    with pytest.raises(ValidationError, match="outside"):
        click_edit(tree, np.zeros((64, 64), np.uint8), 1, [(70, 1, True)])
    with pytest.raises(ValidationError, match="class id"):
        click_edit(tree, np.zeros((64, 64), np.uint8), 0, [(1, 1, True)])


def test_the_cache_builds_each_tree_once_even_when_asked_twice_at_the_same_time():
    cache = HierarchyCache(capacity=2, opts=OPTS)
    img = quadrants()
    trees = []
    threads = [threading.Thread(target=lambda: trees.append(cache.get("k", lambda: img))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.builds == 1 and all(t is trees[0] for t in trees) and cache.cached("k")
