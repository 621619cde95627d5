"""``MaskEditor``: the Python side of the mask editor component (frontend: ``frontend/Index.svelte``).

Value sent to the browser (``postprocess`` of an ``EditorItem``): the photo as a JPEG data URL, the
label map as zlib-compressed raw class ids (H×W uint8, row-major), the class palette with keys, and a
fresh ``key`` so the browser knows a new item arrived. Value read back (``preprocess``): an
``EditorState`` naming the item and, when the user changed the map, the edited map as the bytes of a
grey PNG whose pixel values are the class ids (never colours). Two server functions answer the
browser directly (no queue): ``refine`` (click-to-refine) and ``regions`` (the fill tool's maps);
they call the functions the tab passes in, so the component itself knows nothing of the store.
"""
from __future__ import annotations

import base64
import logging
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gradio.components.base import Component, server

from ...domain.errors import IncsegError

log = logging.getLogger(__name__)

RefineFn = Callable[[int, np.ndarray, int, list[tuple[int, int, bool]], str], np.ndarray]
RegionsFn = Callable[[int], dict[str, np.ndarray]]
MAX_SIDE = 16_384  # pixels: a payload claiming a bigger map is refused before it is decompressed


@dataclass(frozen=True)
class EditorClass:
    """A palette entry: class id (0 background, 255 unsure), name, "#rrggbb" and its shortcut key."""

    id: int
    name: str
    color: str
    key: str


@dataclass(frozen=True)
class EditorItem:
    """What the editor shows: ``photo`` JPEG bytes, ``labels`` H×W uint8 class ids of revision
    ``mask_id`` of image ``image_id``."""

    image_id: int
    mask_id: int
    photo: bytes
    labels: np.ndarray
    classes: Sequence[EditorClass]
    title: str = ""
    default_class: int | None = None  # the class the palette starts on (e.g. the image's first tag)


@dataclass(frozen=True)
class EditorState:
    """What the browser holds: the item it shows and, if the user changed the map, the edit as PNG
    bytes (``edited_png``; None = unchanged)."""

    image_id: int
    mask_id: int
    edited_png: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dirty(self) -> bool:
        return self.edited_png is not None


def pack_ids(arr: np.ndarray) -> str:
    """Base64 of zlib-compressed raw bytes of a uint8 or little-endian uint16 map."""
    return base64.b64encode(zlib.compress(np.ascontiguousarray(arr).tobytes(), 1)).decode("ascii")


def unpack_ids(b64: str, width: int, height: int) -> np.ndarray:
    """H×W uint8 class ids from a browser payload (sizes checked before and after decompressing)."""
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"bad label map size {width}×{height}")
    raw = zlib.decompressobj().decompress(base64.b64decode(b64), width * height + 1)
    if len(raw) != width * height:
        raise ValueError(f"label map has {len(raw)} bytes, expected {width * height}")
    return np.frombuffer(raw, np.uint8).reshape(height, width)


class MaskEditor(Component):
    """Photo + label-map editor. Events: ``change`` and ``save`` (the Save button or Ctrl+S)."""

    EVENTS = ["change", "save"]
    TEMPLATE_DIR = "./templates/"
    FRONTEND_DIR = "./frontend/"

    def __init__(self, value: EditorItem | None = None, *, refine_fn: RefineFn | None = None,
                 regions_fn: RegionsFn | None = None, height: int = 600, label: str | None = None,
                 elem_id: str | None = None, visible: bool = True, render: bool = True) -> None:
        self.refine_fn = refine_fn
        self.regions_fn = regions_fn
        self.height = height
        super().__init__(value=value, label=label, elem_id=elem_id, visible=visible, render=render)

    def preprocess(self, payload: dict[str, Any] | None) -> EditorState | None:
        if not payload or "image_id" not in payload:
            return None
        edit = payload.get("edit") or {}
        png = base64.b64decode(edit["png"]) if edit.get("png") else None
        return EditorState(int(payload["image_id"]), int(payload["mask_id"]), png)

    def postprocess(self, value: EditorItem | None) -> dict[str, Any] | None:
        if value is None:
            return None
        labels = np.asarray(value.labels, dtype=np.uint8)
        return {"key": f"{value.image_id}:{value.mask_id}:{uuid.uuid4().hex[:8]}", "image_id": value.image_id,
                "mask_id": value.mask_id, "width": int(labels.shape[1]), "height": int(labels.shape[0]),
                "photo": "data:image/jpeg;base64," + base64.b64encode(value.photo).decode("ascii"),
                "labels": pack_ids(labels), "title": value.title, "default_class": value.default_class,
                "classes": [{"id": c.id, "name": c.name, "color": c.color, "key": c.key} for c in value.classes]}

    def api_info(self) -> dict[str, Any]:
        return {"type": "object", "description": "an image id, a mask revision id and an optional edited PNG"}

    def example_payload(self) -> Any:
        return {"image_id": 1, "mask_id": 1, "edit": None}

    def example_value(self) -> Any:
        return None

    @server
    def refine(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Click-to-refine: {image_id, width, height, labels, class_id, points, scale} -> {labels} or
        {error}."""
        if self.refine_fn is None:
            return {"error": "click-to-refine is not available here"}
        try:
            base = unpack_ids(payload["labels"], int(payload["width"]), int(payload["height"]))
            points = [(int(x), int(y), bool(p)) for x, y, p in payload["points"]]
            out = self.refine_fn(int(payload["image_id"]), base, int(payload["class_id"]), points,
                                 str(payload.get("scale", "medium")))
            return {"labels": pack_ids(np.asarray(out, dtype=np.uint8))}
        except (IncsegError, ValueError, KeyError, TypeError) as exc:
            log.info("refine refused: %s", exc)
            return {"error": str(exc)}

    @server
    def regions(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The fill tool's region maps: {image_id} -> {scale name: uint16 map} or {error}."""
        if self.regions_fn is None:
            return {"error": "region fill is not available here"}
        try:
            maps = self.regions_fn(int(payload["image_id"]))
            return {name: pack_ids(m.astype("<u2")) for name, m in maps.items()}
        except (IncsegError, ValueError, KeyError, TypeError) as exc:
            log.info("region maps refused: %s", exc)
            return {"error": str(exc)}
