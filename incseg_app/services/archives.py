"""Safe handling of user-given file names and zip archives (no path escapes, bounded reads)."""
from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ..domain.errors import BadFileError

_DRIVE = re.compile(r"^[a-zA-Z]:")


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


def iter_zip_members(zip_path: Path, max_bytes: int, max_entries: int) -> Iterator[tuple[str, zipfile.ZipInfo]]:
    """(safe name, info) of each file entry; every name is checked before anything is read."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadFileError(zip_path.name, f"not a readable zip archive ({exc})") from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > max_entries:
            raise BadFileError(zip_path.name, f"{len(infos)} entries is over the limit of {max_entries}")
        named = []
        for info in infos:
            try:
                named.append((safe_relative_name(info.filename), info))
            except BadFileError as exc:
                raise BadFileError(f"{zip_path.name}:{info.filename}", exc.reason) from None
        for name, info in named:
            if info.file_size > max_bytes:
                raise BadFileError(f"{zip_path.name}:{name}", f"{info.file_size / 2**20:.1f} MiB is over the limit")
            yield name, info


def read_zip_member(zip_path: Path, info: zipfile.ZipInfo, max_bytes: int) -> bytes:
    """Read one entry, never more than ``max_bytes`` (a lying size header cannot exhaust memory)."""
    with zipfile.ZipFile(zip_path) as zf, zf.open(info) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadFileError(f"{zip_path.name}:{info.filename}", "entry is larger than the file size limit")
    return data


def extract_zip(zip_path: Path, target: Path, max_bytes: int, max_entries: int) -> None:
    """Extract every entry under ``target``; entries escaping it are rejected before anything is written."""
    members = list(iter_zip_members(zip_path, max_bytes, max_entries))
    root = target.resolve()
    for name, _ in members:
        if not (root / name).resolve().is_relative_to(root):
            raise BadFileError(f"{zip_path.name}:{name}", "entry escapes the target folder")
    for name, info in members:
        dest = root / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(read_zip_member(zip_path, info, max_bytes))
