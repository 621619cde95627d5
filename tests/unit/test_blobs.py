"""BlobStore: content addressing, idempotence, atomic writes."""
from __future__ import annotations

import hashlib
import os

import pytest

from incseg_app.domain.errors import NotFoundError, ValidationError
from incseg_app.storage.blobs import BlobStore


@pytest.fixture
def blobs(tmp_path):
    return BlobStore(tmp_path / "blobs")


def test_put_get_roundtrip_and_layout(blobs):
    sha = blobs.put_bytes(b"hello")
    assert sha == hashlib.sha256(b"hello").hexdigest()
    assert blobs.path(sha) == blobs.root / sha[:2] / sha[2:]
    assert blobs.exists(sha) and blobs.get_bytes(sha) == b"hello"


def test_put_is_idempotent(blobs):
    a = blobs.put_bytes(b"same")
    mtime = blobs.path(a).stat().st_mtime_ns
    assert blobs.put_bytes(b"same") == a
    assert blobs.path(a).stat().st_mtime_ns == mtime
    assert list(blobs.iter_shas()) == [a]


def test_put_file_streams_and_matches_put_bytes(blobs, tmp_path):
    data = os.urandom(3 * 2**20 + 17)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    sha = blobs.put_file(src)
    assert sha == hashlib.sha256(data).hexdigest()
    assert blobs.get_bytes(sha) == data


def test_delete_and_iter(blobs):
    shas = {blobs.put_bytes(bytes([i])) for i in range(5)}
    assert set(blobs.iter_shas()) == shas
    victim = sorted(shas)[0]
    blobs.delete(victim)
    blobs.delete(victim)  # deleting twice is fine
    assert not blobs.exists(victim)
    assert set(blobs.iter_shas()) == shas - {victim}


def test_missing_blob_and_bad_names(blobs):
    with pytest.raises(NotFoundError, match="missing"):
        blobs.get_bytes("0" * 64)
    for bad in ("../../etc/passwd", "ABC", "g" * 64, "0" * 63):
        with pytest.raises(ValidationError):
            blobs.path(bad)


def test_failed_rename_leaves_no_visible_or_partial_blob(blobs, monkeypatch):
    def boom(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        blobs.put_bytes(b"payload")
    sha = hashlib.sha256(b"payload").hexdigest()
    assert not blobs.exists(sha)
    assert [p for p in blobs.root.rglob("*") if p.is_file()] == []  # temp file removed too


def test_failed_fsync_leaves_nothing(blobs, monkeypatch):
    def boom(fd):
        raise OSError("io error")
    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        blobs.put_bytes(b"x" * 1000)
    assert list(blobs.iter_shas()) == []
    assert [p for p in blobs.root.rglob("*") if p.is_file()] == []


def test_leftover_temp_files_are_not_blobs(blobs):
    sha = blobs.put_bytes(b"real")
    (blobs.path(sha).parent / ".tmp-abc123").write_bytes(b"partial")
    assert list(blobs.iter_shas()) == [sha]


def test_file_changing_during_put_file_is_rejected(blobs, tmp_path, monkeypatch):
    src = tmp_path / "f.bin"
    src.write_bytes(b"original")
    real_open = type(src).open
    calls = {"n": 0}

    def open_then_change(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:  # the copy pass sees different content than the hashing pass
            src.write_bytes(b"changed!")
        return real_open(self, *a, **k)

    monkeypatch.setattr(type(src), "open", open_then_change)
    with pytest.raises(ValidationError, match="changed"):
        blobs.put_file(src)
    assert list(blobs.iter_shas()) == []


def test_put_many_stores_a_batch_with_one_flush(blobs, monkeypatch):
    from incseg_app.storage import blobs as blob_module

    existing = blobs.put_bytes(b"already here")
    flushes: list[int] = []
    real = blob_module._flush
    monkeypatch.setattr(blob_module, "_flush", lambda paths, root: flushes.append(len(paths)) or real(paths, root))
    fsyncs: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: fsyncs.append(fd))
    data = [b"one", b"two", b"already here", b"one"]
    shas = blobs.put_many(data)
    assert shas == [hashlib.sha256(d).hexdigest() for d in data] and shas[2] == existing
    assert sorted(blobs.iter_shas()) == sorted(set(shas))
    assert all(blobs.get_bytes(s) == d for s, d in zip(shas, data))
    assert len(flushes) == 2  # file contents before the renames, the renames before returning
    assert not list(blobs.root.rglob(".tmp-*"))


def test_put_many_failing_part_way_leaves_no_temp_file_or_partial_blob(blobs, monkeypatch):
    real = os.replace
    calls = {"n": 0}

    def fail_second(src, dst):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk went away")
        real(src, dst)
    monkeypatch.setattr(os, "replace", fail_second)
    with pytest.raises(OSError):
        blobs.put_many([b"a" * 10, b"b" * 10, b"c" * 10])
    assert not list(blobs.root.rglob(".tmp-*"))
    for sha in blobs.iter_shas():  # whatever landed is complete
        assert hashlib.sha256(blobs.path(sha).read_bytes()).hexdigest() == sha
