"""``incseg doctor``: check a store's consistency and, on request, repair what is safe to repair.

Checks: SQLite ``PRAGMA integrity_check`` and ``foreign_key_check``; every blob a row points at
(images, mask revisions, checkpoint manifests and shards) exists (and, with ``verify_hashes``, still
has the sha256 it is named by); blobs no row points at (orphans of a crash between writing a blob and
its row) and ``.tmp-*`` files of interrupted blob writes; QUEUED/RUNNING jobs whose process is gone;
TRAINING versions whose job is not running any more (or, trained inline without a job row, that
are older than a day); an active version that is not READY; imports whose process died (dead write
leases) and temp folders left by killed exports, restores and dataset-zip imports.

Live work is never touched: blobs younger than the grace period (``DEFAULT_GRACE_S``) are not called
orphans, and while an import, upload or job is running (a live lease or job) no blob is, since a
running import writes all its blobs before the rows that use them. ``repair_store`` is refused while
any of them runs, and plain ``check_store`` says so instead of asking for a repair.

Repair only ever deletes unreferenced files and changes statuses: orphan blobs, temp files and stale
temp folders are removed, stale jobs become INTERRUPTED, TRAINING versions of dead jobs FAILED, dead
leases are released, a bad active-version setting is cleared. A blob a row points at, an image, a
mask or a version row is never deleted; a missing or corrupt blob is reported for the user to
restore from a backup.
"""
from __future__ import annotations

import hashlib
import logging
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from ..domain.enums import VersionStatus
from ..domain.errors import ConflictError
from ..storage.orm import MaskRow, utcnow
from ..storage.repositories import ImageRepo, JobRepo, SettingsRepo, VersionRepo
from . import jobs, leases
from .context import AppContext, referenced_shas
from .tempdirs import DATASET_PREFIX, EXPORT_PREFIX, remove_tree, stale_temp_dirs
from .features import FOLDER as FEATURE_CACHE
from .versions import ACTIVE_KEY

log = logging.getLogger(__name__)

TEMP_PREFIX = ".tmp-"
INLINE_STALE_S = 24 * 3600  # a TRAINING version without a job row is presumed dead after this long
DEFAULT_GRACE_S = 15 * 60.0  # files younger than this may belong to a write in progress: never touched


@dataclass
class DoctorReport:
    """What ``check_store`` found; ``ok`` when nothing needs attention."""

    integrity: list[str] = field(default_factory=list)  # SQLite problems ("ok" is not listed)
    missing_blobs: list[str] = field(default_factory=list)  # "image 3 (a.png): blob ab12..."
    corrupt_blobs: list[str] = field(default_factory=list)  # blobs whose content no longer matches the name
    orphan_blobs: list[str] = field(default_factory=list)  # sha256 of unreferenced blobs
    temp_files: list[Path] = field(default_factory=list)  # leftovers of interrupted writes
    stale_jobs: list[int] = field(default_factory=list)
    dead_versions: list[int] = field(default_factory=list)  # TRAINING versions whose job is not running
    bad_active: str | None = None
    resumable: list[Path] = field(default_factory=list)  # per-epoch training states kept for resume
    live_work: list[str] = field(default_factory=list)  # imports/uploads/jobs running now (not problems)
    recent_blobs: int = 0  # unreferenced blobs left alone: young, or written while live work runs
    dead_leases: list[str] = field(default_factory=list)  # imports whose process died part-way
    stale_dirs: list[Path] = field(default_factory=list)  # temp folders of killed exports/restores/imports
    repaired: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.integrity or self.missing_blobs or self.corrupt_blobs or self.orphan_blobs
                    or self.temp_files or self.stale_jobs or self.dead_versions or self.bad_active
                    or self.dead_leases or self.stale_dirs)

    @property
    def busy(self) -> bool:
        """Work is running: repair is refused until it ends."""
        return bool(self.live_work)

    def lines(self) -> list[str]:
        """Human lines, one per finding, then what was repaired."""
        out = [f"database: {p}" for p in self.integrity]
        out += [f"missing blob: {m}" for m in self.missing_blobs]
        out += [f"corrupt blob: {m}" for m in self.corrupt_blobs]
        out += [f"orphan blob (no row uses it): {sha}" for sha in self.orphan_blobs]
        out += [f"temp file of an interrupted write: {p}" for p in self.temp_files]
        out += [f"job {j} is queued/running but its process is gone" for j in self.stale_jobs]
        out += [f"version {v} is still 'training' but its job is not running" for v in self.dead_versions]
        out += [f"active version: {self.bad_active}"] if self.bad_active else []
        out += [f"import stopped part-way (its process is gone): {d}; run it again to add the rest"
                for d in self.dead_leases]
        out += [f"temp folder left by a killed process: {p}" for p in self.stale_dirs]
        out += [f"running now: {w}" for w in self.live_work]
        if self.recent_blobs:
            out.append(f"{self.recent_blobs} unreferenced blob(s) left alone: written in the last "
                       "minutes or while work is running (a write in progress)")
        out += [f"resumable training state kept: {p}" for p in self.resumable]
        out += [f"repaired: {r}" for r in self.repaired]
        return out


