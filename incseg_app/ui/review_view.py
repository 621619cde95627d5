"""What the review screen shows for a queue entry: the editor item (photo, label map, palette with
shortcut keys), the "x of y" line and the item's facts. Pure formatting over service calls."""
from __future__ import annotations

from typing import Any

from ..domain.records import BACKGROUND_ID, IGNORE_ID
from ..services import AppContext, labeling, review, review_editor
from ..services import classes as class_svc
from ..services import masks as mask_svc
from .common import esc, warn
from .mask_editor.component import EditorClass, EditorItem

BACKGROUND_HEX = "#000000"
UNSURE_HEX = "#e0e0c0"  # VOC's colour for 255 = ignore / unsure
UNSURE_KEY = "X"
STATUS_LABELS = {"to_review": "to review", "accepted": "accepted as drafted", "corrected": "corrected",
                 "rejected": "rejected", "reviewed": "reviewed (any)", "all": "all masks"}
ORDER_LABELS = {"likely_wrong": "most likely wrong first", "image": "image order"}
EMPTY = {"to_review": "Nothing waits for review. Start pseudo-labelling above, or open **Train**.",
         "all": "No masks yet: start pseudo-labelling above (or import a dataset with masks in **Images**)."}


def palette(ctx: AppContext) -> list[EditorClass]:
    """Live classes with keys 1–9 (in id order), then background (0) and unsure (X)."""
    live = [c for c in class_svc.list_classes(ctx) if not c.archived]
    out = [EditorClass(c.id, c.name, c.color, str(n + 1) if n < 9 else "") for n, c in enumerate(live)]
    return out + [EditorClass(BACKGROUND_ID, "background", BACKGROUND_HEX, "0"),
                  EditorClass(IGNORE_ID, "unsure", UNSURE_HEX, UNSURE_KEY)]


def warnings(ctx: AppContext) -> str:
    """The classes whose tags cannot say where they are (what to do about it), as a list."""
    lines = labeling.localisation_warnings(ctx)
    return "\n".join(f"- {warn(esc(line))}" for line in lines)


def editor_item(ctx: AppContext, item: review.QueueItem) -> EditorItem:
    """The photo and mask of a queue entry, the palette starting on the image's first tag."""
    colours = palette(ctx)
    tagged = [c.id for c in colours if c.name in item.image.tags]
    return EditorItem(item.image.id, item.mask.id, review_editor.editor_photo(ctx, item.image.id),
                      mask_svc.read_mask(ctx, item.mask.id), colours, item.image.original_name,
                      tagged[0] if tagged else None)


def position_line(filt: review.QueueFilter, item: review.QueueItem | None) -> str:
    """"**Item 3 of 57** · to review · most likely wrong first" (or why nothing is shown)."""
    where = f"{STATUS_LABELS[filt.status]} · {ORDER_LABELS[filt.order]}" + (f" · tag {esc(filt.tag)}" if filt.tag else "")
    if item is None:
        return EMPTY.get(filt.status, f"No masks match ({where}).")
    if item.position < 0:
        return f"**Not in this list** ({where}, {item.total} in it): shown because you asked for it."
    return f"**Item {item.position + 1} of {item.total}** · {where}"


def item_facts(item: review.QueueItem | None) -> str:
    """One paragraph about the image and the revision shown."""
    if item is None:
        return ""
    rev, image = item.mask, item.image
    conf = "–" if rev.confidence is None else f"{rev.confidence:.0%}"
    state = {"to_review": "waits for review", "accepted": "accepted", "rejected": "rejected"}[rev.status.value]
    kind = {"pseudo": "draft", "corrected": "correction", "ground_truth": "ground truth"}[rev.kind.value]
    source = esc(rev.source or rev.author or "unknown")
    return (f"**{esc(image.original_name)}** · image #{image.id} ({image.split.value}) · tags "
            f"{esc(', '.join(image.tags)) or 'none'}\n\n{kind} revision {rev.id}, {state} · mean confidence {conf} · "
            f"made by {source}")


def view(ctx: AppContext, filt: review.QueueFilter, item: review.QueueItem | None) -> tuple[Any, ...]:
    """(current item state, editor value, position line, item facts); prefetches the next items."""
    if item is None:
        return None, None, position_line(filt, None), ""
    review_editor.prefetch(ctx, item.upcoming)
    current = {"mask_id": item.mask.id, "image_id": item.image.id, "position": item.position}
    return current, editor_item(ctx, item), position_line(filt, item), item_facts(item)
