"""Untrusted files: weights never unpickled, uploads checked by content, configurable limits, archives
that cannot escape their target, and user text (class names, tags) stored verbatim but shown inert."""
from __future__ import annotations

import builtins
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from incseg_app.domain.config import LabelingConfig
from incseg_app.domain.errors import BadFileError, ValidationError, WeightsUnavailableError
from incseg_app.services import StoreSettings, classes, images, open_store
from incseg_app.services.archives import ZipLimits, extract_zip
from store_helpers import bomb_png, image_bytes, snapshot, store, tiny_store  # noqa: F401


class _Bomb:
    """Unpickling this runs ``open(marker, "w")``: proof of code execution if the file appears."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return builtins.open, (str(self.marker), "w")


def _pickle_bomb(path: Path, marker: Path) -> Path:
    torch.save({"model": {"weight": _Bomb(marker)}, "state_dict": _Bomb(marker)}, path)
    return path


def test_the_bomb_is_live_when_unpickled(tmp_path):
    """Control: the same file loaded *with* pickle does create the marker, so the tests below mean something."""
    marker = tmp_path / "control-marker"
    torch.load(_pickle_bomb(tmp_path / "control.pth", marker), weights_only=False)
    assert marker.exists()


def test_pickle_bomb_as_sam_checkpoint_is_refused_unexecuted(tmp_path):
    from incseg_app.labeling.labeler import build_refiner
    from incseg_app.labeling.sam_refiner import load_sam

    marker = tmp_path / "pwned"
    bomb = _pickle_bomb(tmp_path / "sam_vit_b.pth", marker)
    with pytest.raises(WeightsUnavailableError, match=f"SAM checkpoint {bomb} could not be read"):
        load_sam(str(bomb), "vit_b")
    with pytest.raises(WeightsUnavailableError):
        build_refiner(LabelingConfig(sam_checkpoint=str(bomb)))
    assert not marker.exists()


def test_pickle_bomb_as_clip_weights_is_refused_unexecuted(tmp_path, tiny_openclip):
    from incseg_app.labeling.labeler import build_labeler
    from incseg_app.models.encoders.openclip_vit import create_clip_model

    name, _ = tiny_openclip
    marker = tmp_path / "pwned"
    bomb = _pickle_bomb(tmp_path / "clip.pth", marker)
    with pytest.raises(WeightsUnavailableError, match="could not be loaded"):
        build_labeler(LabelingConfig(clip_model=name, clip_pretrained=str(bomb)))
    with pytest.raises(WeightsUnavailableError, match="cannot be loaded"):
        create_clip_model(name, str(bomb))
    assert not marker.exists()


def test_pickle_in_the_blob_store_is_never_unpickled(tmp_path, store):
    """A checkpoint or FMWISS memory blob replaced by a pickle (e.g. in a doctored backup) is refused."""
    import io
    import json

    from safetensors import SafetensorError
    from safetensors.torch import load as load_safetensors

    from incseg_app.methods.fmwiss.memory import InstanceMemory
    from incseg_app.training.checkpoint import load_checkpoint

    marker = tmp_path / "pwned"
    pickled = store.blobs.put_bytes(pickle.dumps(_Bomb(marker)))
    with pytest.raises(BadFileError, match=f"checkpoint {pickled}: manifest is not JSON"):
        load_checkpoint(store.blobs, pickled)
    with pytest.raises(BadFileError, match="not an"):
        load_checkpoint(store.blobs, store.blobs.put_bytes(json.dumps({"format": "pickle"}).encode()))
    with pytest.raises(SafetensorError):  # how every checkpoint shard is parsed
        load_safetensors(store.blobs.get_bytes(pickled))
    npz = io.BytesIO()
    np.savez(npz, format=np.array([_Bomb(marker)], dtype=object))
    with pytest.raises(BadFileError, match="not an FMWISS memory blob"):
        InstanceMemory.from_bytes(npz.getvalue())
    assert not marker.exists()


def test_uploads_are_checked_by_content_not_extension(store):
    classes.create_class(store, "car")
    png_named_jpg = images.import_uploads(store, [("photo.jpg", image_bytes(20, 10, 3))], ["car"]).imported[0]
    assert (png_named_jpg.width, png_named_jpg.height, png_named_jpg.original_name) == (20, 10, "photo.jpg")
    assert images.read_image(store, png_named_jpg.id).shape == (10, 20, 3)
    before = snapshot(store)
    with pytest.raises(BadFileError, match="notes.png: not an image"):
        images.import_uploads(store, [("notes.png", b"<html><script>alert(1)</script></html>")])
    with pytest.raises(BadFileError, match="shell.png: not an image"):
        images.import_uploads(store, [("shell.png", b"#!/bin/sh\nrm -rf /\n" * 20)])
    assert snapshot(store) == before


def test_size_and_pixel_limits_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("INCSEG_MAX_FILE_MB", "0.01")  # 10 KiB
    monkeypatch.setenv("INCSEG_MAX_PIXELS", "1000")
    ctx = open_store(tmp_path / "s")
    try:
        assert ctx.settings.max_file_bytes == int(0.01 * 2**20) and ctx.settings.max_pixels == 1000
        with pytest.raises(BadFileError, match="big.png: 40x30 pixels is over the limit of 1,000"):
            images.import_uploads(ctx, [("big.png", image_bytes(40, 30, 1))])
        heavy = image_bytes(30, 30, 2, fmt="BMP") * 5  # 900 pixels (allowed) but 13 KiB (over 10 KiB)
        with pytest.raises(BadFileError, match="heavy.bmp: the file is .* over the"):
            images.import_uploads(ctx, [("heavy.bmp", heavy)])
        assert len(images.import_uploads(ctx, [("ok.png", image_bytes(30, 30, 3))]).imported) == 1
        with pytest.raises(BadFileError, match="decompression bomb"):
            images.import_uploads(ctx, [("bomb.png", bomb_png())])
    finally:
        ctx.close()
    assert StoreSettings.from_env().max_pixels == 1000
    for bad in ("lots", "0", "-5", "nan"):
        monkeypatch.setenv("INCSEG_MAX_PIXELS", bad)
        with pytest.raises(ValidationError, match=f"INCSEG_MAX_PIXELS must be a positive number, got '{bad}'"):
            StoreSettings.from_env()


@pytest.mark.parametrize("entry", ["../escape.txt", "../../escape.txt", "/tmp/escape.txt", "a/../../escape.txt",
                                   "C:/escape.txt", "..\\escape.txt"])
def test_archives_cannot_write_outside_their_target(tmp_path, entry):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.txt", b"ok")
        zf.writestr(entry, b"escaped")
    target = tmp_path / "deep" / "target"
    target.mkdir(parents=True)
    with pytest.raises(BadFileError, match="a.zip:"):
        extract_zip(archive, target, ZipLimits(100, 2**20))
    assert list(target.iterdir()) == []  # refused before anything was written
    assert not list(tmp_path.rglob("escape.txt")) and not Path("/tmp/escape.txt").exists()


SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_html_in_class_names_is_stored_verbatim_and_rendered_inert(store):
    from incseg_app.domain.enums import JobKind
    from incseg_app.services import jobs
    from incseg_app.ui.classes_tab import class_rows, create
    from incseg_app.ui.common import class_legend, esc, progress_html, swatch

    cls = classes.create_class(store, SCRIPT)
    assert classes.list_classes(store)[0].name == SCRIPT  # stored exactly as typed
    rec = images.import_uploads(store, [("<b>x</b>.png", image_bytes(8, 8, 1))], [SCRIPT]).imported[0]
    assert rec.tags == (SCRIPT,) and rec.original_name == "<b>x</b>.png"

    rendered = [esc(cls.name), class_legend(classes.list_classes(store)), swatch(cls.color, cls.name),
                create(store, "<i>second</i>", "#000000", "")[0]]
    job = jobs.create_job(store, JobKind.IMPORT)
    jobs.fail_job(store, job.id, f"bad file {SCRIPT}")
    rendered.append(progress_html(jobs.get_job(store, job.id)))
    for html_text in rendered:
        assert "<script" not in html_text and "<img" not in html_text and "<i>" not in html_text
    assert "&lt;script&gt;" in rendered[1]
    assert class_rows(store)[0][1] == SCRIPT  # table cells get the plain text (Dataframe shows it as text)


def test_ui_tables_render_cells_as_text(tiny_store):
    """Every Dataframe of the app uses a text datatype, so raw names in cells are never parsed as HTML."""
    import gradio as gr

    from incseg_app.ui.app import build_app

    demo = build_app(tiny_store)
    frames = [b for b in demo.blocks.values() if isinstance(b, gr.Dataframe)]
    assert frames
    for frame in frames:
        kinds = frame.datatype if isinstance(frame.datatype, list) else [frame.datatype]
        assert not {"html", "markdown"} & set(kinds), frame.label
    markdowns = [b for b in demo.blocks.values() if isinstance(b, gr.Markdown)]
    assert all(m.sanitize_html for m in markdowns)  # a second line of defence behind ``esc``
