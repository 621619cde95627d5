"""Step targets (CISS background shift), deterministic augmentation, rank sharding, folder datasets."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from incseg_app.domain.errors import NotFoundError, ValidationError
from incseg_app.training.data import (
    Augment, InMemoryDataset, StepDataset, StepLoader, images_with_classes, step_lookup, target_lookup,
)
from incseg_app.training.folder import FolderDataset

MASK = np.array([[0, 1, 2, 3], [7, 255, 3, 1]], dtype=np.uint8)


def test_lookup_keeps_this_steps_classes_and_shifts_the_rest_to_background():
    lut = step_lookup(class_ids=(0, 1, 2, 3), trained_ids=(3,))
    assert lut[MASK].tolist() == [[0, 0, 0, 3], [0, 255, 3, 0]]


def test_base_step_lookup_maps_stable_ids_to_channels():
    lut = step_lookup(class_ids=(0, 7, 3), trained_ids=(7, 3))
    assert lut[MASK].tolist() == [[0, 0, 0, 2], [1, 255, 2, 0]]
    assert lut[255] == 255 and lut[200] == 0


def test_lookup_rejects_a_trained_class_without_channel():
    with pytest.raises(ValidationError, match="no output channel"):
        step_lookup((0, 1), (1, 5))
    with pytest.raises(ValidationError):
        target_lookup({255: 1})


def _items(n: int = 4, size: int = 40) -> list[dict]:
    rng = np.random.default_rng(0)
    items = []
    for i in range(n):
        mask = np.zeros((size, size), np.uint8)
        mask[: size // 2] = 1 + i % 2
        mask[size // 2:, : size // 2] = 3
        items.append({"image": rng.integers(0, 256, (size, size, 3), dtype=np.uint8), "mask": mask})
    return items


def test_items_are_validated_and_tags_derived_from_masks():
    ds = InMemoryDataset(_items(2))
    assert ds[0]["tags"] == (1, 3) and ds[1]["tags"] == (2, 3)
    assert ds[0]["confidence"] is None and ds[0]["weak"] is False
    with pytest.raises(ValidationError, match="item 0"):
        InMemoryDataset([{"image": np.zeros((4, 4), np.uint8), "mask": np.zeros((4, 4), np.uint8)}])


def test_step_dataset_applies_the_lookup_and_tags_in_channel_space():
    ds = InMemoryDataset(_items(2))
    step = StepDataset(ds, step_lookup((0, 1, 2, 3), (3,)), 4, Augment(crop_size=0))
    sample = step[0]
    assert sample["images"].shape == (3, 40, 40) and 0 <= float(sample["images"].min()) <= float(sample["images"].max()) <= 1
    assert set(sample["labels"].unique().tolist()) == {0, 3}
    assert sample["tags"].tolist() == [1.0, 0.0, 0.0, 1.0]  # class 1 is not trained in this step
    assert torch.equal(sample["confidence"], torch.ones(40, 40))


def test_augmentation_depends_only_on_seed_epoch_and_index():
    ds = InMemoryDataset(_items(2))
    a = StepDataset(ds, step_lookup((0, 1, 2, 3), (1, 2, 3)), 4, Augment(crop_size=32, align=4), seed=3)
    b = StepDataset(ds, step_lookup((0, 1, 2, 3), (1, 2, 3)), 4, Augment(crop_size=32, align=4), seed=3)
    assert torch.equal(a[1]["images"], b[1]["images"]) and torch.equal(a[1]["labels"], b[1]["labels"])
    assert a[1]["images"].shape == (3, 32, 32)
    later = []
    for epoch in (1, 2, 3):
        b.epoch = epoch
        later.append(b[1]["images"])
    assert not all(torch.equal(a[1]["images"], x) for x in later)


def test_small_images_are_padded_with_ignore():
    ds = InMemoryDataset(_items(1, size=20))
    sample = StepDataset(ds, step_lookup((0, 1, 2, 3), (1, 2, 3)), 4, Augment(32, (1.0, 1.0), False))[0]
    assert sample["labels"].shape == (32, 32)
    assert (sample["labels"][20:] == 255).all() and (sample["confidence"][20:] == 0).all()


def test_two_ranks_together_see_the_single_rank_batch():
    ds = StepDataset(InMemoryDataset(_items(8)), step_lookup((0, 1, 2, 3), (1, 2, 3)), 4, Augment(32))
    single = next(StepLoader(ds, 4, seed=1).epoch(0))
    halves = [next(StepLoader(ds, 2, seed=1, rank=r, world_size=2).epoch(0)) for r in (0, 1)]
    assert sorted(single.image_ids.tolist()) == sorted(torch.cat([h.image_ids for h in halves]).tolist())
    assert single.images.shape == (4, 3, 32, 32) and single.labels.dtype == torch.int64


def test_loader_shrinks_the_batch_for_few_images_and_rejects_none():
    ds = StepDataset(InMemoryDataset(_items(3)), step_lookup((0, 1), (1,)), 2, Augment(32))
    loader = StepLoader(ds, 4)
    assert loader.batch_size == 3 and len(loader) == 1
    assert next(loader.epoch(0)).images.shape[0] == 3
    empty = StepDataset(InMemoryDataset([]), step_lookup((0, 1), (1,)), 2, Augment(32))
    with pytest.raises(ValidationError, match="at least one image"):
        StepLoader(empty, 4)


def test_images_with_classes_selects_overlapped_step_images():
    ds = InMemoryDataset(_items(4))
    assert images_with_classes(ds, [2]) == [1, 3]
    assert images_with_classes(ds, [9]) == []


def _write_folder(root, background_index):
    (root / "train" / "images").mkdir(parents=True)
    (root / "train" / "labels").mkdir(parents=True)
    names = ["bg", "road", "car"] if background_index == 0 else ["road", "car"]
    (root / "classes.json").write_text(json.dumps({"classes": names, "background_index": background_index,
                                                   "ignore_index": 255}))
    Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(root / "train" / "images" / "a.jpg")
    label = np.array([[0, 1, 255, 1, 0, 0]] * 4, np.uint8)
    Image.fromarray(label).save(root / "train" / "labels" / "a.png")


def test_folder_without_background_shifts_ids_by_one(tmp_path):
    _write_folder(tmp_path, None)
    ds = FolderDataset(tmp_path, "train")
    assert ds.class_names == {1: "road", 2: "car"}
    assert ds[0]["mask"][0].tolist() == [1, 2, 255, 2, 1, 1]
    assert ds[0]["image"].shape == (4, 6, 3)


def test_folder_with_background_keeps_it_at_zero(tmp_path):
    _write_folder(tmp_path, 0)
    ds = FolderDataset(tmp_path, "train")
    assert ds.class_names == {1: "road", 2: "car"}
    assert ds[0]["mask"][0].tolist() == [0, 1, 255, 1, 0, 0]


def test_folder_errors_name_the_path(tmp_path):
    with pytest.raises(NotFoundError, match="classes.json"):
        FolderDataset(tmp_path, "train")
    _write_folder(tmp_path, None)
    with pytest.raises(NotFoundError, match="val"):
        FolderDataset(tmp_path, "val")


def test_camvid_loads_eleven_classes(shared_data):
    ds = FolderDataset(shared_data / "camvid", "val", max_images=2)
    assert len(ds) == 2 and len(ds.class_names) == 11 and ds.class_names[1] == "sky"
    values = set(np.unique(ds[0]["mask"]).tolist())
    assert values <= set(range(1, 12)) | {255}
