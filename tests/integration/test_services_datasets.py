"""Dataset import: VOC samples, a few CamVid images (copied to tmp_path), VOC layout, zips, class mapping."""
from __future__ import annotations

import io
import json
import shutil
import zipfile

import numpy as np
import pytest
from PIL import Image

from incseg_app.domain.enums import MaskKind, ReviewStatus, Split
from incseg_app.services import classes, datasets, images, masks
from store_helpers import image_bytes, label_png, snapshot, store, write  # noqa: F401


def test_voc_samples_import_with_masks(store, shared_data):
    progress = []
    r = datasets.import_dataset(store, shared_data / "voc_samples", progress=lambda f, m: progress.append(f))
    assert (r.images, r.masks, r.duplicates) == (6, 6, 0)
    assert len(r.classes_created) == 20 and r.class_map[15] == classes.get_class(store, "person").id
    assert progress[-1] == 1.0
    recs = images.list_images(store)
    assert len(recs) == 6 and all(rec.split == Split.TRAIN for rec in recs)
    rec = next(x for x in recs if x.original_name == "2011_000003.jpg")
    head = masks.head_mask(store, rec.id)
    assert (head.kind, head.status) == (MaskKind.GROUND_TRUTH, ReviewStatus.ACCEPTED)
    raw = np.asarray(Image.open(shared_data / "voc_samples" / "labels" / "2011_000003.png"))
    stored = masks.read_mask(store, head.id)
    assert stored.shape == (rec.height, rec.width)
    lut = np.full(256, 255, np.uint8)
    lut[0] = 0
    for ds_id, store_id in r.class_map.items():
        lut[ds_id] = store_id
    assert np.array_equal(stored, lut[raw])
    assert set(rec.tags) == {classes.get_class(store, i).name for i in np.unique(stored) if 0 < i < 255}


def test_reimport_is_idempotent(store, shared_data):
    datasets.import_dataset(store, shared_data / "voc_samples")
    before = snapshot(store)
    r = datasets.import_dataset(store, shared_data / "voc_samples")
    assert (r.images, r.duplicates, r.masks, r.classes_created) == (0, 6, 0, [])
    assert snapshot(store) == before


def test_camvid_images_map_onto_existing_classes(store, shared_data, tmp_path):
    src = shared_data / "camvid" / "train"
    root = tmp_path / "camvid" / "train"
    for name in sorted(p.stem for p in (src / "images").iterdir())[:3]:
        write(root / "images" / f"{name}.jpg", (src / "images" / f"{name}.jpg").read_bytes())
        write(root / "labels" / f"{name}.png", (src / "labels" / f"{name}.png").read_bytes())
    shutil.copy(shared_data / "camvid" / "classes.json", tmp_path / "camvid" / "classes.json")
    car = classes.create_class(store, "Car")  # exists already: CamVid's "car" maps onto it
    r = datasets.import_dataset(store, root)
    names = json.loads((shared_data / "camvid" / "classes.json").read_text())["classes"]
    assert r.images == 3 and r.masks == 3
    assert r.class_map[names.index("car")] == car.id
    assert len(r.classes_created) == 10
    assert len({c.color for c in classes.list_classes(store)}) == 11
    head = masks.head_mask(store, images.list_images(store)[0].id)
    values = set(np.unique(masks.read_mask(store, head.id)).tolist())
    assert 0 not in values  # CamVid has no background id: every pixel is a class or void
    assert values <= set(r.class_map.values()) | {255}


def test_voc_layout_palette_labels_split_folders_and_zip(store, tmp_path):
    root = tmp_path / "VOCish"
    for split, seed in (("train", 1), ("val", 2)):
        label = np.zeros((6, 8), np.uint8)
        label[:3] = 7  # VOC id 7 = car
        label[5, 7] = 255
        pal = Image.fromarray(label, mode="L").convert("P")
        buf = io.BytesIO()
        pal.save(buf, format="PNG")
        write(root / split / "JPEGImages" / f"{split}_img.jpg", image_bytes(8, 6, seed, "JPEG"))
        write(root / split / "SegmentationClass" / f"{split}_img.png", buf.getvalue())
    write(root / "train" / "JPEGImages" / "no_label.jpg", image_bytes(8, 6, 3, "JPEG"))
    archive = tmp_path / "voc.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in root.rglob("*"):
            if p.is_file():
                zf.write(p, p.relative_to(tmp_path).as_posix())
    r = datasets.import_dataset(store, archive)
    assert (r.images, r.masks, r.unlabelled) == (3, 2, ["no_label.jpg"])
    car = classes.get_class(store, "car")
    assert [i.original_name for i in images.list_images(store, split=Split.VAL)] == ["val_img.jpg"]
    assert [i.original_name for i in images.list_images(store, tag="car")] == ["train_img.jpg", "val_img.jpg"]
    mask = masks.read_mask(store, masks.labelled_masks(store, Split.VAL)[0].id)
    assert mask[0, 0] == car.id and mask[4, 0] == 0 and mask[5, 7] == 255


def test_split_override_and_missing_layout(store, tmp_path):
    root = tmp_path / "ds"
    write(root / "images" / "a.png", image_bytes(4, 4))
    write(root / "labels" / "a.png", label_png(np.ones((4, 4), np.uint8)))
    (root / "classes.json").write_text(json.dumps({"classes": ["background", "cat"], "background_index": 0}))
    r = datasets.import_dataset(store, root, split=Split.VAL)
    assert images.get_image(store, 1).split == Split.VAL and r.masks == 1
    from incseg_app.domain.errors import BadFileError
    with pytest.raises(BadFileError, match="no dataset found"):
        datasets.import_dataset(store, tmp_path / "ds" / "images")
    (tmp_path / "empty" / "images").mkdir(parents=True)
    with pytest.raises(BadFileError, match="holds no images"):
        datasets.import_dataset(store, tmp_path / "empty")
    (root / "classes.json").write_text("{not json")
    with pytest.raises(BadFileError, match="classes.json: not a valid classes.json"):
        datasets.import_dataset(store, root)
