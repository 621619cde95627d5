"""Temp folders of long writes, named after the process that made them so leftovers can be found.

Dataset zips are extracted into ``<system temp>/incseg-dataset-p<pid>-*``, ``export-store`` builds its
database snapshot and zip in ``<store>/tmp/incseg-export-p<pid>-*``, and ``import-store`` restores
into ``.<target>.import-p<pid>-*`` beside the target (``doctor`` looks beside its store, and the next
restore beside its target). ``temp_dir`` removes its folder on every exit
path (success, error, Ctrl-C); only a killed process leaves one behind. ``stale_temp_dirs`` finds
those: folders of this user whose process is gone (or, for names without a pid, older than the grace
period). Every folder is created owner-only (0700): it may hold a full database snapshot.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .jobs import owner_alive, process_owner

log = logging.getLogger(__name__)

DATASET_PREFIX = "incseg-dataset-"
EXPORT_PREFIX = "incseg-export-"
_PID = re.compile(r"-p(\d+)-")


def make_temp_dir(prefix: str, parent: Path | None = None) -> Path:
    """A new owner-only folder ``<parent>/<prefix>p<pid>-<random>`` (parent: the system temp folder)."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}p{os.getpid()}-", dir=parent))


@contextmanager
def temp_dir(prefix: str, parent: Path | None = None) -> Iterator[Path]:
    """``make_temp_dir`` for the duration of the block, removed however the block ends."""
    path = make_temp_dir(prefix, parent)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _is_stale(path: Path, grace_s: float) -> bool:
    try:
        st = path.lstat()
    except OSError:
        return False
    if not path.is_dir() or path.is_symlink() or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
        return False  # never touch another user's folder or follow a link
    found = _PID.search(path.name)
    if found:
        host = process_owner().rpartition(":")[0]
        alive = owner_alive(f"{host}:{found.group(1)}")
        if alive is not None:
            return not alive
    return st.st_mtime < time.time() - grace_s


def stale_temp_dirs(folder: Path, pattern: str, grace_s: float) -> list[Path]:
    """Folders matching ``pattern`` (a glob) in ``folder`` left by processes that are gone."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(pattern) if _is_stale(p, grace_s))


def remove_tree(path: Path) -> bool:
    """Delete a stale temp folder; False when it could not be removed completely."""
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        log.warning("could not remove %s completely", path)
        return False
    return True
