"""A one-click demo project from sample photos that scikit-image ships in its wheel.

The photos are public domain or CC0 (scikit-image's ``data/README.txt``): the NASA astronaut Eileen
Collins and a SpaceX Falcon 9 launch (public domain), Chelsea the cat and a cup of coffee (CC0). Each
photo and two derived views (mirrored, cropped) become images tagged with their class; the mirrored
view goes to the validation split. No masks are made: the user runs pseudo-labelling and reviews.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ..domain.enums import Split
from ..domain.errors import ValidationError
from .classes import create_class, list_classes
from .context import AppContext
from .images import count_images, import_uploads

DEMO = (  # class name, colour, prompts, scikit-image loader
    ("cat", "#e6194b", ("a cat", "a tabby cat"), "chelsea"),
    ("coffee cup", "#3cb44b", ("a cup of coffee", "a coffee cup"), "coffee"),
    ("rocket", "#4363d8", ("a rocket", "a rocket launch"), "rocket"),
    ("astronaut", "#f58231", ("an astronaut", "a person in a space suit"), "astronaut"),
)


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _views(pixels: np.ndarray) -> list[tuple[str, np.ndarray, Split]]:
    h, w = pixels.shape[:2]
    crop = pixels[h // 10: h - h // 10, w // 10: w - w // 10]
    return [("", pixels, Split.TRAIN), ("-crop", crop, Split.TRAIN), ("-mirror", pixels[:, ::-1], Split.VAL)]


def create_demo_project(ctx: AppContext) -> str:
    """Create the demo classes and images in an empty store; returns what to do next."""
    if list_classes(ctx) or count_images(ctx):
        raise ValidationError("the demo project can only be created in an empty store (this one has classes or images)")
    from skimage import data as samples

    total = 0
    for name, color, prompts, loader in DEMO:
        create_class(ctx, name, color, prompts)
        photo = np.ascontiguousarray(getattr(samples, loader)()[..., :3])
        for suffix, pixels, split in _views(photo):
            report = import_uploads(ctx, [(f"{loader}{suffix}.png", _png(np.ascontiguousarray(pixels)))],
                                    tags=[name], split=split)
            total += len(report.imported)
    return (f"Demo project ready: {len(DEMO)} classes and {total} tagged images. Next: open 'Pseudo-label & "
            "review', start pseudo-labelling, accept or correct the masks, then train a first version.")
