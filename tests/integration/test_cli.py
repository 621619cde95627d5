"""The ``incseg`` CLI through click's CliRunner on temporary stores."""
from __future__ import annotations

import os
import re

from click.testing import CliRunner

from incseg_app.cli import cli
from incseg_app.services import open_store, versions
from store_helpers import image_bytes, write

COMMANDS = ["serve", "classes add", "classes list", "classes rename", "classes recolour", "classes archive",
            "images import", "images list", "dataset import", "versions list", "versions activate", "export"]


def run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_help_lists_every_command():
    top = run("--help")
    assert top.exit_code == 0
    for group in ("serve", "classes", "images", "dataset", "versions", "export"):
        assert re.search(rf"^\s+{group}\s+\S", top.output, re.M), group
    for cmd in COMMANDS:
        result = run(*cmd.split(), "--help")
        assert result.exit_code == 0, cmd
        assert "--storage" in result.output, cmd


def test_versions_list_on_empty_store(tmp_path):
    result = run("versions", "list", "--storage", str(tmp_path / "s"))
    assert result.exit_code == 0
    assert "no model versions yet" in result.output
    assert (tmp_path / "s" / "incseg.db").is_file()


def test_storage_from_group_option_and_env(tmp_path):
    assert run("--storage", str(tmp_path / "a"), "classes", "add", "car").exit_code == 0
    assert "car" in run("classes", "list", env={"INCSEG_STORAGE": str(tmp_path / "a")}).output
    assert "car" not in run("classes", "list", "--storage", str(tmp_path / "b")).output


def test_classes_commands(tmp_path):
    s = ["--storage", str(tmp_path / "s")]
    assert "created class 1 'car'" in run("classes", "add", "car", "--color", "#ff0000", *s).output
    assert run("classes", "add", "tree", "--prompt", "a tree", *s).exit_code == 0
    assert "now 'auto'" in run("classes", "rename", "car", "auto", *s).output
    assert "#00ff00" in run("classes", "recolour", "2", "#00FF00", *s).output
    assert "archived" in run("classes", "archive", "auto", *s).output
    listing = run("classes", "list", *s).output
    assert re.search(r"^1\s+auto\s+#ff0000\s+0\s+0\s+yes", listing, re.M)
    assert "auto" not in run("classes", "list", "--active", *s).output


def test_domain_errors_are_one_line_with_exit_code_2(tmp_path):
    s = ["--storage", str(tmp_path / "s")]
    run("classes", "add", "car", *s)
    result = CliRunner().invoke(cli, ["classes", "add", "CAR", *s])
    assert result.exit_code == 2
    assert result.output.strip() == "error: a class named 'car' already exists (id 1)"
    bad = write(tmp_path / "bad.png", b"nope")
    result = CliRunner().invoke(cli, ["images", "import", str(bad), *s])
    assert result.exit_code == 2 and "bad.png: not an image" in result.output


def test_images_import_list_dataset_export_and_activate(tmp_path, shared_data):
    s = ["--storage", str(tmp_path / "s")]
    result = run("dataset", "import", str(shared_data / "voc_samples"), *s)
    assert result.exit_code == 0 and "imported 6 new image(s)" in result.output and "6 mask(s)" in result.output
    folder = tmp_path / "up"
    write(folder / "x.png", image_bytes(5, 5, 1))
    write(folder / "y.jpg", image_bytes(5, 5, 2, "JPEG"))
    result = run("images", "import", str(folder), "--tag", "car", "--split", "val", *s)
    assert "imported 2 image(s)" in result.output
    listing = run("images", "list", "--tag", "car", "--split", "val", *s).output
    assert "x.png" in listing and "y.jpg" in listing and "2011_000003" not in listing
    assert "exported 6 mask(s)" in run("export", str(tmp_path / "out"), *s).output
    assert len(list((tmp_path / "out" / "SegmentationClass").iterdir())) == 6
    ctx = open_store(tmp_path / "s")
    v = versions.create_version(ctx, "base", [0, 1], "finetune")
    versions.mark_ready(ctx, v.id, ctx.blobs.put_bytes(b"ckpt"))
    ctx.close()
    assert "active version is now 1 (base)" in run("versions", "activate", "1", *s).output
    assert re.search(r"^\*\s+1\s+base", run("versions", "list", *s).output, re.M)
    assert CliRunner().invoke(cli, ["versions", "activate", "7", *s]).exit_code == 2


def test_serve_hands_over_to_the_ui_entry_point(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr("os.execv", lambda exe, argv: calls.append(argv))
    monkeypatch.setenv("INCSEG_AUTH", "before:test")  # restored after the test
    result = run("serve", "--storage", str(tmp_path / "s"), "--host", "0.0.0.0", "--port", "9001", "--auth", "a:b")
    assert result.exit_code == 0
    assert calls[0][1:] == ["-m", "incseg_app.ui", "--storage", str(tmp_path / "s"), "--host", "0.0.0.0",
                            "--port", "9001"]
    assert os.environ["INCSEG_AUTH"] == "a:b"
