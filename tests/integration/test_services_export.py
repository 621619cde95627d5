"""Export: VOC palette PNGs with class colours, classes.json, and re-import round trip."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from incseg_app.domain.enums import MaskKind, ReviewStatus, Split
from incseg_app.services import AppContext, classes, datasets, export, images, masks, open_store
from incseg_app.services.imageio import hex_to_rgb
from store_helpers import image_bytes, store  # noqa: F401


def test_export_palette_pngs_and_round_trip(store, tmp_path, new_database):
    car = classes.create_class(store, "car", "#ff0000")
    tree = classes.create_class(store, "tree")
    a, b, c = images.import_uploads(store, [("dir/a.png", image_bytes(8, 6, 1)), ("b.png", image_bytes(8, 6, 2)),
                                            ("c.png", image_bytes(8, 6, 3))]).imported
    images.set_split(store, b.id, Split.VAL)
    mask = np.zeros((6, 8), np.uint8)
    mask[:3] = car.id
    mask[5, 0] = tree.id
    mask[5, 7] = 255
    masks.save_mask(store, a.id, mask)
    masks.save_mask(store, b.id, mask)
    masks.save_mask(store, c.id, mask, MaskKind.PSEUDO, ReviewStatus.TO_REVIEW)
    report = export.export_masks(store, tmp_path / "out", with_images=True)
    assert (report.masks, report.images) == (2, 2)
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "SegmentationClass").iterdir()) == ["a.png", "b.png"]
    png = Image.open(out / "SegmentationClass" / "a.png")
    assert png.mode == "P" and np.array_equal(np.asarray(png), mask)
    pal = png.getpalette()
    assert pal[3 * car.id:3 * car.id + 3] == [255, 0, 0]
    assert tuple(pal[3 * tree.id:3 * tree.id + 3]) == hex_to_rgb(tree.color)
    spec = json.loads((out / "classes.json").read_text())
    assert spec == {"classes": ["background", "car", "tree"], "background_index": 0, "ignore_index": 255}
    assert (out / "JPEGImages" / "a.png").read_bytes() == images.image_bytes(store, a.id)
    val_only = export.export_masks(store, tmp_path / "val", split=Split.VAL,
                                   statuses=(ReviewStatus.ACCEPTED, ReviewStatus.TO_REVIEW))
    assert val_only.masks == 1

    other: AppContext = open_store(tmp_path / "other", database_url=new_database())
    r = datasets.import_dataset(other, out)
    assert (r.images, r.masks) == (2, 2)
    back = masks.read_mask(other, masks.labelled_masks(other)[0].id)
    assert np.array_equal(back, mask)  # same ids: names map to the same fresh classes
    other.close()


def test_export_disambiguates_equal_names(store, tmp_path):
    classes.create_class(store, "car")
    uploads = [("x/img.png", image_bytes(4, 4, 1)), ("y/img.png", image_bytes(4, 4, 2))]
    recs = images.import_uploads(store, uploads).imported
    for rec in recs:
        masks.save_mask(store, rec.id, np.ones((4, 4), np.uint8))
    export.export_masks(store, tmp_path / "o")
    names = sorted(p.name for p in (tmp_path / "o" / "SegmentationClass").iterdir())
    assert names == ["img.png", f"img_{recs[1].id}.png"]
