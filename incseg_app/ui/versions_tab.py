"""The "Versions" tab: the version tree (active marked), a version's per-class IoU and forgetting
report with the class × version heatmap and a warning on forgotten classes, roll back (activate)
with a confirmation step, two versions side by side, and the model bundle (ONNX + weights + classes +
a stand-alone predict.py) as a zip download."""
from __future__ import annotations

import tempfile
from functools import partial
from typing import Any

import gradio as gr

from ..services import AppContext, bundle, reports, ui_support
from ..services import versions as version_svc
from .common import TabParts, esc, gr_progress, guarded, ok

REPORT_HEADERS = ["class", "IoU %", "best before %", "forgetting (points)", "forgot?"]
COMPARE_HEADERS = ["class", "IoU % (A)", "IoU % (B)", "B − A (points)"]
NEXT = ("**How:** pick a version to see how well it segments each class and how much the old classes "
        "forgot. *Activate* makes it the model that predicts and that the next step trains from — that is how "
        "you roll back or branch. Nothing is deleted.")


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def tree_markdown(ctx: AppContext) -> str:
    """The version tree as an indented list; ● marks the active version."""
    nodes = reports.version_tree(ctx)
    if not nodes:
        return "No versions yet: train a first step in **Train**."
    return "\n".join(f"{'    ' * n.depth}- {'● **' if n.active else ''}v{n.version.id} {esc(n.version.name)}"
                     f"{'** (active)' if n.active else ''} · {esc(n.version.method)} · step {n.version.step} · "
                     f"{n.version.status.value}" for n in nodes)


def version_choices(ctx: AppContext) -> list[tuple[str, int]]:
    return [(f"v{v.id} {v.name} ({v.status.value})", v.id) for v in reversed(version_svc.list_versions(ctx))]


def refresh(ctx: AppContext) -> tuple[Any, ...]:
    """Tree and the three version pickers (the report one on the active version)."""
    choices = version_choices(ctx)
    active = version_svc.active_version(ctx)
    return (tree_markdown(ctx), gr.update(choices=choices, value=active.id if active else None),
            gr.update(choices=choices), gr.update(choices=choices))


def report_values(ctx: AppContext, version_id: int | None, threshold: float) -> tuple[Any, ...]:
    """(summary Markdown, IoU table rows, heatmap image, forgetting warning) of one version."""
    if version_id is None:
        return "Pick a version.", [], None, ""
    rep = reports.version_report(ctx, int(version_id), threshold / 100)
    rows = [[r.class_name, pct(r.iou), pct(r.best_before), pct(r.forgetting),
             "⚠️ yes" if r.forgot else ("new" if r.new else "")] for r in rep.rows]
    v = rep.version
    summary = (f"**v{v.id} {esc(v.name)}** · {esc(v.method)} · {v.status.value} · parent "
               f"{f'v{v.parent_id}' if v.parent_id else 'none'} · trained {v.train_seconds or 0:.0f} s\n\n"
               f"mIoU old **{pct(rep.miou_old)}** · new **{pct(rep.miou_new)}** · all **{pct(rep.miou_all)}** · "
               f"hIoU **{pct(rep.hiou)}**")
    warning = (f"⚠️ **Forgot more than {threshold:.0f} IoU points:** {esc(', '.join(rep.forgot_classes))}. "
               "Consider activating the parent version, or retraining with a method that keeps old classes "
               "(gsc, incrementer)." if rep.forgot_classes else "No class forgot more than the threshold.")
    return summary, rows, ui_support.decode_png(rep.heatmap_png), warning


def ask_activate(ctx: AppContext, version_id: int | None) -> tuple[Any, ...]:
    """First step of a roll back: show the confirmation row."""
    if version_id is None:
        return "Pick a version first.", gr.update(visible=False)
    v = version_svc.get_version(ctx, int(version_id))
    return f"Activate **v{v.id} {esc(v.name)}**? New predictions and the next training step will use it.", \
        gr.update(visible=True)


