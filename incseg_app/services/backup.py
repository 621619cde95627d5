"""Whole-store backups: ``export_store`` writes one zip, ``import_store`` restores it into a new folder.

The archive holds ``incseg.db`` (a consistent snapshot taken with SQLite's online backup API, so a
job writing meanwhile cannot tear it), ``blobs/ab/cdef...`` (every blob the snapshot's rows point at)
and ``manifest.json`` (format, Alembic revision, and the sha256 and size of every other member).

Import trusts nothing in the archive: member names must be exactly the manifest's (no ``../``, no
absolute paths, nothing unlisted), every member's size in the zip directory must be the manifest's and
all of them must fit on the disk before anything is written; every member is extracted into a hidden
temp folder beside the target while its sha256 and size are checked, blobs must be named by their own
hash, the database must pass ``PRAGMA integrity_check`` and every blob it refers to must be in the
archive; only then is the temp folder renamed to the target, so a bad archive leaves nothing visible.
A damaged zip (bad CRC, truncated, altered bytes) is refused with a message naming the archive. The
target must not exist or be an empty folder.

Temp folders (``<store>/tmp/incseg-export-p<pid>-*`` for an export, ``.<target>.import-p<pid>-*``
for a restore) are removed on every exit path; a killed run's are found by ``doctor`` and by the next
restore into the same target.
"""
from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..domain.errors import BadFileError, ValidationError
from ..storage.db import alembic_config, current_revision, make_engine
from .archives import ZIP_READ_ERRORS, open_zip, safe_relative_name
from .context import DB_NAME, AppContext
from .tempdirs import EXPORT_PREFIX, make_temp_dir, remove_tree, stale_temp_dirs, temp_dir

log = logging.getLogger(__name__)

FORMAT = "incseg-store"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_BLOB_MEMBER = re.compile(r"^blobs/([0-9a-f]{2})/([0-9a-f]{62})$")
_CHUNK = 1 << 20
_SHA_QUERIES = ("SELECT sha256 FROM images", "SELECT sha256 FROM masks",
                "SELECT confidence_sha256 FROM masks WHERE confidence_sha256 IS NOT NULL", "SELECT sha256 FROM blob_refs",
                "SELECT checkpoint_sha256 FROM model_versions WHERE checkpoint_sha256 IS NOT NULL")
RESTORE_GRACE_S = 15 * 60.0  # an unnamed leftover restore folder older than this is stale


@dataclass(frozen=True)
class BackupInfo:
    """What an export wrote or an import restored: the archive/folder, blob count and total bytes."""

    path: Path
    blobs: int
    bytes: int
    revision: str | None


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _snapshot_db(db_path: Path, dest: Path) -> set[str]:
    """Copy the live database to ``dest`` with the online backup API; returns the blobs it references."""
    src = sqlite3.connect(db_path, timeout=30)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
        shas = {row[0] for q in _SHA_QUERIES for row in dst.execute(q)}
    finally:
        dst.close()
        src.close()
    return shas


def export_store(ctx: AppContext, out: Path | str) -> BackupInfo:
    """Write the whole store (database snapshot + referenced blobs + manifest) to the zip ``out``.

    The zip is written to a temp name and renamed, so ``out`` is either complete or absent.
    """
    if ctx.db.path is None:
        raise ValidationError(f"export-store backs up SQLite stores; this store's database is {ctx.db.url}: back it "
                              f"up with pg_dump and copy the blob folder {ctx.blobs.root}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with temp_dir(EXPORT_PREFIX, ctx.root / "tmp") as tmp:  # holds a full database copy: owner-only
        db_copy = tmp / DB_NAME
        shas = sorted(_snapshot_db(ctx.db.path, db_copy))
        missing = [sha for sha in shas if not ctx.blobs.exists(sha)]
        if missing:
            raise ValidationError(f"the store is missing {len(missing)} blob(s) (first {missing[0]}); "
                                  "run `incseg doctor` before exporting")
        engine = make_engine(db_copy)
        try:
            revision = current_revision(engine)
        finally:
            engine.dispose()
        files = {DB_NAME: (_sha256_file(db_copy), db_copy.stat().st_size)}
        files.update({f"blobs/{sha[:2]}/{sha[2:]}": (sha, ctx.blobs.path(sha).stat().st_size) for sha in shas})
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "alembic_revision": revision,
                    "files": {name: {"sha256": h, "size": n} for name, (h, n) in files.items()}}
        partial = tmp / "store.zip"
        with zipfile.ZipFile(partial, "w", allowZip64=True) as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True), zipfile.ZIP_DEFLATED)
            zf.write(db_copy, DB_NAME, zipfile.ZIP_DEFLATED)
            for sha in shas:
                zf.write(ctx.blobs.path(sha), f"blobs/{sha[:2]}/{sha[2:]}", zipfile.ZIP_STORED)
        _move_into_place(partial, out)
    total = sum(n for _, n in files.values())
    log.info("exported store %s to %s (%d blobs, %d bytes)", ctx.root, out, len(shas), total)
    return BackupInfo(out, len(shas), total, revision)


