"""``export-store`` / ``import-store``: a whole-store archive that restores exactly, and that refuses
every tampered archive before anything becomes visible in the target."""
from __future__ import annotations

import json
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from incseg_app.cli import cli
from incseg_app.domain.errors import BadFileError, ValidationError
from incseg_app.services import AppContext, StoreSettings, backup, classes, doctor, images, masks, open_store
from store_helpers import image_bytes, snapshot, store  # noqa: F401


@pytest.fixture
def busy(store: AppContext) -> AppContext:
    classes.create_class(store, "<b>car</b>")
    for n in range(3):
        rec = images.import_uploads(store, [(f"im{n}.png", image_bytes(16, 12, n))], ["<b>car</b>"]).imported[0]
        masks.save_mask(store, rec.id, np.full((12, 16), n % 2, np.uint8))
    return store


def _restored(archive: Path, target: Path) -> AppContext:
    backup.import_store(archive, target)
    return open_store(target, StoreSettings())


def test_export_then_import_restores_every_row_and_blob(busy, tmp_path):
    info = backup.export_store(busy, tmp_path / "b.zip")
    assert info.blobs == 5 == len(set(busy.blobs.iter_shas()))  # 3 images + 2 distinct masks (equal masks share)
    ctx = _restored(tmp_path / "b.zip", tmp_path / "restored")
    try:
        assert snapshot(ctx) == snapshot(busy)
        assert doctor.check_store(ctx, verify_hashes=True).ok
    finally:
        ctx.close()


def test_export_snapshot_is_consistent_while_a_writer_runs(busy, tmp_path):
    stop = threading.Event()

    def write() -> None:
        n = 100
        while not stop.is_set():
            images.import_uploads(busy, [(f"w{n}.png", image_bytes(8, 8, n))])
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for k in range(3):
            backup.export_store(busy, tmp_path / f"live{k}.zip")
            ctx = _restored(tmp_path / f"live{k}.zip", tmp_path / f"r{k}")
            try:
                report = doctor.check_store(ctx)
                assert report.integrity == [] and report.missing_blobs == [] and report.orphan_blobs == []
            finally:
                ctx.close()
    finally:
        stop.set()
        writer.join()