@guarded(3)
def confirm_activate(ctx: AppContext, version_id: int) -> tuple[Any, ...]:
    v = version_svc.activate(ctx, int(version_id))
    return (ok(f"v{v.id} {esc(v.name)} is now the active version."), gr.update(visible=False),
            tree_markdown(ctx), gr.skip())


@guarded(1)
def download_bundle(ctx: AppContext, version_id: int | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
    """Export the picked version as a bundle zip (ONNX checked against PyTorch) for download."""
    if version_id is None:
        return "Pick a version first.", gr.skip()
    path = bundle.bundle_archive(ctx, int(version_id), tempfile.mkdtemp(prefix="incseg-bundle-"),
                                 progress=gr_progress(progress))
    return ok(f"Bundle of v{int(version_id)} ready: unzip it and run `python predict.py IMAGES --out MASKS` "
              "(needs only onnxruntime, numpy and pillow)."), str(path)


def compare(ctx: AppContext, a_id: int | None, b_id: int | None) -> list[list[str]]:
    """Rows (class, IoU A, IoU B, difference) of two versions."""
    if a_id is None or b_id is None:
        return []
    return [[name, pct(a), pct(b), "–" if a is None or b is None else f"{100 * (b - a):+.1f}"]
            for name, a, b in reports.compare_versions(ctx, int(a_id), int(b_id))]


def build_tab(ctx: AppContext) -> TabParts:
    """Widgets and handlers of the Versions tab."""
    with gr.Tab("Versions", id="versions") as tab:
        gr.Markdown(NEXT)
        status = gr.Markdown(elem_id="versions-status")
        tree = gr.Markdown(elem_id="version-tree")
        with gr.Row():
            pick = gr.Dropdown(label="Version", choices=[], elem_id="version-pick")
            threshold = gr.Slider(0, 50, value=100 * reports.DEFAULT_FORGET_THRESHOLD, step=1,
                                  label="Warn when a class forgot more than (IoU points)")
        summary = gr.Markdown(elem_id="version-summary")
        warning = gr.Markdown(elem_id="version-warning")
        with gr.Row():
            table = gr.Dataframe(headers=REPORT_HEADERS, interactive=False, elem_id="version-report", scale=2)
            heatmap = gr.Image(label="IoU per class along this version's history", format="png",
                               interactive=False, scale=1)
        activate_btn = gr.Button("Activate this version (roll back)", elem_id="version-activate")
        with gr.Row(visible=False) as confirm_row:
            confirm_btn = gr.Button("Yes, activate it", variant="stop", elem_id="version-confirm")
            abort_btn = gr.Button("No, keep the current one")
        with gr.Row():
            bundle_btn = gr.Button("Download this version as a model bundle (ONNX)", elem_id="version-bundle")
            bundle_file = gr.File(label="Model bundle (zip)", interactive=False, elem_id="version-bundle-file")
        gr.Markdown("#### Compare two versions")
        with gr.Row():
            a_pick, b_pick = gr.Dropdown(label="A", choices=[]), gr.Dropdown(label="B", choices=[])
        compared = gr.Dataframe(headers=COMPARE_HEADERS, interactive=False)
    report = [summary, table, heatmap, warning]
    pick.change(partial(report_values, ctx), [pick, threshold], report)
    threshold.release(partial(report_values, ctx), [pick, threshold], report)
    activate_btn.click(partial(ask_activate, ctx), [pick], [status, confirm_row])
    confirm_btn.click(partial(confirm_activate, ctx), [pick], [status, confirm_row, tree, pick])
    abort_btn.click(lambda: ("Nothing changed.", gr.update(visible=False)), None, [status, confirm_row])
    bundle_btn.click(partial(download_bundle, ctx), [pick], [status, bundle_file])
    for p in (a_pick, b_pick):
        p.change(partial(compare, ctx), [a_pick, b_pick], [compared])
    return TabParts(tab, partial(refresh, ctx), [tree, pick, a_pick, b_pick])
