"""Segment images with an exported incseg model bundle, using onnxruntime, numpy and pillow only.

This file is copied into every bundle as ``predict.py`` (``incseg versions export V OUT``); it imports
nothing from incseg. Usage, from anywhere::

    python predict.py IMAGE_OR_FOLDER [...] --out OUT_DIR [--bundle BUNDLE_DIR]

For each image it writes ``OUT_DIR/<name>.png``: a VOC palette PNG whose pixel values are the class
ids listed in ``bundle.json`` (0 = background) and whose palette is the classes' colours. The steps
are those of ``bundle.json["preprocessing"]``, the same as ``incseg predict``: RGB in [0, 1]; the
longer side resized to ``max_side`` (bilinear, half-pixel centres, no antialiasing, as PyTorch's
``interpolate(..., align_corners=False)``); the ONNX graph (normalisation is inside it) gives logits
K×h×w; they are resized back to the image's size the same way, and the argmax channel is mapped to
its class id.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
VOID_RGB = (224, 224, 192)  # VOC's colour for 255 = ignore


def _axis(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices i0, i1 and weight of i1 for each output position (float32 arithmetic, as PyTorch)."""
    scale = np.float32(in_size) / np.float32(out_size)
    src = scale * (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) - np.float32(0.5)
    src = np.maximum(src, np.float32(0.0))
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    lam = np.clip(src - i0.astype(np.float32), np.float32(0.0), np.float32(1.0))
    i1 = np.minimum(i0 + 1, in_size - 1)
    return i0, i1, lam


def resize_bilinear(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """C×H×W float32 -> C×height×width, bilinear with half-pixel centres (align_corners=False)."""
    if x.shape[1:] == (height, width):
        return x
    r0, r1, rl = _axis(x.shape[1], height)
    c0, c1, cl = _axis(x.shape[2], width)
    cols = x[:, :, c0] * (np.float32(1.0) - cl) + x[:, :, c1] * cl
    return (cols[:, r0, :] * (np.float32(1.0) - rl)[:, None] + cols[:, r1, :] * rl[:, None]).astype(np.float32)


def work_size(height: int, width: int, max_side: int | None) -> tuple[int, int]:
    """The size the model sees: the longer side becomes ``max_side`` (None or 0: unchanged)."""
    if not max_side or max(height, width) == max_side:
        return height, width
    scale = max_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


class Bundle:
    """A loaded bundle: the ONNX session, the channel -> class id table, colours and preprocessing."""

    def __init__(self, folder: Path | str, threads: int = 0) -> None:
        folder = Path(folder)
        self.meta = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(folder / self.meta["onnx"]["file"]), options,
                                            providers=["CPUExecutionProvider"])
        classes = self.meta["classes"]
        self.class_ids = np.array([c["id"] for c in classes], dtype=np.uint8)
        self.palette = np.zeros((256, 3), dtype=np.uint8)
        self.palette[255] = VOID_RGB
        for c in classes:
            self.palette[c["id"]] = [int(c["color"][i:i + 2], 16) for i in (1, 3, 5)]
        self.max_side = self.meta["preprocessing"]["max_side"]

    def predict(self, image: np.ndarray) -> np.ndarray:
        """H×W×3 uint8 RGB -> H×W uint8 class ids."""
        height, width = image.shape[:2]
        x = image.astype(np.float32).transpose(2, 0, 1) / np.float32(255.0)
        x = resize_bilinear(x, *work_size(height, width, self.max_side))
        (logits,) = self.session.run(["logits"], {"images": x[None]})
        logits = resize_bilinear(logits[0], height, width)
        return self.class_ids[logits.argmax(axis=0)]

    def save_png(self, labels: np.ndarray, path: Path) -> None:
        """A palette PNG: pixel values are class ids, colours the classes' colours."""
        img = Image.fromarray(labels, mode="P")
        img.putpalette(self.palette.ravel().tolist())
        img.save(path)


def _inputs(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            found.append(p)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Segment images with an incseg ONNX bundle.")
    parser.add_argument("inputs", nargs="+", help="image files or folders")
    parser.add_argument("--out", required=True, help="folder for the label PNGs")
    parser.add_argument("--bundle", default=str(Path(__file__).resolve().parent), help="bundle folder")
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0 = its default)")
    args = parser.parse_args(argv)
    bundle = Bundle(args.bundle, args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = _inputs(args.inputs)
    for n, path in enumerate(files, 1):
        image = np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)
        bundle.save_png(bundle.predict(image), out / f"{path.stem}.png")
        print(f"[{n}/{len(files)}] {path.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