def _rewrite(src: Path, dst: Path, change) -> Path:
    """Copy the archive, letting ``change(name, data)`` return new bytes (or None to drop the member);
    ``change("+", None)`` may return extra (name, data) members."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info.filename, data)
        for name, data in change("+", None) or []:
            zout.writestr(name, data)
    return dst


def _blob_member(archive: Path) -> str:
    with zipfile.ZipFile(archive) as zf:
        return next(n for n in zf.namelist() if n.startswith("blobs/"))


def _manifest_plus(name: str, data: bytes):
    def edit(member, raw):
        if member == "manifest.json":
            m = json.loads(raw)
            m["files"][name] = {"sha256": "0" * 64, "size": len(data)}
            return json.dumps(m).encode()
        if member == "+":
            return [(name, data)]
        return raw
    return edit


TAMPER = {
    "wrong-hash": (lambda blob: lambda n, d: (b"X" + d[1:] if n == blob else d) if n != "+" else None,
                   "sha256 does not match the manifest"),
    "missing-member": (lambda blob: lambda n, d: None if n == blob else d, "listed in the manifest are missing"),
    "unlisted-member": (lambda blob: lambda n, d: [("blobs/00/" + "1" * 62, b"x")] if n == "+" else d,
                        "not listed in the manifest"),
    "zip-slip": (lambda blob: _manifest_plus("../../evil.txt", b"evil"), r"'\.\./' are not allowed"),
    "absolute-path": (lambda blob: _manifest_plus("/tmp/evil.txt", b"evil"), "absolute file names"),
    "unexpected-name": (lambda blob: _manifest_plus("run_me.sh", b"rm -rf /"), "unexpected entry"),
    "not-a-store": (lambda blob: lambda n, d: None if n == "manifest.json" else (None if n == "+" else d),
                    "no manifest.json"),
}


@pytest.mark.parametrize("case", sorted(TAMPER))
def test_tampered_archives_are_refused_and_nothing_is_visible(busy, tmp_path, case):
    good = backup.export_store(busy, tmp_path / "good.zip").path
    make, message = TAMPER[case]
    bad = _rewrite(good, tmp_path / "bad.zip", make(_blob_member(good)))
    target = tmp_path / "out" / "restored"
    with pytest.raises(BadFileError, match=message):
        backup.import_store(bad, target)
    assert not target.exists()
    assert list((tmp_path / "out").iterdir()) == []  # the temp folder is gone too
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()


def _with_db(db_bytes: bytes):
    """Archive edit: replace incseg.db (and its manifest entry, so only the database check can object)."""
    import hashlib

    def edit(member, raw):
        if member == "incseg.db":
            return db_bytes
        if member == "manifest.json":
            m = json.loads(raw)
            m["files"]["incseg.db"] = {"sha256": hashlib.sha256(db_bytes).hexdigest(), "size": len(db_bytes)}
            return json.dumps(m).encode()
        return None if member == "+" else raw
    return edit


def test_database_from_a_newer_incseg_or_not_a_database_is_refused(busy, tmp_path):
    import sqlite3

    good = backup.export_store(busy, tmp_path / "good.zip").path
    with zipfile.ZipFile(good) as zf:
        db = tmp_path / "x.db"
        db.write_bytes(zf.read("incseg.db"))
    con = sqlite3.connect(db)
    con.execute("UPDATE alembic_version SET version_num = '9999_future'")
    con.commit()
    con.close()
    for data, message in ((db.read_bytes(), r"schema revision \['9999_future'\] is unknown"),
                          (b"SQLite format 3\x00 but not really" * 50, "not a readable incseg database")):
        bad = _rewrite(good, tmp_path / "bad.zip", _with_db(data))
        with pytest.raises(BadFileError, match=message):
            backup.import_store(bad, tmp_path / "restored")
        assert not (tmp_path / "restored").exists()


def test_non_empty_target_and_non_zip_are_refused(busy, tmp_path):
    good = backup.export_store(busy, tmp_path / "good.zip").path
    target = tmp_path / "full"
    target.mkdir()
    (target / "mine.txt").write_text("user data")
    with pytest.raises(ValidationError, match="is not empty"):
        backup.import_store(good, target)
    assert [p.name for p in target.iterdir()] == ["mine.txt"]
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(BadFileError, match="not a readable zip"):
        backup.import_store(tmp_path / "junk.zip", tmp_path / "t2")
    empty = tmp_path / "empty"
    empty.mkdir()
    backup.import_store(good, empty)  # an existing empty folder is fine
    assert (empty / "incseg.db").is_file()


def test_cli_export_and_import(busy, tmp_path):
    run = CliRunner().invoke
    out = run(cli, ["export-store", str(tmp_path / "c.zip"), "--storage", str(busy.root)])
    assert out.exit_code == 0 and "exported 5 blob(s)" in out.output
    back = run(cli, ["import-store", str(tmp_path / "c.zip"), str(tmp_path / "r")])
    assert back.exit_code == 0 and "restored 5 blob(s)" in back.output
    again = run(cli, ["import-store", str(tmp_path / "c.zip"), str(tmp_path / "r")])
    assert again.exit_code == 2 and "is not empty" in again.output


def _refused_cleanly(archive: Path, parent: Path) -> str:
    """Import ``archive`` into ``parent/restored``: it must fail with a domain error (never another
    exception) and leave nothing in ``parent``; returns the message."""
    from incseg_app.domain.errors import IncsegError

    parent.mkdir(exist_ok=True)
    with pytest.raises(IncsegError) as err:
        backup.import_store(archive, parent / "restored")
    assert list(parent.iterdir()) == []
    return str(err.value)


def _refused_or_exact(archive: Path, parent: Path, original: AppContext) -> str | None:
    """A damaged archive is refused cleanly, or (the bytes hit a field nothing depends on, such as a
    timestamp) restores to exactly the original store; returns the refusal message or None."""
    from incseg_app.domain.errors import IncsegError

    parent.mkdir(exist_ok=True)
    try:
        backup.import_store(archive, parent / "restored")
    except IncsegError as exc:
        assert list(parent.iterdir()) == []
        return str(exc)
    restored = open_store(parent / "restored", StoreSettings())
    try:
        assert snapshot(restored) == snapshot(original)
    finally:
        restored.close()
    return None


def test_damaged_archive_bytes_are_refused_with_a_message(busy, tmp_path):
    """Issue 15 #5: a tampered archive gave an uncaught ``zipfile.BadZipFile`` traceback. Bytes are
    flipped at offsets spread over the whole file (member headers, compressed data, the directory),
    and the file is cut at several lengths: each is refused by name with nothing left behind, or,
    where the flip hit a field no check depends on, restores the exact store."""
    good = backup.export_store(busy, tmp_path / "good.zip").path
    data = good.read_bytes()
    messages = []
    for k, offset in enumerate(np.linspace(0, len(data) - 1, 24).astype(int)):
        flipped = bytearray(data)
        flipped[offset: offset + 4] = bytes(b ^ 0xA5 for b in flipped[offset: offset + 4])
        (tmp_path / "flipped.zip").write_bytes(bytes(flipped))
        messages.append(_refused_or_exact(tmp_path / "flipped.zip", tmp_path / f"f{k}", busy))
    for k, length in enumerate((len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1)):
        (tmp_path / "cut.zip").write_bytes(data[:length])
        messages.append(_refused_cleanly(tmp_path / "cut.zip", tmp_path / f"c{k}"))
    refused = [m for m in messages if m is not None]
    assert len(refused) >= 20 and all(m.startswith(("flipped.zip", "cut.zip")) for m in refused), messages


def test_an_archive_without_a_blob_its_database_needs_is_refused(busy, tmp_path):
    """Issue 15 #5: an archive missing a blob the database needs restored "successfully". Here the
    blob and its manifest line are both gone, so every hash that is left still matches."""
    good = backup.export_store(busy, tmp_path / "good.zip").path
    blob = _blob_member(good)

    def drop(member, raw):
        if member == "manifest.json":
            m = json.loads(raw)
            del m["files"][blob]
            return json.dumps(m).encode()
        return None if member in ("+", blob) else raw
    bad = _rewrite(good, tmp_path / "bad.zip", drop)
    message = _refused_cleanly(bad, tmp_path / "out")
    assert "the archive is incomplete: its database refers to 1 blob(s) it does not hold" in message
    assert blob.replace("/", "")[len("blobs"):] in message


def test_member_sizes_must_match_the_manifest_before_extraction(busy, tmp_path, monkeypatch):
    good = backup.export_store(busy, tmp_path / "good.zip").path
    blob = _blob_member(good)

    def grow(member, raw):
        return None if member == "+" else (raw + bytes(1000) if member == blob else raw)
    written = []
    monkeypatch.setattr(backup, "_extract_verified", lambda *a: written.append(a) or 0)
    message = _refused_cleanly(_rewrite(good, tmp_path / "bad.zip", grow), tmp_path / "out")
    assert f"bad.zip:{blob}: its size in the zip differs from the manifest's" in message and written == []
