"""Content-addressed blob store: images, masks and checkpoints under ``<root>/ab/cdef...``.

A blob's name is the sha256 hex of its bytes. Writes go to a temp file in the same folder, are
fsynced, then ``os.replace``d into place, so a reader never sees a partial blob and a crash leaves
at most a ``.tmp-*`` file (never a valid-looking name). Writing is idempotent. Services write blobs
*before* the DB rows that point at them; an orphan blob is harmless (``doctor`` collects it).

``put_many`` stores a batch with one file-system flush instead of one fsync per file: a flush costs
about as much as an fsync (~6 ms on a virtual disk), so an import of thousands of small images is
several times faster, with the same guarantee (data durable before the rename, renames durable
before the call returns).
"""
from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..domain.errors import NotFoundError, ValidationError

log = logging.getLogger(__name__)

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


def _check_sha(sha: str) -> str:
    if not isinstance(sha, str) or not _SHA_RE.match(sha):
        raise ValidationError(f"not a sha256 blob name: {sha!r}")
    return sha


class BlobStore:
    """Blobs under ``root`` (created on demand), addressed by the sha256 hex of their content."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha: str) -> Path:
        """Where the blob ``sha`` lives (whether or not it exists)."""
        _check_sha(sha)
        return self.root / sha[:2] / sha[2:]

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; returns its sha256 hex. A blob already present is not rewritten."""
        sha = hashlib.sha256(data).hexdigest()
        if not self.exists(sha):
            self._write_atomic(sha, [data])
        return sha

    def put_file(self, path: Path | str) -> str:
        """Store the file at ``path`` (streamed; hashed while copying); returns its sha256 hex."""
        src = Path(path)
        digest = hashlib.sha256()
        with src.open("rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                digest.update(chunk)
        sha = digest.hexdigest()
        if self.exists(sha):
            return sha

        def chunks() -> Iterator[bytes]:
            with src.open("rb") as f:
                yield from iter(lambda: f.read(_CHUNK), b"")

        self._write_atomic(sha, chunks(), verify=True)
        return sha

    def put_many(self, blobs: Sequence[bytes]) -> list[str]:
        """Store every item of ``blobs`` (sha256 hex returned, in order): temp files first, one flush of
        the file system, then the renames and one more flush. Items already present are skipped."""
        shas = [hashlib.sha256(data).hexdigest() for data in blobs]
        todo = {sha: data for sha, data in zip(shas, blobs) if not self.exists(sha)}
        written: list[tuple[str, Path]] = []
        try:
            for sha, data in todo.items():
                final = self.path(sha)
                final.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=final.parent)
                written.append((tmp, final))
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            _flush([Path(tmp) for tmp, _ in written], self.root)
            for tmp, final in written:
                os.replace(tmp, final)
        except BaseException:
            for tmp, _ in written:
                Path(tmp).unlink(missing_ok=True)
            raise
        _flush(sorted({final.parent for _, final in written}), self.root)
        log.debug("stored %d blob(s) in one batch", len(written))
        return shas

    def get_bytes(self, sha: str) -> bytes:
        """The blob's content; NotFoundError when it is missing."""
        try:
            return self.path(sha).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"blob {sha} is missing from {self.root}") from None

    def delete(self, sha: str) -> None:
        """Remove a blob (no error when it is already gone)."""
        try:
            self.path(sha).unlink()
        except FileNotFoundError:
            pass

    def iter_shas(self) -> Iterator[str]:
        """Every stored blob's sha (temp files of interrupted writes are skipped)."""
        for sub in sorted(self.root.iterdir()):
            if not (sub.is_dir() and len(sub.name) == 2):
                continue
            for f in sorted(sub.iterdir()):
                sha = sub.name + f.name
                if f.is_file() and _SHA_RE.match(sha):
                    yield sha

    def _write_atomic(self, sha: str, chunks: Iterator[bytes] | list[bytes], verify: bool = False) -> None:
        final = self.path(sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=final.parent)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    digest.update(chunk)
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            if verify and digest.hexdigest() != sha:
                raise ValidationError(f"file changed while being stored (expected blob {sha})")
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(final.parent)
        log.debug("stored blob %s", sha)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _syncfs(folder: Path) -> bool:
    """Flush the whole file system holding ``folder`` (Linux ``syncfs``); False when unavailable."""
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        return syncfs(fd) == 0
    finally:
        os.close(fd)


def _flush(paths: Sequence[Path], root: Path) -> None:
    """Make ``paths`` (files or folders) durable: one ``syncfs`` of their file system, else an fsync each."""
    if not paths or _syncfs(root):
        return
    for path in paths:
        if path.is_dir():
            _fsync_dir(path)
        else:
            with path.open("rb") as f:
                os.fsync(f.fileno())
