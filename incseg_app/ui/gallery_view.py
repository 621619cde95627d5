"""The Images tab's gallery: filtered pages of thumbnails with readable captions, a selection that
clicks toggle, and what the bulk actions act on. Thumbnails are immutable files (see
``services.gallery``), so a download never races a listing."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ..domain.enums import ReviewStatus, Split
from ..services import AppContext, gallery
from .common import esc

ANY = "any"
NO_MASK = "no mask"
STATUS_CHOICES = [ANY, NO_MASK, *(s.value for s in ReviewStatus)]
SPLIT_CHOICES = [ANY, *(s.value for s in Split)]
THUMBS = Path(tempfile.gettempdir()) / "incseg-thumbs"  # content-addressed, shared by every store
NAME_CHARS = 28


def caption(record: Any, head: Any) -> str:
    """"#12 · name · train · to review" (long names shortened in the middle)."""
    name = record.original_name
    if len(name) > NAME_CHARS:
        name = name[: NAME_CHARS // 2 - 1] + "…" + name[-(NAME_CHARS // 2):]
    status = head.status.value.replace("_", " ") if head else NO_MASK
    return f"#{record.id} {name} · {record.split.value} · {status}"


def page_values(ctx: AppContext, tag: str, split: str, status: str, page: int) -> tuple[Any, ...]:
    """(gallery items, image ids shown, page line, page number) for the filters."""
    found = gallery.gallery_page(ctx, tag=None if tag in (ANY, None, "") else tag,
                                 split=None if split in (ANY, None) else Split(split),
                                 status=None if status in (ANY, NO_MASK, None) else ReviewStatus(status),
                                 unlabelled=status == NO_MASK, offset=page * gallery.PAGE_SIZE)
    if not found.items and page > 0:
        return page_values(ctx, tag, split, status, page - 1)
    pictures = [(str(gallery.thumbnail_file(ctx, r, THUMBS)), caption(r, head)) for r, head in found.items]
    first = found.offset + 1
    line = (f"Images {first}–{found.offset + len(found.items)}{' (more on the next page)' if found.has_more else ''}"
            if found.items else "No image matches these filters.")
    return pictures, [r.id for r, _ in found.items], line, page


def selection_line(selected: list[int]) -> str:
    if not selected:
        return "No image selected: click images in the gallery to select them (click again to unselect)."
    shown = ", ".join(f"#{i}" for i in selected[:20]) + (" …" if len(selected) > 20 else "")
    return f"**{len(selected)} selected:** {esc(shown)}"


def toggle(selected: list[int], image_id: int) -> list[int]:
    return sorted(set(selected) ^ {image_id})
