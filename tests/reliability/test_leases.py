"""Repair that cannot hurt live work (issue 15 #3, #5): an import in another process holds a lease
that keeps ``doctor --repair`` away; a killed import leaves whole batches and a dead lease that doctor
reports; temp folders of killed exports, restores and dataset-zip imports are found and removed."""
from __future__ import annotations

import json
import os
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from child_helpers import kill_when, query, spawn
from incseg_app.cli import cli
from incseg_app.domain.errors import ConflictError
from incseg_app.services import StoreSettings, backup, doctor, leases, open_store
from incseg_app.services.ml_settings import tiny_settings
from store_helpers import add_shapes_project, image_bytes, label_png, png_bytes


def _folder(path: Path, n: int, side: int = 48) -> Path:
    path.mkdir()
    rng = np.random.default_rng(0)
    for k in range(n):
        (path / f"img{k:03d}.png").write_bytes(png_bytes(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)))
    return path


def _store(tmp_path: Path) -> Path:
    ctx = open_store(tmp_path / "store", StoreSettings(), tiny_settings())
    add_shapes_project(ctx, (0,), n_train=0, n_val=0)
    ctx.close()
    return tmp_path / "store"


def _blob_files(store: Path) -> int:
    return sum(1 for p in (store / "blobs").rglob("*") if p.is_file() and not p.name.startswith("."))


def test_doctor_leaves_a_running_import_alone(tmp_path):
    """Issue 15 #3: with the old default grace of 0, ``doctor --repair`` deleted the fresh blobs of an
    import running in another process, and plain ``doctor`` told the user to run ``--repair``."""
    store = _store(tmp_path)
    proc = spawn("import_slow", store, _folder(tmp_path / "src", 40))
    try:
        deadline = time.monotonic() + 120
        while not (query(store / "incseg.db", "SELECT count(*) FROM leases") == [(1,)] and _blob_files(store) >= 8):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()[-2000:]
            time.sleep(0.05)
        ctx = open_store(store, StoreSettings(), tiny_settings())
        try:
            report = doctor.check_store(ctx, grace_s=0)  # even with no grace: the lease says a write is running
            assert report.ok and report.busy and report.orphan_blobs == [] and report.recent_blobs >= 8
            assert any(line.startswith("running now: import of 40 image file(s)") for line in report.lines())
            with pytest.raises(ConflictError, match="import of 40 image file.* is running in a live process"):
                doctor.repair_store(ctx, grace_s=0)
            ran = CliRunner().invoke(cli, ["doctor", "--repair", "--grace", "0", "--storage", str(store)])
            assert ran.exit_code == 2 and "run the repair when it has finished" in ran.output
        finally:
            ctx.close()
        assert proc.wait(timeout=240) == 0 and "DONE" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    ctx = open_store(store, StoreSettings(), tiny_settings())
    try:
        assert query(ctx.db.path, "SELECT count(*) FROM images") == [(40,)]
        assert doctor.check_store(ctx, verify_hashes=True, grace_s=0).ok
    finally:
        ctx.close()


def test_a_killed_batched_import_leaves_whole_batches_and_a_dead_lease(tmp_path):
    """SIGKILL while one import of 100 images commits its batches of 10: only whole batches are
    visible, the lease row says how many, doctor reports it, repair releases it, re-running completes."""
    store = _store(tmp_path)
    src = _folder(tmp_path / "src", 100, side=24)
    proc = spawn("import_batched", store, src)
    kill_when(proc, lambda: query(store / "incseg.db", "SELECT count(*) FROM images") >= [(20,)])
    n = query(store / "incseg.db", "SELECT count(*) FROM images")[0][0]
    assert n % 10 == 0 and n < 100
    assert query(store / "incseg.db", "SELECT done, total FROM leases") == [(n, 100)]
    ctx = open_store(store, StoreSettings(), tiny_settings())
    try:
        report = doctor.check_store(ctx)
        assert not report.ok and not report.busy
        assert report.dead_leases == [f"import of 100 image file(s) (lease 1, process {_owner(store)}): "
                                      f"{n} of 100 item(s) committed"]
        said = CliRunner().invoke(cli, ["doctor", "--storage", str(store)])
        assert said.exit_code == 1 and "import stopped part-way" in said.output and "--repair" in said.output
        fixed = doctor.repair_store(ctx, grace_s=0)
        assert any(r.startswith("lease 1 of a dead import released") for r in fixed.repaired)
        assert doctor.check_store(ctx, grace_s=0).ok
        from incseg_app.services.images import import_images
        assert len(import_images(ctx, [src], tags=["red square"]).imported) == 100 - n
    finally:
        ctx.close()


