"""Whole-store backups: ``export_store`` writes one zip, ``import_store`` restores it into a new folder.

The archive holds ``incseg.db`` (a consistent snapshot taken with SQLite's online backup API, so a
job writing meanwhile cannot tear it), ``blobs/ab/cdef...`` (every blob the snapshot's rows point at)
and ``manifest.json`` (format, Alembic revision, and the sha256 and size of every other member).

Import trusts nothing in the archive: member names must be exactly the manifest's (no ``../``, no
absolute paths, nothing unlisted), every member is extracted into a hidden temp folder beside the
target while its sha256 and size are checked, blobs must be named by their own hash and the database
must pass ``PRAGMA integrity_check``; only then is the temp folder renamed to the target, so a bad
archive leaves nothing visible. The target must not exist or be an empty folder.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from ..domain.errors import BadFileError, ValidationError
from ..storage.db import alembic_config, current_revision, make_engine
from .archives import safe_relative_name
from .context import DB_NAME, AppContext

log = logging.getLogger(__name__)

FORMAT = "incseg-store"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_BLOB_MEMBER = re.compile(r"^blobs/([0-9a-f]{2})/([0-9a-f]{62})$")
_CHUNK = 1 << 20
_SHA_QUERIES = ("SELECT sha256 FROM images", "SELECT sha256 FROM masks",
                "SELECT confidence_sha256 FROM masks WHERE confidence_sha256 IS NOT NULL", "SELECT sha256 FROM blob_refs",
                "SELECT checkpoint_sha256 FROM model_versions WHERE checkpoint_sha256 IS NOT NULL")


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
    with tempfile.TemporaryDirectory(prefix="incseg-export-", dir=out.parent) as tmp:
        db_copy = Path(tmp) / DB_NAME
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
        partial = Path(tmp) / "store.zip"
        with zipfile.ZipFile(partial, "w", allowZip64=True) as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True), zipfile.ZIP_DEFLATED)
            zf.write(db_copy, DB_NAME, zipfile.ZIP_DEFLATED)
            for sha in shas:
                zf.write(ctx.blobs.path(sha), f"blobs/{sha[:2]}/{sha[2:]}", zipfile.ZIP_STORED)
        os.replace(partial, out)
    total = sum(n for _, n in files.values())
    log.info("exported store %s to %s (%d blobs, %d bytes)", ctx.root, out, len(shas), total)
    return BackupInfo(out, len(shas), total, revision)


def _read_manifest(zf: zipfile.ZipFile, name: str) -> dict[str, dict]:
    try:
        raw = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except KeyError:
        raise BadFileError(name, f"no {MANIFEST}: not an incseg store archive") from None
    except (ValueError, UnicodeDecodeError) as exc:
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
    with zf.open(info) as src, dest.open("wb") as out:
        for chunk in iter(lambda: src.read(_CHUNK), b""):
            written += len(chunk)
            if written > size:
                raise BadFileError(f"{name}:{info.filename}", "entry is larger than the manifest says")
            digest.update(chunk)
            out.write(chunk)
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
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadFileError(archive.name, f"not a readable zip archive ({exc})") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.import-", dir=target.parent))
    try:
        with zf:
            files = _read_manifest(zf, archive.name)
            members = _check_names(zf, files, archive.name)
            total = sum(_extract_verified(zf, i, files[i.filename], tmp / i.filename, archive.name) for i in members)
        _check_database(tmp / DB_NAME, archive.name)
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
    known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if not revisions or revisions[0] not in known:
        raise BadFileError(f"{name}:{DB_NAME}", f"schema revision {revisions[:1]} is unknown to this incseg "
                                                "(made by a newer version?)")
