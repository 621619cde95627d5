"""A bounded cache of backbone taps: an in-memory LRU over an optional folder of validated files.

Entries are lists of C_i×h_i×w_i tensors (the taps of one image view, ``models.encoders.base``),
stored in half precision (float32 when a value would overflow float16), under a key that the caller
derives from the encoder weights, the image content and the view (``training.taps.entry_key``), so a
changed encoder or image never hits an old entry.

The folder is derived data: never backed up, never trusted. Each file is
``MAGIC | u32 header length | JSON header {key, dtype, shapes, crc32} | payload``, written to a
temporary name and renamed, so a crash leaves either a whole file or a ``.*.tmp`` leftover (removed
at the next start). A file whose magic, key, size or CRC does not match is deleted and reported as a
miss, so the caller recomputes it: the cache rebuilds itself after a crash or a corrupt disk. Both
tiers are bounded (``max_memory_bytes``, ``max_disk_bytes``); the least recently used entries go
first.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor

log = logging.getLogger(__name__)

MAGIC = b"INCTAPS1"
SUFFIX = ".taps"
STALE_TMP_SECONDS = 600.0  # a temporary file this old belongs to a writer that died
HALF_MAX = 60000.0  # values beyond this would overflow float16 (max 65504)
_DTYPES = {"float16": torch.float16, "float32": torch.float32}


@dataclass
class CacheStats:
    """Counters since the cache was opened (all in entries)."""

    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0
    stored: int = 0
    evicted: int = 0
    rejected: int = 0  # files that failed validation and were deleted


def _nbytes(taps: Sequence[Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in taps)


class FeatureCache:
    """Taps by key: memory (LRU, ``max_memory_bytes``) over ``directory`` (LRU, ``max_disk_bytes``).

    ``directory=None`` keeps entries in memory only. Thread-safe; several processes may share a folder
    (writes are atomic renames; a file evicted by another process is just a miss).
    """

    def __init__(self, directory: str | Path | None = None, max_memory_bytes: int = 1 << 30,
                 max_disk_bytes: int = 8 << 30) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.max_memory_bytes, self.max_disk_bytes = int(max_memory_bytes), int(max_disk_bytes)
        self.stats = CacheStats()
        self._memory: OrderedDict[str, list[Tensor]] = OrderedDict()
        self._memory_bytes = 0
        self._disk: dict[str, tuple[int, float]] = {}  # key -> (bytes, last use)
        self._lock = threading.Lock()
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._scan()

    @property
    def memory_bytes(self) -> int:
        return self._memory_bytes

    @property
    def disk_bytes(self) -> int:
        return sum(size for size, _ in self._disk.values())

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / key[:2] / f"{key}{SUFFIX}"

    def _scan(self) -> None:
        """Index the folder's files and delete temporary leftovers of dead writers."""
        now = time.time()
        for path in self.directory.rglob("*"):
            if not path.is_file():
                continue
            stat = path.stat()
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                if now - stat.st_mtime > STALE_TMP_SECONDS:
                    path.unlink(missing_ok=True)
            elif path.suffix == SUFFIX:
                self._disk[path.stem] = (stat.st_size, stat.st_mtime)
        self._evict_disk()

    def get(self, key: str) -> list[Tensor] | None:
        """The taps stored under ``key`` (CPU tensors, do not modify), or None."""
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                self.stats.memory_hits += 1
                return self._memory[key]
        taps = self._read(key) if self.directory is not None else None
        with self._lock:
            if taps is None:
                self.stats.misses += 1
                return None
            self.stats.disk_hits += 1
            self._remember(key, taps)
        return taps

    def put(self, key: str, taps: Sequence[Tensor]) -> list[Tensor]:
        """Store C×h×w taps (converted to float16 unless that would overflow); returns the stored tensors."""
        big = any(bool(t.abs().max() > HALF_MAX) for t in taps if t.numel())
        stored = [t.detach().to("cpu", torch.float32 if big else torch.float16).contiguous() for t in taps]
        if self.directory is not None:
            self._write(key, stored)
        with self._lock:
            self.stats.stored += 1
            self._remember(key, stored)
        return stored

    def discard(self, key: str) -> None:
        """Forget ``key`` in memory and on disk (e.g. an entry whose shapes the caller rejects)."""
        with self._lock:
            if key in self._memory:
                self._memory_bytes -= _nbytes(self._memory.pop(key))
            self._disk.pop(key, None)
        if self.directory is not None:
            self._path(key).unlink(missing_ok=True)

    def _remember(self, key: str, taps: list[Tensor]) -> None:
        if key in self._memory:
            self._memory_bytes -= _nbytes(self._memory.pop(key))
        size = _nbytes(taps)
        if size > self.max_memory_bytes:
            return
        self._memory[key] = taps
        self._memory_bytes += size
        while self._memory_bytes > self.max_memory_bytes:
            _, old = self._memory.popitem(last=False)
            self._memory_bytes -= _nbytes(old)

    def _write(self, key: str, taps: list[Tensor]) -> None:
        payload = b"".join(t.numpy().tobytes() for t in taps)
        header = json.dumps({"key": key, "dtype": str(taps[0].dtype).removeprefix("torch."),
                             "shapes": [list(t.shape) for t in taps], "crc32": zlib.crc32(payload)}).encode()
        header += b" " * (-(len(MAGIC) + 4 + len(header)) % 8)  # payload 8-byte aligned (frombuffer views)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(MAGIC + len(header).to_bytes(4, "little") + header + payload)
            os.replace(tmp, path)
        except OSError as exc:  # a full or read-only disk only costs the disk tier
            tmp.unlink(missing_ok=True)
            log.warning("feature cache: cannot write %s (%s); keeping the entry in memory only", path, exc)
            return
        with self._lock:
            self._disk[key] = (path.stat().st_size, time.time())
            self._evict_disk()

    def _read(self, key: str) -> list[Tensor] | None:
        path = self._path(key)
        try:
            data = bytearray(path.read_bytes())
        except OSError:
            return None
        taps = self._parse(key, data)
        if taps is None:
            log.warning("feature cache: %s is damaged or not ours; deleted, it will be recomputed", path)
            path.unlink(missing_ok=True)
            with self._lock:
                self._disk.pop(key, None)
                self.stats.rejected += 1
            return None
        now = time.time()
        try:
            os.utime(path, (now, now))
        except OSError:
            pass
        with self._lock:
            self._disk[key] = (len(data), now)
        return taps

    @staticmethod
    def _parse(key: str, data: bytearray) -> list[Tensor] | None:
        """Validated taps of a file's bytes, or None when anything does not match."""
        if len(data) < len(MAGIC) + 4 or data[:len(MAGIC)] != MAGIC:
            return None
        start = len(MAGIC) + 4
        size = int.from_bytes(data[len(MAGIC):start], "little")
        try:
            header = json.loads(bytes(data[start:start + size]))
            dtype = _DTYPES[header["dtype"]]
            shapes = [tuple(int(d) for d in s) for s in header["shapes"]]
        except (ValueError, KeyError, TypeError):
            return None
        payload = memoryview(data)[start + size:]
        item = torch.tensor([], dtype=dtype).element_size()
        counts = [int(torch.Size(s).numel()) for s in shapes]
        if header.get("key") != key or len(payload) != item * sum(counts) or zlib.crc32(payload) != header.get("crc32"):
            return None
        flat = torch.frombuffer(data, dtype=dtype, offset=start + size) if counts else torch.empty(0, dtype=dtype)
        return [part.view(shape) for part, shape in zip(flat.split(counts), shapes)]

    def _evict_disk(self) -> None:
        """Over ``max_disk_bytes``: delete least recently used files down to 90 % of it (lock held)."""
        total = sum(size for size, _ in self._disk.values())
        if total <= self.max_disk_bytes:
            return
        target = 0.9 * self.max_disk_bytes  # some headroom, so that the next puts do not evict again
        for key, (size, _) in sorted(self._disk.items(), key=lambda kv: kv[1][1]):
            if total <= target:
                break
            self._path(key).unlink(missing_ok=True)
            self._disk.pop(key)
            self.stats.evicted += 1
            total -= size
