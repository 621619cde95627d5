"""Access: loopback by default, logins from --auth / a credentials file / the environment, a warning
on a public interface without login, and a served app that hands out no file outside its upload and
cache folders (not the store's database or blobs, not /etc/passwd)."""
from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import gradio as gr
import httpx
import pytest

from incseg_app.domain.errors import BadFileError, ValidationError
from incseg_app.services.access import read_credentials_file, resolve_credentials
from incseg_app.ui import server
from store_helpers import add_shapes_project, tiny_store  # noqa: F401


@pytest.fixture
def clean_env(monkeypatch):
    for key in ("INCSEG_HOST", "INCSEG_PORT", "INCSEG_AUTH", "INCSEG_AUTH_FILE", "GRADIO_ALLOWED_PATHS"):
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


def test_credentials_from_argument_file_and_environment(tmp_path, clean_env):
    creds = tmp_path / "users.txt"
    creds.write_text("# team logins\nann:s3cret\n\nbob:pa:ss:word\n")
    os.chmod(creds, 0o600)
    assert resolve_credentials() is None
    assert resolve_credentials(auth="me:pw") == [("me", "pw")]
    assert resolve_credentials(auth_file=creds) == [("ann", "s3cret"), ("bob", "pa:ss:word")]
    clean_env.setenv("INCSEG_AUTH_FILE", str(creds))
    assert resolve_credentials() == [("ann", "s3cret"), ("bob", "pa:ss:word")]
    clean_env.setenv("INCSEG_AUTH", "env:pw")
    assert resolve_credentials() == [("env", "pw")]  # the single login wins over the file
    with pytest.raises(ValidationError, match="user:pass"):
        resolve_credentials(auth="no-password:")


def test_bad_credentials_files_are_refused_naming_the_line(tmp_path, caplog):
    bad = tmp_path / "bad.txt"
    bad.write_text("ann:ok\njustaname\n")
    with pytest.raises(BadFileError, match="bad.txt: line 2 is not user:pass"):
        read_credentials_file(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nobody\n")
    with pytest.raises(BadFileError, match="holds no user:pass"):
        read_credentials_file(empty)
    with pytest.raises(BadFileError, match="cannot be read"):
        read_credentials_file(tmp_path / "missing.txt")
    loose = tmp_path / "loose.txt"
    loose.write_text("ann:pw\n")
    os.chmod(loose, 0o644)
    with caplog.at_level(logging.WARNING):
        read_credentials_file(loose)
    assert "readable by other users" in caplog.text


def test_serve_binds_loopback_and_exposes_no_extra_paths(tiny_store, clean_env, monkeypatch, caplog):
    seen: dict = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: seen.update(kw))
    server.serve_app(tiny_store)
    assert seen["server_name"] == "127.0.0.1" and seen["auth"] is None
    assert not seen.get("allowed_paths") and not seen.get("share")
    with caplog.at_level(logging.WARNING):
        server.serve_app(tiny_store, host="0.0.0.0")
    assert "without a login" in caplog.text
    server.serve_app(tiny_store, host="0.0.0.0", auth="ann:pw")
    assert seen["auth"] in (("ann", "pw"), [("ann", "pw")])  # a list once --auth-file lands in server.py


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_served_app_refuses_files_outside_upload_and_cache(tiny_store, clean_env, monkeypatch):
    add_shapes_project(tiny_store, (0,), n_train=1, n_val=0)
    blob = next(iter(tiny_store.blobs.iter_shas()))
    launch = gr.Blocks.launch
    demos: list[gr.Blocks] = []
    port = _free_port()

    def launch_in_background(self, **kw):
        demos.append(self)
        return launch(self, **{**kw, "server_port": port, "prevent_thread_lock": True, "quiet": True})

    monkeypatch.setattr(gr.Blocks, "launch", launch_in_background)
    server.serve_app(tiny_store)
    try:
        base = f"http://127.0.0.1:{port}/gradio_api/file="
        targets = ["/etc/passwd", str(tiny_store.db.path), str(tiny_store.blobs.path(blob)),
                   str(Path(server.__file__).resolve()), "../../../../etc/passwd"]
        with httpx.Client(timeout=30) as client:
            assert client.get(f"http://127.0.0.1:{port}/").status_code == 200
            for target in targets:
                response = client.get(base + target)
                assert response.status_code in (403, 404), target
                assert b"root:" not in response.content and b"SQLite" not in response.content
    finally:
        for demo in demos:
            demo.close()
