"""Version reports: Markdown IoU table and the PIL heatmap."""
from __future__ import annotations

import io

from PIL import Image

from incseg_app.training.report import CELL_H, CELL_W, MISSING_RGB, iou_heatmap_png, iou_table

ROWS = [("v1", {"road": 0.9, "sky": 0.8}), ("v2", {"road": 0.7, "sky": None, "car": 0.1})]


def test_table_lists_every_class_and_version_in_percent():
    table = iou_table(ROWS, forgetting={"road": 0.2})
    lines = table.splitlines()
    assert lines[0] == "| class | v1 | v2 | forgetting |"
    assert "| road | 90.0 | 70.0 | 20.0 |" in lines
    assert "| car | – | 10.0 | – |" in lines


def test_heatmap_has_one_cell_per_class_and_version():
    image = Image.open(io.BytesIO(iou_heatmap_png(ROWS)))
    assert image.format == "PNG"
    w, h = image.size
    assert h >= CELL_H * 4 and w >= CELL_W * 2  # header + 3 classes, 2 versions
    # the sky cell of v2 is missing -> grey; the road cell of v1 is green-ish
    label_w = w - 4 - 2 * CELL_W
    sky_v2 = image.getpixel((label_w + CELL_W + 2, CELL_H + 4 + CELL_H + 2))
    road_v1 = image.getpixel((label_w + 2, CELL_H + 4 + 2))
    assert sky_v2 == MISSING_RGB
    assert road_v1[1] > road_v1[0]