def _move_into_place(partial: Path, out: Path) -> None:
    """Rename the finished zip to ``out`` (copied beside it first when they are on different disks),
    so ``out`` is complete or absent."""
    try:
        os.replace(partial, out)
        return
    except OSError:  # another file system: copy beside the target, then rename there
        pass
    beside = make_temp_dir(f".{out.name}.partial-", out.parent)
    try:
        shutil.copyfile(partial, beside / out.name)
        os.replace(beside / out.name, out)
    finally:
        shutil.rmtree(beside, ignore_errors=True)


def _read_manifest(zf: zipfile.ZipFile, name: str) -> dict[str, dict]:
    try:
        info = zf.getinfo(MANIFEST)
    except KeyError:
        raise BadFileError(name, f"no {MANIFEST}: not an incseg store archive") from None
    if info.file_size > 1 << 30:
        raise BadFileError(name, f"{MANIFEST} is {info.file_size / 2**20:,.0f} MiB: not an incseg store archive")
    try:
        raw = json.loads(zf.read(info).decode("utf-8"))
    except ZIP_READ_ERRORS as exc:
        raise BadFileError(name, f"{MANIFEST} cannot be read: the archive is damaged ({exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadFileError(name, f"{MANIFEST} is not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT or not isinstance(raw.get("files"), dict):
        raise BadFileError(name, "not an incseg store archive (wrong manifest format)")
    if int(raw.get("format_version", 0)) > FORMAT_VERSION:
        raise BadFileError(name, f"archive format {raw['format_version']} is newer than this incseg understands")
    return raw["files"]


def _check_names(zf: zipfile.ZipFile, files: dict[str, dict], name: str) -> list[zipfile.ZipInfo]:
    """Every member is a safe, expected name listed in the manifest, and every listed file is present."""
    members = [i for i in zf.infolist() if not i.is_dir() and i.filename != MANIFEST]
    for info in members:
        try:
            clean = safe_relative_name(info.filename)
        except BadFileError as exc:
            raise BadFileError(f"{name}:{info.filename}", exc.reason) from None
        if clean != info.filename or not (clean == DB_NAME or _BLOB_MEMBER.match(clean)):
            raise BadFileError(f"{name}:{info.filename}", "unexpected entry (only incseg.db and blobs/ belong "
                                                           "in a store archive)")
        if clean not in files:
            raise BadFileError(f"{name}:{info.filename}", "entry is not listed in the manifest")
        expected = files[clean]
        if not isinstance(expected, dict) or expected.get("size") != info.file_size:
            raise BadFileError(f"{name}:{info.filename}", "its size in the zip differs from the manifest's "
                                                           "(damaged or altered)")
    present = {i.filename for i in members}
    absent = sorted(set(files) - present)
    if absent:
        raise BadFileError(name, f"{len(absent)} file(s) listed in the manifest are missing, e.g. {absent[0]}")
    if DB_NAME not in present:
        raise BadFileError(name, f"the archive holds no {DB_NAME}")
    return members


def _extract_verified(zf: zipfile.ZipFile, info: zipfile.ZipInfo, expected: dict, dest: Path, name: str) -> int:
    """Stream one member to ``dest``, checking its size and sha256 against the manifest."""
    size = int(expected.get("size", -1))
    digest, written = hashlib.sha256(), 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zf.open(info) as src, dest.open("wb") as out:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                written += len(chunk)
                if written > size:
                    raise BadFileError(f"{name}:{info.filename}", "entry is larger than the manifest says")
                digest.update(chunk)
                out.write(chunk)
    except ZIP_READ_ERRORS as exc:
        raise BadFileError(f"{name}:{info.filename}", f"cannot be read: the archive is damaged or incomplete "
                                                       f"({exc})") from None
    if written != size:
        raise BadFileError(f"{name}:{info.filename}", f"entry is {written} bytes, the manifest says {size}")
    if digest.hexdigest() != expected.get("sha256"):
        raise BadFileError(f"{name}:{info.filename}", "sha256 does not match the manifest (damaged or altered)")
    blob = _BLOB_MEMBER.match(info.filename)
    if blob and digest.hexdigest() != blob.group(1) + blob.group(2):
        raise BadFileError(f"{name}:{info.filename}", "blob content does not match its name")
    return written


def import_store(archive: Path | str, target: Path | str) -> BackupInfo:
    """Restore an ``export_store`` archive into ``target`` (absent or empty); see the module docstring."""
    archive, target = Path(archive), Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ValidationError(f"{target} is not empty: restore into a new or empty folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in stale_temp_dirs(target.parent, f".{glob.escape(target.name)}.import-*", RESTORE_GRACE_S):
        log.warning("removing %s, left by a restore that was killed", stale)
        remove_tree(stale)
    with open_zip(archive) as zf:
        files = _read_manifest(zf, archive.name)
        members = _check_names(zf, files, archive.name)
        need, free = sum(i.file_size for i in members), shutil.disk_usage(target.parent).free
        if need > free:
            raise BadFileError(archive.name, f"restores to {need / 2**20:,.0f} MiB but only {free / 2**20:,.0f} MiB "
                                             f"are free in {target.parent}")
        tmp = make_temp_dir(f".{target.name}.import-", target.parent)
        try:
            total = sum(_extract_verified(zf, i, files[i.filename], tmp / i.filename, archive.name) for i in members)
            _check_database(tmp / DB_NAME, archive.name)
            _check_complete(tmp, archive.name)
            if target.exists():
                target.rmdir()
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    engine = make_engine(target / DB_NAME)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    log.info("restored %s into %s (%d blobs)", archive, target, len(members) - 1)
    return BackupInfo(target, len(members) - 1, total, revision)


def _check_complete(folder: Path, name: str) -> None:
    """Every blob the restored database refers to was in the archive (an archive whose manifest was
    rewritten without some blobs is incomplete, however consistent its hashes are)."""
    con = sqlite3.connect(f"file:{folder / DB_NAME}?mode=ro", uri=True)
    try:
        shas = {row[0] for q in _SHA_QUERIES for row in con.execute(q)}
    except sqlite3.DatabaseError as exc:
        raise BadFileError(f"{name}:{DB_NAME}", f"not a readable incseg database ({exc})") from None
    finally:
        con.close()
    absent = sorted(sha for sha in shas if not (folder / "blobs" / sha[:2] / sha[2:]).is_file())
    if absent:
        raise BadFileError(name, f"the archive is incomplete: its database refers to {len(absent)} blob(s) it "
                                 f"does not hold, e.g. {absent[0]}")


def _check_database(db: Path, name: str) -> None:
    """Integrity check, and a schema revision this version of incseg knows (it can migrate from it)."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            result = [r[0] for r in con.execute("PRAGMA integrity_check")]
            revisions = [r[0] for r in con.execute("SELECT version_num FROM alembic_version")]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise BadFileError(f"{name}:{DB_NAME}", f"not a readable incseg database ({exc})") from None
    if result != ["ok"]:
        raise BadFileError(f"{name}:{DB_NAME}", f"database integrity check failed: {result[0]}")
    from alembic.script import ScriptDirectory

    known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if not revisions or revisions[0] not in known:
        raise BadFileError(f"{name}:{DB_NAME}", f"schema revision {revisions[:1]} is unknown to this incseg "
                                                "(made by a newer version?)")
