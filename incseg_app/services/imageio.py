"""Decoding and validation of untrusted image and mask files, mask PNG encoding, class colours.

Images are checked by content (never by extension): the header is read first and the pixel count
checked against the limit *before* decoding (decompression bombs), then the whole file is decoded so
truncated or corrupt files are caught at import rather than at training time.
Masks follow the convention of ``domain/records.py``: H×W uint8, class ids 1..254, 0 background,
255 ignore.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..domain.errors import BadFileError
from ..domain.records import IGNORE_ID

IMAGE_FORMATS = frozenset({"JPEG", "PNG", "BMP", "WEBP", "TIFF", "GIF"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"})
VOID_COLOR = (224, 224, 192)  # VOC's colour for 255 = ignore


@dataclass(frozen=True)
class ImageInfo:
    """A decoded, validated image file: size in pixels and PIL format name."""

    width: int
    height: int
    format: str


def _open_checked(data: bytes, name: str, max_bytes: int, max_pixels: int) -> Image.Image:
    """Open and fully decode ``data``, raising BadFileError naming ``name`` on any problem."""
    if not data:
        raise BadFileError(name, "the file is empty")
    if len(data) > max_bytes:
        raise BadFileError(name, f"the file is {len(data) / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w < 1 or h < 1:
                raise BadFileError(name, f"the image has no pixels ({w}x{h})")
            if w * h > max_pixels:
                raise BadFileError(name, f"{w}x{h} pixels is over the limit of {max_pixels:,} "
                                         "(possible decompression bomb)")
            if img.format not in IMAGE_FORMATS:
                raise BadFileError(name, f"{img.format or 'unknown'} images are not supported")
            img.load()
    except BadFileError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadFileError(name, "the image is too large to decode safely (decompression bomb)") from None
    except UnidentifiedImageError:
        raise BadFileError(name, "not an image (content is not a readable image format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadFileError(name, f"the image is corrupt or truncated ({exc})") from None
    return img


def validate_image(data: bytes, name: str, max_bytes: int, max_pixels: int) -> ImageInfo:
    """Check an image file's content; returns its size. Raises BadFileError naming ``name``."""
    img = _open_checked(data, name, max_bytes, max_pixels)
    return ImageInfo(width=img.width, height=img.height, format=str(img.format))


def decode_rgb(data: bytes, name: str = "image", max_bytes: int = 2**31, max_pixels: int = 2**31) -> np.ndarray:
    """H×W×3 uint8 RGB pixels of an image file (alpha dropped, palettes expanded)."""
    img = _open_checked(data, name, max_bytes, max_pixels)
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def decode_mask(data: bytes, name: str, max_bytes: int, max_pixels: int) -> np.ndarray:
    """H×W uint8 label map from a single-channel PNG ("L", "P" palette indices, or 16-bit ≤ 255)."""
    img = _open_checked(data, name, max_bytes, max_pixels)
    if img.mode in ("L", "P"):
        return np.asarray(img, dtype=np.uint8).copy()
    if img.mode in ("I", "I;16", "I;16B", "I;16L"):
        arr = np.asarray(img)
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise BadFileError(name, f"label values must be 0..255, found up to {int(arr.max())}")
        return arr.astype(np.uint8)
    raise BadFileError(name, f"a label map must be a single-channel (L or palette) PNG, not mode {img.mode}")


def check_mask(mask: np.ndarray, name: str, width: int, height: int) -> np.ndarray:
    """Validate an in-memory mask: 2-D, size ``height``×``width``; returned as contiguous uint8."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise BadFileError(name, f"a mask must be a 2-D label map, got shape {arr.shape}")
    if arr.shape != (height, width):
        raise BadFileError(name, f"mask is {arr.shape[1]}x{arr.shape[0]} but its image is {width}x{height}")
    if arr.dtype != np.uint8:
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise BadFileError(name, "mask values must be in 0..255")
        arr = arr.astype(np.uint8)
    return np.ascontiguousarray(arr)


def class_pixels(mask: np.ndarray) -> dict[int, int]:
    """Class id -> pixel count for the ids in ``mask`` other than background (0) and ignore (255)."""
    counts = np.bincount(mask.ravel(), minlength=256)
    return {int(i): int(counts[i]) for i in np.flatnonzero(counts) if 0 < i < IGNORE_ID}


def encode_mask(mask: np.ndarray) -> bytes:
    """Grey ("L") PNG bytes of a uint8 label map; deterministic, so equal masks share one blob."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(mask, dtype=np.uint8), mode="L").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def encode_palette_png(mask: np.ndarray, colors: dict[int, tuple[int, int, int]]) -> bytes:
    """VOC-style palette PNG: pixel values stay class ids; ``colors`` maps id -> RGB (0 black, 255 void)."""
    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[IGNORE_ID] = VOID_COLOR
    for class_id, rgb in colors.items():
        palette[class_id] = rgb
    img = Image.fromarray(np.ascontiguousarray(mask, dtype=np.uint8), mode="L").convert("P")
    img.putpalette(palette.ravel().tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """"#rrggbb" -> (r, g, b), each 0..255."""
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def voc_color(index: int) -> str:
    """The Pascal VOC colour-map entry ``index`` as "#rrggbb" (distinct for 0..255)."""
    r = g = b = 0
    c = index
    for shift in range(7, -1, -1):
        r |= ((c >> 0) & 1) << shift
        g |= ((c >> 1) & 1) << shift
        b |= ((c >> 2) & 1) << shift
        c >>= 3
    return f"#{r:02x}{g:02x}{b:02x}"
