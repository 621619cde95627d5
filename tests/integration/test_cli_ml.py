"""The model commands end to end on a tiny encoder: methods, weights, pseudo-label, train, report, predict."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from incseg_app.cli import cli
from incseg_app.services import open_store
from store_helpers import add_shapes_project, png_bytes, shapes_image

FAST = ["--epochs", "1", "--batch-size", "2", "--crop-size", "64"]


def run(args: list[str]):
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result


def test_train_report_predict_and_rollback_from_the_cli(tmp_path: Path) -> None:
    storage = tmp_path / "store"
    ctx = open_store(storage)
    add_shapes_project(ctx, (0, 1), n_train=4, n_val=2, seed=3)
    ctx.close()
    base = ["--storage", str(storage), "--encoder", "tiny"]

    dry = run([*base, "train", "--dry-run"])
    assert dry.exit_code == 0 and "new: red square, green disc" in dry.output
    trained = run([*base, "train", "--method", "finetune", *FAST])
    assert trained.exit_code == 0, trained.output
    assert "version 1" in trained.output and "red square" in trained.output

    heatmap = tmp_path / "heat.png"
    report = run([*base, "report", "1", "--heatmap", str(heatmap)])
    assert report.exit_code == 0 and Image.open(heatmap).format == "PNG"

    image, _ = shapes_image(7, (0, 1))
    (tmp_path / "photo.png").write_bytes(png_bytes(image))
    out = tmp_path / "mask.png"
    predicted = run([*base, "predict", str(tmp_path / "photo.png"), "--out", str(out)])
    assert predicted.exit_code == 0 and Image.open(out).mode == "P"
    assert Image.open(out).size == (image.shape[1], image.shape[0])

    bad = run([*base, "train", "--method", "nope"])
    assert bad.exit_code == 2 and "unknown method 'nope'" in bad.output
    listed = run([*base, "versions", "list"])
    assert "*" in listed.output and "finetune" in listed.output and " MB" in listed.output


def test_pseudo_label_and_weights_commands_name_the_fallbacks(tmp_path: Path) -> None:
    storage = tmp_path / "store"
    ctx = open_store(storage)
    add_shapes_project(ctx, (0,), n_train=2, n_val=0, masks=False)
    ctx.close()
    base = ["--storage", str(storage), "--encoder", "tiny"]
    weights = run([*base, "weights"])
    assert weights.exit_code == 0 and "fallback" in weights.output.lower()
    labelled = run([*base, "pseudo-label"])
    assert labelled.exit_code == 0, labelled.output
    assert "superpixels" in labelled.output and "done" in labelled.output
    assert "warning: 'red square' is tagged on 2 of 2" in labelled.output  # tags cannot localise it
    refused = run([*base, "pseudo-label", "--from-corrections"])
    assert refused.exit_code != 0 and "accept or correct" in refused.output
    missing = run([*base, "--sam-checkpoint", str(tmp_path / "nope.pth"), "pseudo-label"])
    assert missing.exit_code != 0 and "nope.pth" in missing.output


def test_methods_lists_every_registered_method() -> None:
    out = run(["methods"]).output
    for name in ("finetune", "joint", "mib", "gsc", "incrementer", "fmwiss"):
        assert name in out
