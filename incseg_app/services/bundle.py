"""Export a model version as a self-contained bundle that runs without incseg or PyTorch.

``export_bundle(ctx, version_id, out)`` writes the folder ``out``:

- ``model.onnx``: the version's logits as an ONNX graph (opset 17, dynamic batch, height and width;
  input ``images`` B×3×H×W float32 RGB in [0, 1], output ``logits`` B×K×H×W). Before anything is
  written, onnxruntime's logits are compared with PyTorch's on random images at several sizes (odd
  and even, the training crop and the inference size); a difference above ``tolerance`` is an
  ``ExportError`` and no bundle is written;
- ``model.safetensors``: the PyTorch weights (rebuild with ``incseg_app.models.build_model`` and the
  ``model`` config and ``group_sizes`` of ``bundle.json``);
- ``bundle.json``: the classes in channel order (id, name, "#rrggbb"), preprocessing, the version's
  per-class metrics, its lineage (ancestors and resolved training config), the ONNX check and the
  sha256 of every file;
- ``predict.py`` (``bundle_predict.py``) and ``README.md``: run the ONNX model with onnxruntime,
  numpy and pillow only.

The folder is built beside ``out`` and renamed into place at the end, so a failed export leaves nothing.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..domain.enums import VersionStatus
from ..domain.errors import ConflictError, ExportError, ValidationError
from ..domain.records import BACKGROUND_ID, IGNORE_ID
from . import versions
from .classes import list_classes
from .context import AppContext

log = logging.getLogger(__name__)

FORMAT = "incseg-bundle/1"
DEFAULT_TOLERANCE = 1e-3  # largest |ONNX − PyTorch| logit difference accepted (logits span about ±1/tau)
README = """# incseg model bundle: version {version_id} ({name})

Segment images without incseg or PyTorch (Python 3.10+):

    python -m pip install onnxruntime numpy pillow
    python predict.py photo.jpg more_photos/ --out masks/

Each output PNG's pixel values are class ids (0 = background) and its palette the class colours:
{classes}