def database_problems(db_path: Path) -> list[str]:
    """SQLite ``integrity_check`` and ``foreign_key_check`` findings of a database file (empty = ok).

    Works on a file too damaged for the ORM or the migrations to open."""
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        return [f"{db_path} cannot be opened ({exc})"]
    try:
        rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
        problems = [r for r in rows if r != "ok"]
        problems += [f"row {rowid} of {table} points at a missing {parent} row"
                     for table, rowid, parent, _ in con.execute("PRAGMA foreign_key_check")]
    except sqlite3.DatabaseError as exc:
        problems = [f"{db_path} is damaged ({exc}); restore it with import-store"]
    finally:
        con.close()
    return problems


def _missing(ctx: AppContext, verify_hashes: bool, report: DoctorReport) -> None:
    with ctx.unit_of_work() as s:
        owners = [(f"image {i} ({name})", sha) for i, name, sha in ImageRepo(s).owners()]
        owners += [(f"mask revision {mid} of image {img}", sha)
                   for mid, img, sha in s.execute(select(MaskRow.id, MaskRow.image_id, MaskRow.sha256))]
        owners += [(f"confidence map of mask revision {mid} of image {img}", sha)
                   for mid, img, sha in s.execute(select(MaskRow.id, MaskRow.image_id, MaskRow.confidence_sha256)
                                                  .where(MaskRow.confidence_sha256.is_not(None)))]
        vrepo = VersionRepo(s)
        for v in vrepo.list():
            shas = vrepo.blob_refs(v.id) | ({v.checkpoint_sha256} if v.checkpoint_sha256 else set())
            owners += [(f"checkpoint of version {v.id} ({v.name})", sha) for sha in sorted(shas)]
    seen: set[str] = set()
    for owner, sha in owners:
        if sha in seen:
            continue
        seen.add(sha)
        path = ctx.blobs.path(sha)
        if not path.is_file():
            report.missing_blobs.append(f"{owner}: blob {sha}")
        elif verify_hashes and _sha256(path) != sha:
            report.corrupt_blobs.append(f"{owner}: blob {sha}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files(ctx: AppContext, report: DoctorReport, grace_s: float) -> None:
    with ctx.unit_of_work() as s:
        used = referenced_shas(s)
    cutoff = time.time() - grace_s
    for sha in ctx.blobs.iter_shas():
        if sha in used:
            continue
        if report.busy or _mtime(ctx.blobs.path(sha)) > cutoff:
            report.recent_blobs += 1
        else:
            report.orphan_blobs.append(sha)
    temp = sorted(p for p in ctx.blobs.root.rglob(f"{TEMP_PREFIX}*") if p.is_file())
    work = ctx.root / "work"
    if work.is_dir():
        report.resumable = sorted(p for p in work.iterdir() if p.is_dir() and p.name != FEATURE_CACHE)
        temp += sorted(p for p in work.rglob(".*.tmp") if p.is_file())
    report.temp_files = [p for p in temp if not report.busy and _mtime(p) <= cutoff]
    report.stale_dirs = (stale_temp_dirs(ctx.root / "tmp", f"{EXPORT_PREFIX}*", grace_s)
                         + stale_temp_dirs(Path(tempfile.gettempdir()), f"{DATASET_PREFIX}*", grace_s)
                         + stale_temp_dirs(ctx.root.parent, ".*.import-p*", grace_s))  # restores beside it


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile
        return time.time()


def _live_work(ctx: AppContext, report: DoctorReport) -> None:
    """Running imports/uploads (live leases) and jobs of live processes; dead leases."""
    stale = {j.id for j in jobs.find_stale_jobs(ctx)}
    report.live_work = [f"job {j.id} ({j.kind.value}, {j.status.value})"
                        for j in jobs.list_jobs(ctx, active_only=True) if j.id not in stale]
    for lease in leases.list_leases(ctx):
        (report.live_work if leases.is_live(lease) else report.dead_leases).append(leases.describe(lease))


def _statuses(ctx: AppContext, report: DoctorReport) -> None:
    report.stale_jobs = [j.id for j in jobs.find_stale_jobs(ctx)]
    with ctx.unit_of_work() as s:
        jrepo, vrepo = JobRepo(s), VersionRepo(s)
        for v in vrepo.list(VersionStatus.TRAINING):
            job_id = vrepo.job_id(v.id)
            job = jrepo.get(job_id) if job_id is not None else None
            if job is None:  # trained inline (no job row): only an old one is surely dead
                if v.created_at is not None and v.created_at < utcnow() - timedelta(seconds=INLINE_STALE_S):
                    report.dead_versions.append(v.id)
            elif job.status.finished or job.id in report.stale_jobs:
                report.dead_versions.append(v.id)
        active = SettingsRepo(s).get(ACTIVE_KEY)
        if active is not None:
            version = vrepo.get(int(active)) if active.isdigit() else None
            if version is None or version.status != VersionStatus.READY:
                state = version.status.value if version else "missing"
                report.bad_active = f"setting points at version {active}, which is {state}"


def check_store(ctx: AppContext, verify_hashes: bool = False, grace_s: float = DEFAULT_GRACE_S) -> DoctorReport:
    """Inspect the store (nothing is written); ``verify_hashes`` re-reads every referenced blob;
    files younger than ``grace_s`` seconds are not reported (a write may be about to use them)."""
    report = DoctorReport(integrity=database_problems(ctx.db.path) if ctx.db.path else [])
    if any("damaged" in p or "cannot be opened" in p for p in report.integrity):
        return report  # the ORM cannot be trusted on a malformed file
    _live_work(ctx, report)
    _missing(ctx, verify_hashes, report)
    _files(ctx, report, grace_s)
    _statuses(ctx, report)
    return report


def repair_store(ctx: AppContext, grace_s: float = DEFAULT_GRACE_S, verify_hashes: bool = False) -> DoctorReport:
    """Check, then repair what is safe (see the module docstring); returns the report of the check
    with ``repaired`` filled in. Refused (ConflictError) while an import, upload or job is running;
    files younger than ``grace_s`` seconds are kept."""
    report = check_store(ctx, verify_hashes, grace_s)
    if report.busy:
        raise ConflictError(f"{report.live_work[0]} is running in a live process; run the repair when it has "
                            "finished or been cancelled (nothing was changed)")
    if report.integrity:
        report.repaired.append("nothing: the database itself is damaged; restore it with import-store")
        return report
    for job in jobs.interrupt_stale_jobs(ctx):
        report.repaired.append(f"job {job.id} marked interrupted")
    for lease in leases.release_dead_leases(ctx):
        report.repaired.append(f"lease {lease.id} of a dead import released ({lease.done:,} of {lease.total:,} "
                               "item(s) had been committed)")
    _fail_dead_versions(ctx, report)
    cutoff = time.time() - grace_s
    with ctx.unit_of_work(write=True, exclusive=True) as s:  # no row can start using an orphan meanwhile
        if leases.live_leases(ctx):
            raise ConflictError("an import started while the repair was checking; run the repair when it has "
                                "finished")
        used = referenced_shas(s)
        for sha in report.orphan_blobs:
            path = ctx.blobs.path(sha)
            if sha not in used and path.is_file() and path.stat().st_mtime <= cutoff:
                ctx.blobs.delete(sha)
                report.repaired.append(f"orphan blob {sha} deleted")
    for path in report.temp_files:
        if path.is_file() and path.stat().st_mtime <= cutoff:
            path.unlink(missing_ok=True)
            report.repaired.append(f"temp file {path.name} deleted")
    for folder in report.stale_dirs:
        if remove_tree(folder):
            report.repaired.append(f"temp folder {folder} deleted")
    log.info("doctor repaired %d thing(s) in %s", len(report.repaired), ctx.root)
    return report


def _fail_dead_versions(ctx: AppContext, report: DoctorReport) -> None:
    """TRAINING versions whose job ended or vanished become FAILED (``interrupt_stale_jobs`` already did
    this for the jobs it interrupted); an active-version setting on a non-READY version is cleared."""
    with ctx.unit_of_work(write=True) as s:
        vrepo = VersionRepo(s)
        for vid in report.dead_versions:
            version = vrepo.get(vid)
            if version is not None and version.status == VersionStatus.TRAINING:
                vrepo.update(vid, status=VersionStatus.FAILED, finished_at=utcnow())
            report.repaired.append(f"version {vid} marked failed")
        if report.bad_active:
            SettingsRepo(s).set(ACTIVE_KEY, None)
            report.repaired.append("active-version setting cleared")
