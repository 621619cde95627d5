"""The product's default CPU path: a frozen backbone, steps trained from the store's feature cache, and
evaluation and prediction served from it."""
from __future__ import annotations

from dataclasses import replace

from incseg_app.services import versions
from incseg_app.services.context import StoreSettings, open_store
from incseg_app.services.doctor import check_store
from incseg_app.services.features import FOLDER, feature_cache
from incseg_app.services.ml_settings import tiny_settings
from incseg_app.services.predict import predict
from incseg_app.services.training import TrainRequest, train_step
from store_helpers import add_shapes_project, shapes_image


def test_cpu_steps_train_from_the_store_feature_cache(tmp_path) -> None:
    ml = replace(tiny_settings(), cpu_freezes_backbone=True, train=replace(tiny_settings().train, crop_size=32))
    ctx = open_store(tmp_path / "store", StoreSettings(), ml)
    try:
        add_shapes_project(ctx, (0, 1), seed=1)
        base = train_step(ctx, TrainRequest(method="finetune"))
        assert base.config["train"]["encoder_lr_mult"] == 0.0
        cache = feature_cache(ctx)
        assert cache.stats.stored > 0 and any((ctx.root / "work" / FOLDER).rglob("*.taps"))
        add_shapes_project(ctx, (2,), seed=2)
        stored = cache.stats.stored
        step = train_step(ctx, TrainRequest(method="mib"))
        assert step.status.value == "ready" and versions.get_metrics(ctx, step.id)
        assert cache.stats.memory_hits > 0 and cache.stats.stored > stored  # old images hit, new ones encoded
        image, _ = shapes_image(7, (0, 2))
        before = cache.stats.stored
        first, again = predict(ctx, image), predict(ctx, image)
        assert (first.mask == again.mask).all() and cache.stats.stored == before + 1  # encoded once
        storage = versions.version_storage(ctx)
        assert storage[base.id].added_bytes == storage[base.id].total_bytes  # a root version adds everything
        # the frozen backbone is shared, changed weights are stored as bfloat16 differences (~1/3 of their bytes)
        assert 0 < storage[step.id].added_bytes < 0.5 * storage[step.id].total_bytes
        report = check_store(ctx)
        assert not any(FOLDER in str(p) for p in report.resumable)  # derived data, not a training state
    finally:
        ctx.close()
