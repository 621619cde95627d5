"""Versions tab handlers on versions with known metrics: tree with the active mark, per-class IoU and
forgetting report with the threshold warning and heatmap, roll back with confirmation, compare."""
from __future__ import annotations

import pytest

from incseg_app.domain.records import ClassMetric
from incseg_app.services import classes, versions
from incseg_app.ui import versions_tab
from ui_helpers import ctx, plain  # noqa: F401


@pytest.fixture
def two_steps(ctx):
    """v1 learns sky (IoU 0.80); v2 adds grass (0.70) and sky drops to 0.60 (forgetting 0.20)."""
    classes.create_class(ctx, "sky", "#0000ff")
    classes.create_class(ctx, "grass", "#00ff00")
    v1 = versions.create_version(ctx, "base", [0, 1], "finetune")
    versions.mark_ready(ctx, v1.id, ctx.blobs.put_bytes(b"ckpt1"))
    versions.store_metrics(ctx, v1.id, [ClassMetric(v1.id, 0, 0.9), ClassMetric(v1.id, 1, 0.8)])
    v2 = versions.create_version(ctx, "+grass", [0, 1, 2], "gsc", parent_id=v1.id)
    versions.mark_ready(ctx, v2.id, ctx.blobs.put_bytes(b"ckpt2"))
    versions.store_metrics(ctx, v2.id, [ClassMetric(v2.id, 0, 0.9, 0.0), ClassMetric(v2.id, 1, 0.6, 0.2),
                                        ClassMetric(v2.id, 2, 0.7)])
    versions.activate(ctx, v2.id)
    return ctx, v1, v2


def test_tree_marks_the_active_version_and_nests_children(two_steps):
    ctx, v1, v2 = two_steps
    tree = plain(versions_tab.tree_markdown(ctx))
    lines = tree.splitlines()
    assert lines[0].startswith(f"- v{v1.id} base · finetune · step 0")
    assert lines[1].startswith(f"    - ● **v{v2.id} +grass** (active) · gsc · step 1")
    text, pick, a, b = versions_tab.refresh(ctx)
    assert pick["value"] == v2.id and [c[1] for c in pick["choices"]] == [v2.id, v1.id]
    assert pick["choices"][0][0] == f"v{v2.id} +grass (active)" and a["choices"] == pick["choices"]


def test_report_table_mious_heatmap_and_forgetting_warning(two_steps):
    ctx, v1, v2 = two_steps
    summary, rows, heatmap, warning = versions_tab.report_values(ctx, v2.id, 5)
    assert ["sky", "60.0", "80.0", "20.0", "⚠ yes"] in rows and ["grass", "70.0", "–", "–", "new"] in rows
    assert "mIoU old **75.0** · new **70.0**" in plain(summary) and "Validated on reviewed masks only" in summary
    assert f"<th>v{v1.id}</th><th>v{v2.id}</th>" in heatmap and "<th>sky</th>" in heatmap
    assert ">80.0</td>" in heatmap and ">60.0</td>" in heatmap and "<th>class</th>" in heatmap
    assert "Forgot more than 5 IoU points:** sky" in plain(warning)
    assert "No class forgot" in versions_tab.report_values(ctx, v2.id, 25)[3]


def test_roll_back_needs_confirmation(two_steps):
    ctx, v1, v2 = two_steps
    question, row = versions_tab.ask_activate(ctx, v1.id)
    assert row["visible"] is True and f"v{v1.id} base" in plain(question)
    assert versions.active_version(ctx).id == v2.id  # asking changes nothing
    status, row, tree, pick, a, b = versions_tab.confirm_activate(ctx, v1.id)
    assert row["visible"] is False and versions.active_version(ctx).id == v1.id
    assert dict((v, lbl) for lbl, v in pick["choices"])[v1.id].endswith("(active)") and pick["value"] == v1.id
    assert dict((v, lbl) for lbl, v in b["choices"])[v2.id].endswith("(ready)")
    assert f"● **v{v1.id} base** (active)" in plain(tree) and "is now the active version" in plain(status)


def test_a_failed_version_cannot_be_activated(two_steps):
    ctx, v1, _ = two_steps
    bad = versions.create_version(ctx, "broken", [0, 1, 2], "finetune", parent_id=v1.id)
    versions.mark_failed(ctx, bad.id)
    status, *rest = versions_tab.confirm_activate(ctx, bad.id)
    assert status.startswith("⚠") and "only a ready version" in plain(status)


def test_compare_two_versions(two_steps):
    ctx, v1, v2 = two_steps
    rows = versions_tab.compare(ctx, v1.id, v2.id)
    assert ["sky", "80.0", "60.0", "-20.0"] in rows and ["grass", "–", "70.0", "–"] in rows
    assert versions_tab.compare(ctx, v1.id, None) == []


def test_empty_store_says_to_train(ctx):
    assert "train a first step" in versions_tab.tree_markdown(ctx)
    assert versions_tab.report_values(ctx, None, 5)[0] == "Pick a version."
