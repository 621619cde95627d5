"""COCO in and out: VOC -> store -> COCO -> store -> VOC round trips bit for bit (ids, names, colours,
void), instance polygons / RLE and panoptic PNGs import as the label maps pycocotools draws, and a
COCO file made by pycocotools from the CamVid val masks imports with identical label maps."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from incseg_app.domain.errors import BadFileError
from incseg_app.services import StoreSettings, classes, datasets, export, images, masks, open_store
from incseg_app.services.coco import export_coco
from store_helpers import image_bytes, label_png, snapshot, store, write  # noqa: F401

NAMES = ["background", "road", "car", "tree"]


def _voc_folder(root: Path, n: int = 4) -> dict[str, np.ndarray]:
    """images/ + labels/ + classes.json: ids 1..3, background 0, a void (255) border, odd sizes."""
    rng = np.random.default_rng(0)
    labels = {}
    for i in range(n):
        h, w = 37 + i, 53 - i
        label = np.zeros((h, w), np.uint8)
        label[: h // 2, :] = 1
        label[h // 3: h // 3 + 9, 5 + i: 20 + i] = 2
        label[-8:, -12:] = 3
        label[rng.random((h, w)) < 0.02] = 2  # speckles: many tiny regions, a hard case for RLE
        label[:, :2] = 255
        name = f"img{i}"
        write(root / "images" / f"{name}.png", image_bytes(w, h, seed=i))
        write(root / "labels" / f"{name}.png", label_png(label))
        labels[name] = label
    (root / "classes.json").write_text(json.dumps({"classes": NAMES, "background_index": 0, "ignore_index": 255}))
    return labels


def _read_voc(folder: Path) -> dict[str, np.ndarray]:
    return {p.stem: np.asarray(Image.open(p)) for p in sorted((folder / "SegmentationClass").glob("*.png"))}


def test_voc_store_coco_store_voc_round_trip(store, tmp_path):
    original = _voc_folder(tmp_path / "voc")
    datasets.import_dataset(store, tmp_path / "voc")
    classes.recolour_class(store, "car", "#12ab34")  # a colour no default palette would pick
    export_coco(store, tmp_path / "coco", with_images=True)
    doc = json.loads((tmp_path / "coco" / "annotations" / "instances_train.json").read_text())
    assert {c["name"]: c["id"] for c in doc["categories"]} == {"road": 1, "car": 2, "tree": 3, "void": 255}
    assert all(isinstance(a["segmentation"]["counts"], str) for a in doc["annotations"])  # compressed RLE

    second = open_store(tmp_path / "second", StoreSettings())
    try:
        report = datasets.import_dataset(second, tmp_path / "coco")
        assert report.images == 4 and report.masks == 4
        assert [(c.id, c.name, c.color) for c in classes.list_classes(second)] == \
            [(c.id, c.name, c.color) for c in classes.list_classes(store)]
        export.export_masks(second, tmp_path / "voc2")
    finally:
        second.close()
    final = _read_voc(tmp_path / "voc2")
    assert set(final) == set(original)
    for name, label in original.items():
        assert np.array_equal(final[name], label), name  # same ids, background and void pixels


def test_coco_zip_round_trip_through_import(store, tmp_path):
    _voc_folder(tmp_path / "voc", n=2)
    datasets.import_dataset(store, tmp_path / "voc")
    archive = export.export_archive(store, tmp_path / "out", "coco")
    assert archive.suffix == ".zip"
    second = open_store(tmp_path / "second", StoreSettings())
    try:
        assert datasets.import_dataset(second, archive).masks == 2
        for rec in images.list_images(second):
            first = next(r for r in images.list_images(store) if r.original_name == rec.original_name)
            assert np.array_equal(masks.read_mask(second, masks.head_mask(second, rec.id).id),
                                  masks.read_mask(store, masks.head_mask(store, first.id).id))
    finally:
        second.close()


def _poly(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


def test_instance_polygons_rle_overlaps_and_void(store, tmp_path):
    h, w = 40, 60
    write(tmp_path / "ds" / "images" / "a.jpg", image_bytes(w, h, fmt="JPEG"))
    big = mask_utils.merge(mask_utils.frPyObjects(_poly(0, 0, 50, 30), h, w))
    small = np.zeros((h, w), np.uint8, order="F")
    small[10:20, 10:20] = 1
    small_rle = mask_utils.encode(small)
    void = mask_utils.frPyObjects({"size": [h, w], "counts": [0, 3 * h, (w - 3) * h]}, h, w)  # uncompressed: 3 columns
    doc = {"images": [{"id": 7, "file_name": "a.jpg", "width": w, "height": h}],
           "categories": [{"id": 3, "name": "sky"}, {"id": 9, "name": "bird", "color": [200, 10, 10]},
                          {"id": 0, "name": "unlabeled", "supercategory": "void"}],
           "annotations": [
               {"id": 1, "image_id": 7, "category_id": 9, "iscrowd": 0,
                "segmentation": {"size": [h, w], "counts": small_rle["counts"].decode()}},
               {"id": 2, "image_id": 7, "category_id": 3, "iscrowd": 0, "segmentation": _poly(0, 0, 50, 30)},
               {"id": 3, "image_id": 7, "category_id": 0, "iscrowd": 1,
                "segmentation": {"size": [h, w], "counts": [0, 3 * h, (w - 3) * h]}}]}
    (tmp_path / "ds" / "annotations").mkdir()
    (tmp_path / "ds" / "annotations" / "instances_val.json").write_text(json.dumps(doc))
    report = datasets.import_dataset(store, tmp_path / "ds")
    sky, bird = classes.get_class(store, "sky"), classes.get_class(store, "bird")
    assert (sky.id, bird.id, bird.color) == (3, 9, "#c80a0a")  # COCO ids and colour kept when free
    (rec,) = images.list_images(store)
    assert rec.split.value == "val" and set(rec.tags) == {"sky", "bird"} and report.masks == 1
    expected = np.zeros((h, w), np.uint8)
    expected[mask_utils.decode(big).astype(bool)] = sky.id
    expected[small.astype(bool)] = bird.id  # the smaller object is painted over the larger one
    expected[mask_utils.decode(void).astype(bool)] = 255
    assert np.array_equal(masks.read_mask(store, masks.head_mask(store, rec.id).id), expected)


def test_panoptic_png_segments(store, tmp_path):
    h, w = 24, 32
    write(tmp_path / "pan" / "images" / "p.png", image_bytes(w, h))
    ids = np.zeros((h, w), np.int64)
    ids[:, :16] = 1_000_001  # a segment id above 2^16 uses all three colour channels
    ids[5:10, 20:30] = 42
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], axis=-1).astype(np.uint8)
    (tmp_path / "pan" / "annotations" / "panoptic_train").mkdir(parents=True)
    Image.fromarray(rgb).save(tmp_path / "pan" / "annotations" / "panoptic_train" / "p.png")
    doc = {"images": [{"id": 1, "file_name": "p.png", "width": w, "height": h}],
           "categories": [{"id": 17, "name": "grass", "isthing": 0}, {"id": 18, "name": "dog", "isthing": 1}],
           "annotations": [{"image_id": 1, "file_name": "p.png", "segments_info": [
               {"id": 1_000_001, "category_id": 17}, {"id": 42, "category_id": 18}]}]}
    (tmp_path / "pan" / "annotations" / "panoptic_train.json").write_text(json.dumps(doc))
    datasets.import_dataset(store, tmp_path / "pan")
    (rec,) = images.list_images(store)
    got = masks.read_mask(store, masks.head_mask(store, rec.id).id)
    grass, dog = classes.get_class(store, "grass").id, classes.get_class(store, "dog").id
    expected = np.full((h, w), 255, np.uint8)  # COCO panoptic's id 0 is "unlabeled": ignore
    expected[:, :16], expected[5:10, 20:30] = grass, dog
    assert np.array_equal(got, expected)


def test_bad_coco_changes_nothing(store, tmp_path):
    write(tmp_path / "bad" / "images" / "a.png", image_bytes(20, 10))
    doc = {"images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 10},
                      {"id": 2, "file_name": "missing.png", "width": 20, "height": 10}],
           "categories": [{"id": 1, "name": "x"}], "annotations": []}
    (tmp_path / "bad" / "coco.json").write_text(json.dumps(doc))
    before = snapshot(store)
    with pytest.raises(BadFileError, match="missing.png"):
        datasets.import_dataset(store, tmp_path / "bad")
    doc["images"].pop()
    doc["annotations"] = [{"id": 1, "image_id": 1, "category_id": 5, "segmentation": _poly(0, 0, 5, 5)}]
    (tmp_path / "bad" / "coco.json").write_text(json.dumps(doc))
    with pytest.raises(BadFileError, match="unknown category 5"):
        datasets.import_dataset(store, tmp_path / "bad" / "coco.json")
    assert snapshot(store) == before


def _coco_from_labels(folder: Path, names: list[str], out: Path) -> None:
    """A COCO instance file drawn with pycocotools from label PNGs (dataset id k -> category k + 1;
    void 255 -> a void category)."""
    cats = [{"id": k + 1, "name": n} for k, n in enumerate(names)] + [{"id": 99, "name": "void"}]
    doc = {"images": [], "annotations": [], "categories": cats}
    for i, path in enumerate(sorted((folder / "labels").glob("*.png"))):
        label = np.asarray(Image.open(path))
        doc["images"].append({"id": i, "file_name": f"{path.stem}.jpg", "width": label.shape[1],
                              "height": label.shape[0]})
        for value in np.unique(label):
            rle = mask_utils.encode(np.asfortranarray((label == value).astype(np.uint8)))
            rle["counts"] = rle["counts"].decode()
            doc["annotations"].append({"id": len(doc["annotations"]) + 1, "image_id": i, "iscrowd": 0,
                                       "category_id": 99 if value == 255 else int(value) + 1, "segmentation": rle})
    out.write_text(json.dumps(doc))


@pytest.mark.slow
def test_camvid_val_coco_imports_with_identical_label_maps(shared_data, tmp_path):
    camvid = shared_data / "camvid"
    names = json.loads((camvid / "classes.json").read_text())["classes"]
    coco_dir = tmp_path / "camvid_coco"
    shutil.copytree(camvid / "val" / "images", coco_dir / "images")
    _coco_from_labels(camvid / "val", names, coco_dir / "instances_val.json")
    from_folder = open_store(tmp_path / "folder", StoreSettings())
    from_coco = open_store(tmp_path / "coco", StoreSettings())
    try:
        ref = datasets.import_dataset(from_folder, camvid / "val")
        got = datasets.import_dataset(from_coco, coco_dir)
        assert got.images == ref.images == 101 and got.masks == 101
        by_name = {rec.original_name: rec for rec in images.list_images(from_coco)}
        ids_folder = {c.name: c.id for c in classes.list_classes(from_folder)}
        ids_coco = {c.name: c.id for c in classes.list_classes(from_coco)}
        lut = np.full(256, 255, np.uint8)
        for name, cid in ids_folder.items():
            lut[cid] = ids_coco[name]
        for rec in images.list_images(from_folder):
            a = masks.read_mask(from_folder, masks.head_mask(from_folder, rec.id).id)
            other = by_name[rec.original_name]
            b = masks.read_mask(from_coco, masks.head_mask(from_coco, other.id).id)
            assert np.array_equal(lut[a], b), rec.original_name
    finally:
        from_folder.close()
        from_coco.close()


def test_cli_exports_coco_and_imports_it_back(tmp_path):
    from click.testing import CliRunner

    from incseg_app.cli import cli

    _voc_folder(tmp_path / "voc", n=2)
    run = lambda *args: CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)  # noqa: E731
    assert run("dataset", "import", tmp_path / "voc", "--storage", tmp_path / "a").exit_code == 0
    out = run("export", tmp_path / "coco", "--format", "coco", "--with-images", "--storage", tmp_path / "a")
    assert "exported 2 mask(s) and 2 image(s)" in out.output
    result = run("dataset", "import", tmp_path / "coco" / "annotations" / "instances_train.json",
                 "--storage", tmp_path / "b")
    assert "imported 2 new image(s)" in result.output and "2 mask(s)" in result.output
    assert "road, car, tree" in result.output
