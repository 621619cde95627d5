"""Version reports for people: the version tree, per-class IoU with forgetting, mIoU old/new/all,
hIoU, a class × version heatmap along the version's ancestry, and a side-by-side comparison."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..domain.records import ModelVersion
from ..training.metrics import harmonic_iou, nan_mean
from ..training.report import iou_heatmap_png
from . import versions
from .classes import list_classes
from .context import AppContext

DEFAULT_FORGET_THRESHOLD = 0.05  # IoU points (0..1) above which a class is flagged as forgotten


@dataclass(frozen=True)
class VersionNode:
    version: ModelVersion
    depth: int
    active: bool


@dataclass(frozen=True)
class ReportRow:
    class_id: int
    class_name: str
    color: str
    iou: float | None
    best_before: float | None
    forgetting: float | None
    forgot: bool
    new: bool


@dataclass(frozen=True)
class VersionReport:
    version: ModelVersion
    rows: list[ReportRow]
    miou_old: float | None
    miou_new: float | None
    miou_all: float | None
    hiou: float | None
    heatmap_png: bytes
    forgot_classes: list[str]
    history: list[tuple[str, dict[str, float | None]]] = field(default_factory=list)  # (version label, class -> IoU)


def version_tree(ctx: AppContext) -> list[VersionNode]:
    """Versions depth-first from each root (children by id), with their depth and the active mark."""
    all_versions = versions.list_versions(ctx)
    active = versions.active_version(ctx)
    children: dict[int | None, list[ModelVersion]] = {}
    for v in all_versions:
        children.setdefault(v.parent_id, []).append(v)
    out: list[VersionNode] = []

    def walk(parent: int | None, depth: int) -> None:
        for v in sorted(children.get(parent, []), key=lambda x: x.id):
            out.append(VersionNode(v, depth, active is not None and v.id == active.id))
            walk(v.id, depth + 1)

    walk(None, 0)
    return out


def _names(ctx: AppContext) -> dict[int, tuple[str, str]]:
    names = {c.id: (c.name, c.color) for c in list_classes(ctx)}
    names[0] = ("background", "#000000")
    return names


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else x


def version_report(ctx: AppContext, version_id: int,
                   forget_threshold: float = DEFAULT_FORGET_THRESHOLD) -> VersionReport:
    """Per-class IoU/forgetting of a version with old/new/all mIoU and the ancestry heatmap."""
    version = versions.get_version(ctx, version_id)
    chain = list(reversed(versions.ancestors(ctx, version_id))) + [version]
    names = _names(ctx)
    metrics = {m.class_id: m for m in versions.get_metrics(ctx, version_id)}
    parent_ids = set(chain[-2].class_ids) if len(chain) > 1 else set()
    rows = []
    for cid in version.class_ids:
        m = metrics.get(cid)
        iou = m.iou if m else None
        forget = m.forgetting if m else None
        best = None if forget is None or iou is None else iou + forget
        name, color = names.get(cid, (f"class {cid}", "#808080"))
        rows.append(ReportRow(cid, name, color, iou, best, forget,
                              forget is not None and forget > forget_threshold, cid not in parent_ids))
    old = [r.iou for r in rows if not r.new and r.iou is not None]
    new = [r.iou for r in rows if r.new and r.iou is not None]
    every = [r.iou for r in rows if r.iou is not None]
    m_old, m_new = nan_mean(old) if old else math.nan, nan_mean(new) if new else math.nan
    heat_rows = []
    for v in chain:
        ious = {names.get(m.class_id, (f"class {m.class_id}",))[0]: m.iou for m in versions.get_metrics(ctx, v.id)}
        heat_rows.append((f"v{v.id}", ious))
    return VersionReport(version, rows, _opt(m_old), _opt(m_new), _opt(nan_mean(every)) if every else None,
                         _opt(harmonic_iou(m_old, m_new)) if parent_ids else None, iou_heatmap_png(heat_rows),
                         [r.class_name for r in rows if r.forgot], heat_rows)


def compare_versions(ctx: AppContext, a_id: int, b_id: int) -> list[tuple[str, float | None, float | None]]:
    """(class name, IoU in version a, IoU in version b) for the union of their classes."""
    a, b = versions.get_version(ctx, a_id), versions.get_version(ctx, b_id)
    names = _names(ctx)
    ma = {m.class_id: m.iou for m in versions.get_metrics(ctx, a.id)}
    mb = {m.class_id: m.iou for m in versions.get_metrics(ctx, b.id)}
    ids = list(dict.fromkeys(list(a.class_ids) + list(b.class_ids)))
    return [(names.get(c, (f"class {c}",))[0], ma.get(c), mb.get(c)) for c in ids]
