"""The store's cache of frozen-backbone taps, shared by training, evaluation, prediction and pseudo-labels.

Derived data under ``<store>/work/feature-cache`` (``training.featcache``): bounded by the
``MLSettings`` limits, validated on every read, rebuilt transparently when a file is damaged or missing,
and never part of a backup. One ``FeatureCache`` per store folder and process.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .context import AppContext

if TYPE_CHECKING:  # importing this module (e.g. for FOLDER) must not import torch
    from ..training.featcache import FeatureCache

FOLDER = "feature-cache"  # under the store's work/ folder

_CACHES: dict[str, "FeatureCache"] = {}
_LOCK = threading.Lock()


def feature_cache(ctx: AppContext) -> "FeatureCache":
    """This store's feature cache (created on first use)."""
    from ..training.featcache import FeatureCache

    folder = ctx.root / "work" / FOLDER
    with _LOCK:
        cache = _CACHES.get(str(folder))
        if cache is None:
            cache = FeatureCache(folder, max_memory_bytes=ctx.ml.feature_cache_memory_mb << 20,
                                 max_disk_bytes=ctx.ml.feature_cache_disk_mb << 20)
            _CACHES[str(folder)] = cache
        return cache
