"""The "Versions" tab: the version tree (active marked), a version's per-class IoU and forgetting
report with a class × version table of IoU along its history and a warning on forgotten classes, what
validated it, roll back (activate) with a confirmation step, two versions side by side, and the model
bundle (ONNX + weights + classes + a stand-alone predict.py) as a zip download. Every version picker
says which version is active and is refreshed after a roll back."""
from __future__ import annotations

import html
import tempfile
from functools import partial
from typing import Any

import gradio as gr

from ..services import AppContext, bundle, reports
from ..services import versions as version_svc
from .common import TabParts, esc, gr_progress, guarded, ok, warn

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
    active = version_svc.active_version(ctx)
    return [(f"v{v.id} {v.name} ({'active' if active and v.id == active.id else v.status.value})", v.id)
            for v in reversed(version_svc.list_versions(ctx))]


def pickers(ctx: AppContext, report_value: Any = None) -> tuple[Any, Any, Any]:
    """Updates of the three version pickers (choices say which is active); the report picker's value
    only when given."""
    choices = version_choices(ctx)
    first = gr.update(choices=choices) if report_value is None else gr.update(choices=choices, value=report_value)
    return first, gr.update(choices=choices), gr.update(choices=choices)


def refresh(ctx: AppContext) -> tuple[Any, ...]:
    """Tree and the three version pickers (the report one on the active version)."""
    active = version_svc.active_version(ctx)
    return tree_markdown(ctx), *pickers(ctx, active.id if active else None)


def heat_color(iou: float | None) -> str:
    """Cell colour: red (0 %) through yellow to green (100 %); grey when not measured."""
    if iou is None:
        return "#e5e7eb"
    hue = round(120 * max(0.0, min(1.0, iou)))
    return f"hsl({hue}, 70%, 78%)"


def heatmap_html(history: list[tuple[str, dict[str, float | None]]]) -> str:
    """Class rows × version columns of IoU % with headers, coloured by value."""
    if not history:
        return ""
    classes = list(dict.fromkeys(name for _, ious in history for name in ious))
    head = "".join(f"<th>{html.escape(label)}</th>" for label, _ in history)
    body = "".join(
        f"<tr><th>{html.escape(name)}</th>" + "".join(
            f'<td style="background:{heat_color(ious.get(name))}">{pct(ious.get(name))}</td>' for _, ious in history)
        + "</tr>" for name in classes)
    return (f'<table class="incseg-heat"><caption>IoU % per class along this version\'s history</caption>'
            f"<thead><tr><th>class</th>{head}</tr></thead><tbody>{body}</tbody></table>")


def validation_line(config: dict) -> str:
    ev = config.get("eval", {})
    counts = ", ".join(f"{esc(k)}: {v}" for k, v in sorted(ev.get("val_counts", {}).items()))
    which = "reviewed masks and unreviewed drafts" if ev.get("include_drafts") else "reviewed masks only"
    return f"Validated on {which}" + (f" ({counts})" if counts else "")


def report_values(ctx: AppContext, version_id: int | None, threshold: float) -> tuple[Any, ...]:
    """(summary Markdown, IoU table rows, heatmap HTML, forgetting warning) of one version."""
    if version_id is None:
        return "Pick a version.", [], "", ""
    rep = reports.version_report(ctx, int(version_id), threshold / 100)
    rows = [[r.class_name, pct(r.iou), pct(r.best_before), pct(r.forgetting),
             warn("yes") if r.forgot else ("new" if r.new else "")] for r in rep.rows]
    v = rep.version
    summary = (f"**v{v.id} {esc(v.name)}** · {esc(v.method)} · {v.status.value} · parent "
               f"{f'v{v.parent_id}' if v.parent_id else 'none'} · trained {v.train_seconds or 0:.0f} s\n\n"
               f"mIoU old **{pct(rep.miou_old)}** · new **{pct(rep.miou_new)}** · all **{pct(rep.miou_all)}** · "
               f"hIoU **{pct(rep.hiou)}** · {validation_line(v.config)}")
    warning = (warn(f"**Forgot more than {threshold:.0f} IoU points:** {esc(', '.join(rep.forgot_classes))}. "
                    "Consider activating the parent version, or retraining with a method that keeps old classes.")
               if rep.forgot_classes else "No class forgot more than the threshold.")
    return summary, rows, heatmap_html(rep.history), warning


def ask_activate(ctx: AppContext, version_id: int | None) -> tuple[Any, ...]:
    """First step of a roll back: show the confirmation row."""
    if version_id is None:
        return "Pick a version first.", gr.update(visible=False)
    v = version_svc.get_version(ctx, int(version_id))
    return f"Activate **v{v.id} {esc(v.name)}**? New predictions and the next training step will use it.", \
        gr.update(visible=True)


@guarded(5)
def confirm_activate(ctx: AppContext, version_id: int) -> tuple[Any, ...]:
    v = version_svc.activate(ctx, int(version_id))
    return (ok(f"v{v.id} {esc(v.name)} is now the active version."), gr.update(visible=False), tree_markdown(ctx),
            *pickers(ctx, v.id))


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
        table = gr.Dataframe(headers=REPORT_HEADERS, interactive=False, elem_id="version-report")
        heatmap = gr.HTML(elem_id="version-heatmap")
        activate_btn = gr.Button("Activate this version (roll back)", elem_id="version-activate")
        with gr.Row(visible=False) as confirm_row:
            confirm_btn = gr.Button("Yes, activate it", variant="stop", elem_id="version-confirm")
            abort_btn = gr.Button("No, keep the current one")
        with gr.Accordion("Download this version as a model bundle (ONNX) for use outside incseg", open=False):
            with gr.Row():
                bundle_btn = gr.Button("Make the bundle", elem_id="version-bundle")
                bundle_file = gr.File(label="Model bundle (zip)", interactive=False, elem_id="version-bundle-file")
        gr.Markdown("#### Compare two versions")
        with gr.Row():
            a_pick = gr.Dropdown(label="A", choices=[], elem_id="version-a")
            b_pick = gr.Dropdown(label="B", choices=[], elem_id="version-b")
        compared = gr.Dataframe(headers=COMPARE_HEADERS, interactive=False)
    report = [summary, table, heatmap, warning]
    pick.change(partial(report_values, ctx), [pick, threshold], report)
    threshold.release(partial(report_values, ctx), [pick, threshold], report)
    activate_btn.click(partial(ask_activate, ctx), [pick], [status, confirm_row])
    confirm_btn.click(partial(confirm_activate, ctx), [pick], [status, confirm_row, tree, pick, a_pick, b_pick])
    abort_btn.click(lambda: ("Nothing changed.", gr.update(visible=False)), None, [status, confirm_row])
    bundle_btn.click(partial(download_bundle, ctx), [pick], [status, bundle_file])
    for p in (a_pick, b_pick):
        p.change(partial(compare, ctx), [a_pick, b_pick], [compared])
    return TabParts(tab, partial(refresh, ctx), [tree, pick, a_pick, b_pick])