`bundle.json` lists the classes, the preprocessing, the version's per-class IoU and forgetting, its
lineage and training config, and the check that `model.onnx` reproduces PyTorch's logits.
`model.safetensors` holds the PyTorch weights.
"""


@dataclass(frozen=True)
class BundleReport:
    out_dir: Path
    version_id: int
    check: list[dict[str, Any]]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sizes(crop: int, max_side: int) -> list[tuple[int, int]]:
    """H×W sizes the ONNX check runs at: odd and even, the training crop, a 3:4 image at ``max_side``."""
    return [(97, 131), (crop, crop), (max(16, 3 * max_side // 4), max_side)]


def _classes(ctx: AppContext, class_ids: tuple[int, ...]) -> list[dict[str, Any]]:
    known = {c.id: c for c in list_classes(ctx)}
    out = []
    for channel, cid in enumerate(class_ids):
        if cid == BACKGROUND_ID:
            out.append({"channel": channel, "id": cid, "name": "background", "color": "#000000"})
        else:
            c = known[cid]
            out.append({"channel": channel, "id": cid, "name": c.name, "color": c.color})
    return out


def _metadata(ctx: AppContext, version_id: int, class_ids: tuple[int, ...], ckpt: Any,
              check: list[dict[str, Any]], tolerance: float) -> dict[str, Any]:
    from ..domain.config import to_dict

    v = versions.get_version(ctx, version_id)
    names = {c.id: c.name for c in list_classes(ctx)}
    lineage = [{"id": a.id, "name": a.name, "method": a.method, "step": a.step,
                "created_at": a.created_at.isoformat() if a.created_at else None}
               for a in [v, *versions.ancestors(ctx, version_id)]]
    metrics = [{"class_id": m.class_id, "name": names.get(m.class_id, "background"), "iou": m.iou,
                "forgetting": m.forgetting, "gt_pixels": m.gt_pixels} for m in versions.get_metrics(ctx, version_id)]
    return {
        "format": FORMAT,
        "version": {"id": v.id, "name": v.name, "method": v.method, "step": v.step, "parent_id": v.parent_id,
                    "train_seconds": v.train_seconds},
        "classes": _classes(ctx, class_ids),
        "background_id": BACKGROUND_ID, "ignore_id": IGNORE_ID,
        "preprocessing": {"color": "RGB", "scale": "divide by 255 (float32 in [0, 1])", "layout": "NCHW",
                          "max_side": ctx.ml.eval_max_side,
                          "resize": "longer side to max_side (each side max(1, round(side * max_side / longer))), "
                                    "bilinear with half-pixel centres (align_corners=False), no antialiasing",
                          "normalization": "inside the ONNX graph (the encoder's mean and std)",
                          "postprocessing": "logits resized back to the image size the same way; argmax over "
                                            "channels; channel -> classes[channel].id"},
        "model": to_dict(ckpt.model_cfg), "group_sizes": list(ckpt.group_sizes),
        "metrics": metrics, "lineage": lineage, "config": v.config,
        "onnx": {"file": "model.onnx", "opset": None, "input": "images", "output": "logits",
                 "dynamic_axes": ["batch", "height", "width"], "tolerance": tolerance, "check": check},
    }


def export_bundle(ctx: AppContext, version_id: int, out_dir: Path | str, tolerance: float = DEFAULT_TOLERANCE,
                  progress: Callable[[float, str], None] | None = None) -> BundleReport:
    """Write the bundle of READY version ``version_id`` to ``out_dir`` (which must not exist or be empty)."""
    from safetensors.torch import save_file

    from ..models.onnx_compat import ONNX_OPSET, compare_onnx, export_onnx
    from .store_data import load_version_model

    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValidationError(f"{out} already exists and is not an empty folder; choose a new folder")
    version = versions.get_version(ctx, version_id)
    if version.status != VersionStatus.READY:
        raise ConflictError(f"version {version_id} is {version.status.value}; only a ready version can be exported")
    note = progress or (lambda fraction, message: None)
    model, ckpt = load_version_model(ctx, version)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        note(0.05, "writing weights")
        save_file({k: v.detach().cpu().contiguous() for k, v in ckpt.state.items()}, str(tmp / "model.safetensors"),
                  metadata={"format": FORMAT})
        note(0.15, "exporting the ONNX graph")
        export_onnx(model, str(tmp / "model.onnx"))
        note(0.6, "checking onnxruntime against PyTorch")
        sizes = check_sizes(int(version.config.get("train", {}).get("crop_size", 256)), ctx.ml.eval_max_side)
        check = compare_onnx(model, str(tmp / "model.onnx"), sizes)
        worst = max(c["max_abs_diff"] for c in check)
        if not worst <= tolerance:
            raise ExportError(f"the ONNX graph of version {version_id} differs from PyTorch by {worst:.3g} "
                              f"(tolerance {tolerance:g}) at sizes {sizes}; no bundle was written")
        meta = _metadata(ctx, version_id, ckpt.class_ids, ckpt, check, tolerance)
        meta["onnx"]["opset"] = ONNX_OPSET
        shutil.copyfile(Path(__file__).with_name("bundle_predict.py"), tmp / "predict.py")
        classes = "\n".join(f"- {c['id']}: {c['name']} ({c['color']})" for c in meta["classes"])
        (tmp / "README.md").write_text(README.format(version_id=version_id, name=version.name, classes=classes),
                                       encoding="utf-8")
        meta["files"] = {p.name: _sha256(p) for p in sorted(tmp.iterdir())}
        (tmp / "bundle.json").write_text(json.dumps(meta, indent=1, default=str), encoding="utf-8")
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    note(1.0, f"bundle written to {out}")
    log.info("exported version %d to %s (ONNX max |diff| %.2g)", version_id, out, worst)
    return BundleReport(out, version_id, check)


def bundle_archive(ctx: AppContext, version_id: int, work_dir: Path | str,
                   progress: Callable[[float, str], None] | None = None) -> Path:
    """The bundle of ``version_id`` as ``<work_dir>/incseg-v<id>.zip`` (a download for the web UI)."""
    folder = Path(work_dir) / f"incseg-v{version_id}"
    if folder.exists():
        shutil.rmtree(folder)
    export_bundle(ctx, version_id, folder, progress=progress)
    return Path(shutil.make_archive(str(folder), "zip", root_dir=folder.parent, base_dir=folder.name))
