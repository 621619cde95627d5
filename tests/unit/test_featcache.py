"""The feature cache: round trips, precision, bounded memory and disk, and rebuilding after damage."""
from __future__ import annotations

import os
import time

import pytest
import torch

from incseg_app.training.featcache import MAGIC, FeatureCache


def _taps(seed: int = 0, scale: float = 1.0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(c, s, s, generator=gen) * scale for c, s in ((4, 8), (6, 4), (8, 2))]


def _file(cache: FeatureCache, key: str):
    return cache.directory / key[:2] / f"{key}.taps"


def test_round_trip_in_memory_keeps_half_precision_values():
    cache = FeatureCache()
    taps = _taps()
    stored = cache.put("k1", taps)
    got = cache.get("k1")
    assert [t.dtype for t in got] == [torch.float16] * 3 and [t.shape for t in got] == [t.shape for t in taps]
    for a, b in zip(got, taps):
        assert torch.allclose(a.float(), b, rtol=1e-3, atol=1e-3)
    assert got is stored and cache.get("other") is None
    assert cache.stats.memory_hits == 1 and cache.stats.misses == 1


def test_values_beyond_half_range_are_kept_in_float32(tmp_path):
    cache = FeatureCache(tmp_path)
    taps = _taps(scale=1e5)
    cache.put("big", taps)
    again = FeatureCache(tmp_path).get("big")
    assert all(t.dtype == torch.float32 for t in again)
    assert all(torch.equal(a, b) for a, b in zip(again, taps))


def test_entries_survive_in_a_new_cache_on_the_same_folder(tmp_path):
    FeatureCache(tmp_path).put("k1", _taps(1))
    fresh = FeatureCache(tmp_path)
    got = fresh.get("k1")
    assert got is not None and fresh.stats.disk_hits == 1
    assert all(torch.equal(a, b.half()) for a, b in zip(got, _taps(1)))


def test_memory_is_bounded_and_evicted_entries_come_back_from_disk(tmp_path):
    one = sum(t.numel() * 2 for t in _taps())
    cache = FeatureCache(tmp_path, max_memory_bytes=2 * one)
    for i in range(4):
        cache.put(f"k{i}", _taps(i))
    assert cache.memory_bytes <= 2 * one
    assert cache.get("k0") is not None and cache.stats.disk_hits == 1  # least recent: evicted from memory
    assert cache.get("k3") is not None and cache.stats.memory_hits == 1


def test_memory_only_cache_forgets_the_least_recently_used():
    one = sum(t.numel() * 2 for t in _taps())
    cache = FeatureCache(max_memory_bytes=2 * one)
    cache.put("a", _taps(0))
    cache.put("b", _taps(1))
    cache.get("a")  # a is now more recent than b
    cache.put("c", _taps(2))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None


def test_disk_is_bounded_by_deleting_the_least_recently_used_files(tmp_path):
    cache = FeatureCache(tmp_path, max_memory_bytes=0)
    cache.put("a0", _taps(0))
    size = _file(cache, "a0").stat().st_size
    cache.max_disk_bytes = 3 * size
    for i in range(1, 6):
        time.sleep(0.01)
        cache.put(f"a{i}", _taps(i))
    assert cache.disk_bytes <= 3 * size and cache.stats.evicted >= 3
    assert not _file(cache, "a0").exists() and _file(cache, "a5").exists()
    assert cache.get("a0") is None and cache.get("a5") is not None


@pytest.mark.parametrize("damage", ["flip_payload_byte", "truncate", "wrong_magic", "other_key", "empty"])
def test_a_damaged_file_is_deleted_and_reported_as_a_miss(tmp_path, damage):
    FeatureCache(tmp_path).put("good", _taps())
    path = tmp_path / "go" / "good.taps"
    data = bytearray(path.read_bytes())
    if damage == "flip_payload_byte":
        data[-3] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "wrong_magic":
        data[:len(MAGIC)] = b"XXXXXXXX"
    elif damage == "other_key":  # a valid file of another key copied over this one
        FeatureCache(tmp_path).put("gone", _taps(5))
        data = bytearray((tmp_path / "go" / "gone.taps").read_bytes())
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    cache = FeatureCache(tmp_path)
    assert cache.get("good") is None
    assert not path.exists() and cache.stats.rejected == 1
    cache.put("good", _taps())  # rebuilt transparently
    assert FeatureCache(tmp_path).get("good") is not None


def test_stale_temporary_files_of_dead_writers_are_removed(tmp_path):
    (tmp_path / "ab").mkdir()
    stale, fresh = tmp_path / "ab" / ".abc.1.2.tmp", tmp_path / "ab" / ".abd.1.2.tmp"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    FeatureCache(tmp_path)
    assert not stale.exists() and fresh.exists()  # a recent one may belong to a live writer


def test_discard_forgets_memory_and_disk(tmp_path):
    cache = FeatureCache(tmp_path)
    cache.put("k", _taps())
    cache.discard("k")
    assert cache.get("k") is None and not _file(cache, "k").exists() and cache.memory_bytes == 0
