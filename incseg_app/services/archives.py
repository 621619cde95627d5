"""Safe handling of user-given file names and zip archives: no path escapes, no bombs, one open.

Before a single byte is extracted, the archive's central directory is checked against ``ZipLimits``:
the number of entries, each entry's declared size, the total declared size (and the free disk space
when extracting), and the compression ratio of each large entry and of the whole archive (a 2.4 MB
zip that unpacks to 2.4 GB is refused by its directory alone). Entries are then streamed from one
open ``ZipFile`` (opening the archive again per entry re-reads its directory: quadratic), and every
read is bounded by the declared size: ``zipfile`` stops at the declared size and checks the CRC, so a
lying header ends in an error, never in more bytes. A damaged archive (bad CRC, truncated data,
unknown compression, encryption) raises ``BadFileError`` naming the archive and the entry.
"""
from __future__ import annotations

import posixpath
import re
import shutil
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..domain.errors import BadFileError

_DRIVE = re.compile(r"^[a-zA-Z]:")
_CHUNK = 1 << 20
RATIO_MIN_BYTES = 1 << 20  # the ratio of entries smaller than this is not checked (tiny files compress well)
# What a damaged archive raises while an entry is read (zipfile, zlib, bz2/lzma, encrypted entries).
ZIP_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError,
                   RuntimeError, OSError, ValueError)


@dataclass(frozen=True)
class ZipLimits:
    """What an archive may hold: entries, bytes per entry, bytes in all, uncompressed/compressed ratio."""

    max_entries: int = 20_000
    max_entry_bytes: int = 64 * 1024 * 1024
    max_total_bytes: int = 16 * 1024**3
    max_ratio: float = 100.0


def safe_relative_name(name: str) -> str:
    """A user-given file name as a clean relative POSIX path; BadFileError for ``../`` or absolute names."""
    if not name or "\x00" in name:
        raise BadFileError(repr(name), "empty or invalid file name")
    norm = name.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        raise BadFileError(name, "absolute file names are not allowed")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise BadFileError(name, "file names containing '../' are not allowed (path escapes the target)")
    if not parts:
        raise BadFileError(name, "empty file name")
    return posixpath.join(*parts)


@contextmanager
def open_zip(zip_path: Path) -> Iterator[zipfile.ZipFile]:
    """The archive opened once for reading; BadFileError when it is not a readable zip."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise BadFileError(zip_path.name, f"not a readable zip archive ({exc})") from None
    with zf:
        yield zf


def check_directory(zf: zipfile.ZipFile, archive: str, limits: ZipLimits) -> list[tuple[str, zipfile.ZipInfo]]:
    """(safe name, info) of every file entry, after checking names, count, sizes and ratios from the
    central directory alone (nothing is decompressed). Raises BadFileError naming the archive/entry."""
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > limits.max_entries:
        raise BadFileError(archive, f"{len(infos)} entries is over the limit of {limits.max_entries}")
    named, total, packed = [], 0, 0
    for info in infos:
        try:
            name = safe_relative_name(info.filename)
        except BadFileError as exc:
            raise BadFileError(f"{archive}:{info.filename}", exc.reason) from None
        if info.file_size > limits.max_entry_bytes:
            raise BadFileError(f"{archive}:{name}", f"{info.file_size / 2**20:.1f} MiB is over the "
                                                    f"{limits.max_entry_bytes / 2**20:.0f} MiB limit per file")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= RATIO_MIN_BYTES and ratio > limits.max_ratio:
            raise BadFileError(f"{archive}:{name}", f"compressed {ratio:,.0f}:1, over the limit of "
                                                    f"{limits.max_ratio:,.0f}:1 (possible zip bomb)")
        total += info.file_size
        packed += info.compress_size
        named.append((name, info))
    if total > limits.max_total_bytes:
        raise BadFileError(archive, f"unpacks to {total / 2**30:.2f} GiB, over the limit of "
                                    f"{limits.max_total_bytes / 2**30:.1f} GiB")
    if total >= RATIO_MIN_BYTES and total / max(packed, 1) > limits.max_ratio:
        raise BadFileError(archive, f"unpacks {total / max(packed, 1):,.0f} times larger than it is, over the limit "
                                    f"of {limits.max_ratio:,.0f}:1 (possible zip bomb)")
    return named


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: str, max_bytes: int) -> bytes:
    """One entry's bytes, never more than ``max_bytes`` (nor than its declared size)."""
    try:
        with zf.open(info) as f:
            data = f.read(min(max_bytes, info.file_size) + 1)
    except ZIP_READ_ERRORS as exc:
        raise BadFileError(f"{archive}:{info.filename}", f"cannot be read: the archive is damaged ({exc})") from None
    if len(data) > max_bytes or len(data) != info.file_size:
        raise BadFileError(f"{archive}:{info.filename}", "entry does not match its declared size")
    return data


def extract_zip(zip_path: Path, target: Path, limits: ZipLimits) -> list[str]:
    """Extract every entry under ``target`` in one pass over one open archive; the directory checks
    (and the free space of ``target``'s disk) pass before anything is written. Returns the names."""
    root = target.resolve()
    with open_zip(zip_path) as zf:
        members = check_directory(zf, zip_path.name, limits)
        for name, _ in members:
            if not (root / name).resolve().is_relative_to(root):
                raise BadFileError(f"{zip_path.name}:{name}", "entry escapes the target folder")
        need = sum(info.file_size for _, info in members)
        root.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(root).free
        if need > free:
            raise BadFileError(zip_path.name, f"unpacks to {need / 2**20:,.0f} MiB but only {free / 2**20:,.0f} MiB "
                                              f"are free in {root}")
        for name, info in members:
            dest = root / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            _stream_member(zf, info, dest, zip_path.name)
    return [name for name, _ in members]


def _stream_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, archive: str) -> None:
    written = 0
    try:
        with zf.open(info) as src, dest.open("wb") as out:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                written += len(chunk)
                if written > info.file_size:
                    raise BadFileError(f"{archive}:{info.filename}", "entry is larger than its declared size")
                out.write(chunk)
    except ZIP_READ_ERRORS as exc:
        raise BadFileError(f"{archive}:{info.filename}", f"cannot be extracted ({exc})") from None