def _owner(store: Path) -> str:
    return query(store / "incseg.db", "SELECT owner FROM leases")[0][0] if query(
        store / "incseg.db", "SELECT owner FROM leases") else "?"


def test_leases_of_this_process_are_live_and_released_on_error(tmp_path):
    ctx = open_store(tmp_path / "s", StoreSettings())
    try:
        with pytest.raises(RuntimeError), leases.hold_lease(ctx, "image import", "test", 5, beat_s=0.05) as held:
            assert [lease.id for lease in leases.live_leases(ctx)] == [held.lease.id]
            time.sleep(0.2)  # a few heartbeats
            beat = leases.list_leases(ctx)[0].heartbeat_at
            assert beat > held.lease.heartbeat_at
            raise RuntimeError("the import failed")
        assert leases.list_leases(ctx) == []
    finally:
        ctx.close()


def _dataset_zip(path: Path, n: int) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("classes.json", json.dumps({"classes": ["background", "car"], "background_index": 0}))
        for k in range(n):
            zf.writestr(f"images/{k}.png", image_bytes(64, 48, k))
            zf.writestr(f"labels/{k}.png", label_png(np.ones((48, 64), np.uint8)))
    return path


def _kill_leaving(proc, pattern: Path) -> Path:
    """SIGKILL ``proc`` while a temp folder matching ``pattern`` (a glob under its parent) exists."""
    found: list[Path] = []

    def exists() -> bool:
        found[:] = [p for p in pattern.parent.glob(pattern.name) if any(p.rglob("*"))]
        return bool(found)
    kill_when(proc, exists)
    leftovers = list(pattern.parent.glob(pattern.name))
    assert leftovers, "the temp folder was removed before the kill landed"
    return leftovers[0]


@pytest.mark.slow
def test_temp_folders_of_killed_exports_restores_and_dataset_imports_are_removed(tmp_path, monkeypatch):
    """Issue 15 #5: after a crash ``incseg-export-*`` (a full database copy), ``incseg-dataset-*`` and
    ``.TARGET.import-*`` stayed for ever, unreported. Each is left by a real SIGKILL here."""
    systmp = tmp_path / "systmp"
    systmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(systmp))  # the children's temp folder
    monkeypatch.setattr(tempfile, "tempdir", str(systmp))  # and this process's (doctor looks there)
    store = _store(tmp_path)
    ctx = open_store(store, StoreSettings(), tiny_settings())
    big = np.random.default_rng(0).integers(0, 255, (400, 400, 3), dtype=np.uint8)
    from incseg_app.services import images
    images.import_uploads(ctx, [(f"{k}.png", png_bytes(np.roll(big, k, 0))) for k in range(60)])
    archive = backup.export_store(ctx, tmp_path / "backup.zip").path
    ctx.close()
    out = tmp_path / "exports"
    out.mkdir()
    left = [_kill_leaving(spawn("export", store, out), store / "tmp" / "incseg-export-p*"),
            _kill_leaving(spawn("restore", tmp_path, archive), tmp_path / ".restored-*.import-p*"),
            _kill_leaving(spawn("dataset_zip", store, _dataset_zip(tmp_path / "ds.zip", 150)),
                          systmp / "incseg-dataset-p*")]
    ctx = open_store(store, StoreSettings(), tiny_settings())
    try:
        report = doctor.check_store(ctx)
        assert sorted(report.stale_dirs) == sorted(left) and not report.ok
        target = tmp_path / left[1].name[1:].split(".import-")[0]  # the restore that was killed ...
        backup.import_store(archive, target)  # ... run again: it removes its leftover first
        assert not left[1].exists() and (target / "incseg.db").is_file()
        mine = store / "tmp" / f"incseg-export-p{os.getpid()}-live"
        mine.mkdir()  # a live process's folder is never touched
        doctor.repair_store(ctx)
        assert not any(p.exists() for p in left) and mine.is_dir()
        assert doctor.check_store(ctx).ok
    finally:
        ctx.close()
