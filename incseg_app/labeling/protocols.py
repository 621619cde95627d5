"""The two source roles of pseudo-mask generation and the values that pass between them.

Shapes: an image is H×W×3 uint8 RGB; a class map stack is K×H×W float32 in [0, 1], one map per
tagged class in the order the tags were given; a mask is H×W uint8 of stable class ids
(0 = background, 1..254 = classes, 255 = unsure / ignore). Points are (x, y, positive) in pixels.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..domain.errors import ValidationError

TaggedClass = tuple[int, Sequence[str]]  # (stable class id, text prompts such as ("dog", "puppy"))
Click = tuple[float, float, bool]  # (x, y, positive) in image pixels


@runtime_checkable
class ClassMapSource(Protocol):
    """Class-aware source: where in the image is each tagged class.

    ``description`` is one human line naming the source and its weights, shown in the UI/CLI.
    """

    description: str

    def __call__(self, image: np.ndarray, classes: Sequence[TaggedClass]) -> np.ndarray:
        """image H×W×3 uint8 -> K×H×W float32 in [0, 1], K = len(classes), in the order given."""
        ...


@runtime_checkable
class Refiner(Protocol):
    """Class-agnostic source: snaps coarse class maps to image regions (SAM masks, superpixels)."""

    description: str

    def refine(self, image: np.ndarray, maps: np.ndarray) -> np.ndarray:
        """image H×W×3 uint8, maps K×H×W in [0, 1] -> refined K×H×W float32 scores in [0, 1]."""
        ...

    def click(self, image: np.ndarray, mask: np.ndarray, class_id: int, points: Sequence[Click]) -> np.ndarray:
        """Edit one class of ``mask`` (H×W uint8) from clicks; returns a new H×W uint8 mask."""
        ...


@dataclass(frozen=True)
class PseudoMask:
    """One image's pseudo-label.

    Attributes:
        labels: H×W uint8 stable class ids; only tagged classes and 0 appear, 255 where unsure.
        confidence: H×W float32 in [0, 1] (margin between the best and second-best score).
        mean_confidence: mean of ``confidence`` over all pixels, in [0, 1].
        sources: which sources ran, e.g. {"class_map": "clip ViT-B-16 (file x.pt)", "refiner": "..."}.
        proposal: H×W uint8 the most likely label of every pixel, unsure ones included (what
            ``confidence`` is the probability of), or None.
    """

    labels: np.ndarray
    confidence: np.ndarray
    mean_confidence: float
    sources: dict[str, str]
    proposal: np.ndarray | None = None


def check_image(image: np.ndarray) -> np.ndarray:
    """Validate an H×W×3 uint8 RGB image (raises ``ValidationError`` naming the problem)."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise ValidationError(f"pseudo-labelling needs an H×W×3 RGB image, got shape {shape}")
    if image.dtype != np.uint8:
        raise ValidationError(f"pseudo-labelling needs a uint8 image, got dtype {image.dtype}")
    if min(image.shape[:2]) < 8:
        raise ValidationError(f"image {image.shape[1]}×{image.shape[0]} is too small to label (min side 8 px)")
    return image


def image_key(image: np.ndarray) -> str:
    """Content hash of an image array (shape + pixels), the key of per-image caches."""
    digest = hashlib.sha1(str(image.shape).encode())
    digest.update(np.ascontiguousarray(image).data)
    return digest.hexdigest()
