"""Per-version evaluation reports: a class × version IoU table (Markdown) and heatmap (PNG, drawn with
PIL). Input rows are ``(version name, {class name: IoU in [0, 1] or None})``, oldest version first;
None (class not learned yet, or absent from the ground truth) shows as "–" / a grey cell.
"""
from __future__ import annotations

import io
from typing import Mapping, Sequence

from PIL import Image, ImageDraw, ImageFont

Row = tuple[str, Mapping[str, "float | None"]]

CELL_W, CELL_H = 64, 22  # heatmap cell, pixels
MISSING_RGB = (200, 200, 200)


def _classes(rows: Sequence[Row]) -> list[str]:
    seen: dict[str, None] = {}
    for _, ious in rows:
        for name in ious:
            seen.setdefault(name, None)
    return list(seen)


def iou_table(rows: Sequence[Row], forgetting: Mapping[str, "float | None"] | None = None) -> str:
    """Markdown table: one row per class, one column per version (IoU in %), plus an optional
    forgetting column for the last version (percentage points)."""
    classes = _classes(rows)
    header = ["class", *(name for name, _ in rows)] + (["forgetting"] if forgetting is not None else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for cls in classes:
        cells = [cls] + [_pct(ious.get(cls)) for _, ious in rows]
        if forgetting is not None:
            cells.append(_pct(forgetting.get(cls)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _colour(value: float) -> tuple[int, int, int]:
    """Red (0) -> yellow (0.5) -> green (1)."""
    v = min(max(value, 0.0), 1.0)
    if v < 0.5:
        return 220, int(60 + 330 * v), 60
    return int(220 - 320 * (v - 0.5)), 220, 60


def iou_heatmap_png(rows: Sequence[Row]) -> bytes:
    """PNG bytes of a class (rows) × version (columns) heatmap with the IoU (%) written in each cell."""
    classes = _classes(rows)
    font = ImageFont.load_default()
    label_w = 8 + max((int(font.getlength(c)) for c in classes), default=0)
    head_h = CELL_H + 4
    width = label_w + CELL_W * max(len(rows), 1) + 4
    height = head_h + CELL_H * max(len(classes), 1) + 4
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for j, (version, _) in enumerate(rows):
        draw.text((label_w + j * CELL_W + 4, 6), version[:10], fill="black", font=font)
    for i, cls in enumerate(classes):
        y = head_h + i * CELL_H
        draw.text((4, y + 5), cls, fill="black", font=font)
        for j, (_, ious) in enumerate(rows):
            value = ious.get(cls)
            x = label_w + j * CELL_W
            fill = MISSING_RGB if value is None else _colour(value)
            draw.rectangle((x, y, x + CELL_W - 2, y + CELL_H - 2), fill=fill)
            draw.text((x + 14, y + 5), "n/a" if value is None else _pct(value), fill="black", font=font)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
