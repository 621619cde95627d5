"""``doctor``: each kind of damage is found, ``--repair`` fixes what is safe and never deletes data."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from incseg_app.cli import cli
from incseg_app.domain import JobKind, JobStatus, VersionStatus
from incseg_app.domain.errors import ConflictError
from incseg_app.services import AppContext, classes, doctor, images, jobs, masks, versions
from incseg_app.storage.orm import JobRow
from store_helpers import busy, image_bytes, snapshot, store  # noqa: F401



def age(*paths: Path, seconds: float = 3600) -> None:
    """Make files look written ``seconds`` ago (doctor leaves younger ones alone: a write may be running)."""
    when = time.time() - seconds
    for path in paths:
        os.utime(path, (when, when))


def _dead_owner() -> str:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}"


def _job_of_dead_process(ctx: AppContext) -> int:
    job = jobs.create_job(ctx, JobKind.TRAIN)
    jobs.start_job(ctx, job.id)
    with ctx.unit_of_work(write=True) as s:
        s.get(JobRow, job.id).owner = _dead_owner()
    return job.id


def test_clean_store_is_ok_and_repair_changes_nothing(busy):
    assert doctor.check_store(busy, verify_hashes=True).ok
    before = snapshot(busy)
    assert doctor.repair_store(busy).repaired == []
    assert snapshot(busy) == before


def test_orphans_temp_files_stale_jobs_and_dead_versions_are_repaired(busy):
    orphan = busy.blobs.put_bytes(b"written before a crash, no row points at it")
    temp = busy.blobs.root / "ab" / ".tmp-half-written"
    temp.parent.mkdir(exist_ok=True)
    temp.write_bytes(b"half")
    job_id = _job_of_dead_process(busy)
    version = versions.create_version(busy, "v", [0, 1], "finetune", job_id=job_id)
    resume = busy.root / "work" / "train-0123456789abcdef"
    resume.mkdir(parents=True)
    (resume / "step_state.safetensors").write_bytes(b"epoch 3 state")
    half_saved = resume / ".step_state.safetensors.tmp"
    half_saved.write_bytes(b"epoch 4 state, half written")
    age(busy.blobs.path(orphan), temp, half_saved)
    report = doctor.check_store(busy)
    assert (report.orphan_blobs, report.temp_files) == ([orphan], [temp, half_saved])
    assert report.resumable == [resume]
    assert report.stale_jobs == [job_id] and report.dead_versions == [version.id] and not report.ok
    before_rows = snapshot(busy)[0]

    fixed = doctor.repair_store(busy)
    assert f"orphan blob {orphan} deleted" in fixed.repaired and not temp.exists() and not half_saved.exists()
    assert (resume / "step_state.safetensors").read_bytes() == b"epoch 3 state"  # resume state is kept
    assert not busy.blobs.exists(orphan)
    assert jobs.get_job(busy, job_id).status == JobStatus.INTERRUPTED
    assert versions.get_version(busy, version.id).status == VersionStatus.FAILED
    rows = snapshot(busy)[0]
    for table in ("images", "masks", "classes", "image_tags", "mask_classes"):
        assert rows[table] == before_rows[table]  # user data untouched
    assert doctor.check_store(busy).ok


def test_missing_and_corrupt_blobs_are_reported_never_deleted(busy):
    image = images.get_image(busy, 1)
    mask = masks.head_mask(busy, 1)
    busy.blobs.path(mask.sha256).write_bytes(b"bit rot")
    busy.blobs.path(image.sha256).unlink()
    report = doctor.check_store(busy, verify_hashes=True)
    assert report.missing_blobs == [f"image 1 (seed.png): blob {image.sha256}"]
    assert report.corrupt_blobs == [f"mask revision {mask.id} of image 1: blob {mask.sha256}"]
    before = snapshot(busy)
    doctor.repair_store(busy)
    assert snapshot(busy) == before  # rows pointing at lost data are kept for the user to restore


def test_young_files_are_kept_and_live_jobs_block_repair(busy):
    orphan = busy.blobs.put_bytes(b"an import in another process is about to use me")
    assert doctor.repair_store(busy, grace_s=3600).repaired == []
    assert busy.blobs.exists(orphan)
    live = jobs.create_job(busy, JobKind.TRAIN)
    jobs.start_job(busy, live.id)  # owned by this (live) process
    with pytest.raises(ConflictError, match=f"job {live.id} .* live process"):
        doctor.repair_store(busy)


def test_active_setting_on_a_non_ready_version_is_cleared(busy):
    job = jobs.create_job(busy, JobKind.TRAIN)
    jobs.fail_job(busy, job.id, "out of memory")
    version = versions.create_version(busy, "half", [0, 1], "finetune", job_id=job.id)
    inline = versions.create_version(busy, "inline, maybe still training", [0, 1], "finetune")
    from incseg_app.storage.repositories import SettingsRepo
    with busy.unit_of_work(write=True) as s:
        SettingsRepo(s).set(versions.ACTIVE_KEY, str(version.id))
    assert "is training" in doctor.check_store(busy).bad_active
    doctor.repair_store(busy)
    assert versions.active_version(busy) is None
    assert versions.get_version(busy, version.id).status == VersionStatus.FAILED
    assert versions.get_version(busy, inline.id).status == VersionStatus.TRAINING  # could be running in-process


def test_cli_doctor_exit_codes(busy):
    root = str(busy.root)
    run = CliRunner().invoke
    clean = run(cli, ["doctor", "--storage", root])
    assert clean.exit_code == 0 and "is consistent" in clean.output
    orphan = busy.blobs.put_bytes(b"orphan")
    assert run(cli, ["doctor", "--storage", root]).exit_code == 0  # young: maybe a write in progress
    age(busy.blobs.path(orphan))
    found = run(cli, ["doctor", "--storage", root])
    assert found.exit_code == 1 and f"orphan blob (no row uses it): {orphan}" in found.output
    fixed = run(cli, ["doctor", "--repair", "--storage", root])
    assert fixed.exit_code == 0 and "repaired: orphan blob" in fixed.output
    assert run(cli, ["doctor", "--storage", root]).exit_code == 0


def test_damaged_database_file_is_reported(tmp_path: Path):
    db = tmp_path / "bad.db"
    import sqlite3
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.executemany("INSERT INTO t VALUES (?)", [(str(i) * 100,) for i in range(2000)])
    con.commit()
    con.close()
    data = bytearray(db.read_bytes())
    data[4096 * 3: 4096 * 3 + 200] = b"\xff" * 200  # trash part of a b-tree page
    db.write_bytes(bytes(data))
    [problem] = doctor.database_problems(db)
    assert "is damaged" in problem and "malformed" in problem
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    (store_dir / "incseg.db").write_bytes(db.read_bytes())
    result = CliRunner().invoke(cli, ["doctor", "--storage", str(store_dir)])
    assert result.exit_code == 1 and "database: " in result.output and "malformed" in result.output


def test_temp_folders_are_stale_only_when_their_process_is_gone(busy, tmp_path, monkeypatch):
    """Named ``…-p<pid>-…``: stale once that process is gone, whatever its age; unnamed: once older than
    the grace period. A live process's folder and a young unnamed one are left alone."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead_pid = _dead_owner().rpartition(":")[2]
    folders = {"dead export": busy.root / "tmp" / f"incseg-export-p{dead_pid}-ab12",
               "live export": busy.root / "tmp" / f"incseg-export-p{os.getpid()}-cd34",
               "dead dataset": tmp_path / f"incseg-dataset-p{dead_pid}-ef56",
               "old unnamed dataset": tmp_path / "incseg-dataset-x9",
               "young unnamed dataset": tmp_path / "incseg-dataset-y8",
               "dead restore": busy.root.parent / f".other.import-p{dead_pid}-gh78"}
    for folder in folders.values():
        (folder / "blobs").mkdir(parents=True)
        (folder / "incseg.db").write_bytes(b"a snapshot")
    age(folders["old unnamed dataset"])
    report = doctor.check_store(busy)
    stale = {name for name, folder in folders.items() if folder in report.stale_dirs}
    assert stale == {"dead export", "dead dataset", "old unnamed dataset", "dead restore"} and not report.ok
    doctor.repair_store(busy)
    assert {name for name, folder in folders.items() if folder.exists()} == {"live export", "young unnamed dataset"}
