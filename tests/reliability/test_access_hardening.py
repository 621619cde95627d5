"""Access (issue 15 #8): failed logins are throttled per client, a password on the command line is
warned about, the store and Gradio's cache are owner-only, and a CLIP tag never downloads unasked."""
from __future__ import annotations

import logging
import os
import socket
import stat
import sys
import time
from pathlib import Path

import gradio as gr
import httpx
import pytest
from click.testing import CliRunner

from incseg_app.cli import cli
from incseg_app.domain.errors import ValidationError
from incseg_app.services import StoreSettings, open_store
from incseg_app.services.access import LoginThrottle, gradio_cache_dir, private_dir
from incseg_app.services.ml_settings import MLSettings
from incseg_app.ui import server
from store_helpers import tiny_store  # noqa: F401


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_grows_per_client_and_resets_on_success():
    clock = Clock()
    throttle = LoginThrottle(free=3, base_s=1.0, max_s=8.0, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("10.0.0.1") == 0.0
        throttle.record("10.0.0.1", ok=False)
    waits = []
    for _ in range(5):  # each further failure doubles the wait, up to max_s
        waits.append(throttle.retry_after("10.0.0.1"))
        clock.now += waits[-1]
        throttle.record("10.0.0.1", ok=False)
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert throttle.retry_after("10.0.0.2") == 0.0  # another client is not slowed
    clock.now += 8.0
    throttle.record("10.0.0.1", ok=True)
    assert throttle.retry_after("10.0.0.1") == 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_served_app_throttles_password_guessing(tiny_store, monkeypatch):
    """Issue 15 #8: 20 wrong passwords were checked in 0.35 s. Now only the first few are checked;
    the rest are answered 429 with Retry-After, the right password included, until the wait is over."""
    for key in ("INCSEG_HOST", "INCSEG_PORT", "INCSEG_AUTH", "INCSEG_AUTH_FILE"):
        monkeypatch.delenv(key, raising=False)
    launch, demos, port = gr.Blocks.launch, [], _free_port()

    def launch_in_background(self, **kw):
        demos.append(self)
        return launch(self, **{**kw, "server_port": port, "prevent_thread_lock": True, "quiet": True})
    monkeypatch.setattr(gr.Blocks, "launch", launch_in_background)
    server.serve_app(tiny_store, auth="ann:right")
    try:
        url = f"http://127.0.0.1:{port}/login"
        with httpx.Client(timeout=30) as client:
            codes = [client.post(url, data={"username": "ann", "password": f"guess{k}"}).status_code
                     for k in range(20)]
            assert codes[:3] == [400, 400, 400] and set(codes[3:]) == {429}
            refused = client.post(url, data={"username": "ann", "password": "right"})
            assert refused.status_code == 429 and "Too many failed logins" in refused.text
            time.sleep(float(refused.headers["retry-after"]) + 0.2)
            assert client.post(url, data={"username": "ann", "password": "right"}).status_code == 200
            assert client.get(f"http://127.0.0.1:{port}/").status_code == 200
    finally:
        for demo in demos:
            demo.close()


def test_a_password_on_the_command_line_is_warned_about(monkeypatch, caplog, tmp_path):
    monkeypatch.setattr(server, "serve_app", lambda *a, **k: None)
    with caplog.at_level(logging.WARNING):
        server.main(["--storage", str(tmp_path / "s"), "--auth", "ann:pw"])
    assert "--auth puts the password in the process list" in caplog.text and "--auth-file" in caplog.text
    monkeypatch.setattr(os, "execv", lambda *a: None)
    ran = CliRunner().invoke(cli, ["serve", "--auth", "ann:pw", "--storage", str(tmp_path / "s")])
    assert ran.exit_code == 0 and "warning: --auth puts the password in the process list" in ran.output


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_store_and_gradio_cache_are_owner_only(tmp_path, monkeypatch, caplog):
    """Issue 15 #8: the store and Gradio's cache were world-readable."""
    old = os.umask(0o022)  # a typical umask: new files 0644, folders 0755
    try:
        ctx = open_store(tmp_path / "store", StoreSettings())
        from incseg_app.services import classes
        classes.create_class(ctx, "car")
        assert stat.S_IMODE((tmp_path / "store").stat().st_mode) == 0o700
        for name in ("incseg.db", "incseg.db-wal"):
            path = tmp_path / "store" / name
            assert not path.exists() or stat.S_IMODE(path.stat().st_mode) == 0o600, name
        ctx.close()
        shared = tmp_path / "shared"
        open_store(shared, StoreSettings()).close()
        os.chmod(shared, 0o755)
        with caplog.at_level(logging.WARNING):
            open_store(shared, StoreSettings()).close()
        assert "can be read by other users of this machine" in caplog.text
        monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-cache"))
        assert gradio_cache_dir() == tmp_path / "gradio-cache"
        assert stat.S_IMODE((tmp_path / "gradio-cache").stat().st_mode) == 0o700
        monkeypatch.delenv("GRADIO_TEMP_DIR")
        monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
        default = gradio_cache_dir()
        assert default.name == f"incseg-gradio-{os.getuid()}" and os.environ["GRADIO_TEMP_DIR"] == str(default)
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "trap").symlink_to(tmp_path / "elsewhere")
        with pytest.raises(ValidationError, match="must be a folder, not a link"):
            private_dir(tmp_path / "trap")
    finally:
        os.umask(old)


def test_the_running_ui_uses_an_owner_only_gradio_cache():
    from gradio import utils
    folder = Path(utils.get_upload_folder())
    assert folder == Path(os.environ["GRADIO_TEMP_DIR"])  # chosen before gradio was imported
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_clip_tag_is_refused_unless_downloads_are_allowed(monkeypatch, caplog, tmp_path):
    """Issue 15 #8: a CLIP tag made open_clip try to download although the docs said nothing is."""
    monkeypatch.delenv("INCSEG_ALLOW_DOWNLOAD", raising=False)
    with pytest.raises(ValidationError, match=r"--clip-pretrained 'laion2b_s34b_b88k' is an open_clip tag, not a "
                                              r"weights file: open_clip would download the ViT-B-16 weights"):
        MLSettings.from_env(clip_pretrained="laion2b_s34b_b88k")
    weights = tmp_path / "clip.safetensors"
    assert MLSettings.from_env(clip_pretrained=str(weights)).labeling.clip_pretrained == str(weights)
    with caplog.at_level(logging.WARNING):
        allowed = MLSettings.from_env(clip_pretrained="openai", allow_download="1")
    assert allowed.allow_download and "downloads allowed: open_clip would download the ViT-B-16 weights" in caplog.text
    run = CliRunner().invoke
    refused = run(cli, ["weights", "--clip-pretrained", "openai", "--storage", str(tmp_path / "s")])
    assert refused.exit_code == 2 and "downloads nothing unless told to" in refused.output
    ok = run(cli, ["weights", "--clip-pretrained", "openai", "--allow-download", "--storage", str(tmp_path / "s")])
    assert ok.exit_code == 0, ok.output
    monkeypatch.setenv("INCSEG_ALLOW_DOWNLOAD", "1")
    assert MLSettings.from_env(clip_pretrained="openai").allow_download
