"""What the mask editor needs from the store: the photo, click-to-refine, region maps for the fill
tool, background prefetching of the next items, and ranking drafts against the active model.

Click-to-refine uses SAM point prompts when a SAM checkpoint is configured, otherwise the region
hierarchy of ``labeling.click_regions`` (one click = one region at the chosen scale). The hierarchy
of an image is built once and cached; opening an item starts building the trees of the next items in
a background thread, so a click on them only walks the tree. Shapes: image H×W×3 uint8; mask H×W
uint8 class ids; points (x, y, positive) in pixels.
"""
from __future__ import annotations

import io
import logging
import threading
from collections.abc import Sequence

import numpy as np
from cachetools import LRUCache
from PIL import Image

from ..domain.enums import JobKind
from ..domain.errors import NotFoundError, ValidationError
from ..domain.records import BACKGROUND_ID, IGNORE_ID, ImageRecord, Job
from ..labeling.click_regions import SCALES, HierarchyCache, RegionHierarchy, click_edit
from ..storage.repositories import ReviewRepo
from . import images, labeling, masks, versions
from .classes import list_classes
from .context import AppContext
from .runner import JobControl, Launcher

log = logging.getLogger(__name__)

PHOTO_QUALITY = 90  # JPEG quality of the photo sent to the editor
_TREES = HierarchyCache(capacity=16)
_PHOTOS: LRUCache = LRUCache(32)  # JPEG bytes by image sha256 (guarded by _PHOTO_LOCK)
_PHOTO_LOCK = threading.Lock()
_PREFETCHES: set[threading.Thread] = set()


def editor_photo(ctx: AppContext, image_id: int) -> bytes:
    """JPEG bytes of an image's decoded pixels (EXIF rotation ignored, as everywhere in the store, so
    the photo lines up with its masks); cached by content."""
    return _photo(ctx, images.get_image(ctx, image_id))


def _photo(ctx: AppContext, record: ImageRecord) -> bytes:
    with _PHOTO_LOCK:
        found = _PHOTOS.get(record.sha256)
    if found is not None:
        return found  # type: ignore[return-value]
    buf = io.BytesIO()
    Image.fromarray(images.read_image(ctx, record.id)).save(buf, format="JPEG", quality=PHOTO_QUALITY)
    with _PHOTO_LOCK:
        _PHOTOS[record.sha256] = buf.getvalue()
    return buf.getvalue()


def _tree(ctx: AppContext, image_id: int) -> RegionHierarchy:
    record = images.get_image(ctx, image_id)
    return _TREES.get(record.sha256, lambda: images.read_image(ctx, image_id))


def _check_class(ctx: AppContext, class_id: int) -> None:
    live = {c.id for c in list_classes(ctx) if not c.archived}
    if int(class_id) not in live:
        raise NotFoundError(f"no class with id {class_id} to refine (archived classes cannot be painted)")


def refine(ctx: AppContext, image_id: int, mask: np.ndarray, class_id: int,
           points: Sequence[tuple[float, float, bool]], scale: str = "medium") -> np.ndarray:
    """The mask after one session of clicks for ``class_id`` (all clicks of the session, answered from
    the mask the session started from). ``scale`` ("fine", "medium", "coarse") bounds the region one
    click selects without SAM. Nothing is saved."""
    if scale not in SCALES:
        raise ValidationError(f"unknown click scale {scale!r}; use one of {', '.join(SCALES)}")
    if not points:
        raise ValidationError("click on the image first (a positive or negative point)")
    _check_class(ctx, class_id)
    mask = np.asarray(mask, dtype=np.uint8)
    if ctx.ml.labeling.sam_checkpoint:
        return labeling.refine_click(ctx, image_id, mask, class_id, points)
    return click_edit(_tree(ctx, image_id), mask, int(class_id), points, SCALES[scale])


def region_maps(ctx: AppContext, image_id: int) -> dict[str, np.ndarray]:
    """Scale name -> H×W uint16 region ids of the image cut at that scale (for the fill tool)."""
    tree = _tree(ctx, image_id)
    return {name: tree.partition(n).astype(np.uint16) for name, n in SCALES.items()}


def prefetch(ctx: AppContext, image_ids: Sequence[int]) -> threading.Thread | None:
    """Build the editor photos and region trees of ``image_ids`` in a background thread (errors are
    logged, never raised: a prefetch is only a speed-up)."""
    ids = [int(i) for i in image_ids]
    if not ids:
        return None

    def work() -> None:
        for image_id in ids:
            try:
                record = images.get_image(ctx, image_id)
                _photo(ctx, record)
                if not ctx.ml.labeling.sam_checkpoint:
                    _TREES.get(record.sha256, lambda: images.read_image(ctx, image_id))
            except Exception:  # noqa: BLE001 - a failed prefetch only costs time later
                log.warning("prefetch of image %d failed", image_id, exc_info=True)

    def run() -> None:
        try:
            work()
        finally:
            with _PHOTO_LOCK:
                _PREFETCHES.discard(threading.current_thread())

    thread = threading.Thread(target=run, name="incseg-prefetch", daemon=True)
    with _PHOTO_LOCK:
        _PREFETCHES.add(thread)
    thread.start()
    return thread


def wait_for_prefetch(timeout: float | None = None) -> None:
    """Block until the running prefetches have finished (benchmarks, tests)."""
    with _PHOTO_LOCK:
        running = list(_PREFETCHES)
    for thread in running:
        thread.join(timeout)


def agreement(draft: np.ndarray, predicted: np.ndarray, known: set[int]) -> float | None:
    """Mean IoU, over the classes the model knows that either map contains, between a draft and the
    model's prediction (unsure pixels ignored); None when no such class is present."""
    valid = draft != IGNORE_ID
    classes = (set(np.unique(draft[valid]).tolist()) | set(np.unique(predicted[valid]).tolist())) & known
    classes.discard(BACKGROUND_ID)
    if not classes:
        return None
    ious = []
    for c in sorted(classes):
        a, b = (draft == c) & valid, (predicted == c) & valid
        ious.append((a & b).sum() / max((a | b).sum(), 1))
    return float(np.mean(ious))


def score_drafts(ctx: AppContext, control: JobControl | None = None) -> dict:
    """Store, for every draft waiting for review, how well it agrees with the active version's
    prediction; the queue then shows drafts the model disagrees with first."""
    from .predict import predict
    version = versions.active_version(ctx)
    if version is None:
        raise ValidationError("no model version yet: train a first step, then rank the drafts against it")
    drafts = masks.review_queue(ctx)
    known = set(version.class_ids)
    scored = []
    for n, rev in enumerate(drafts):
        if control is not None:
            control.check_cancel()
            control.progress(n / max(len(drafts), 1), f"comparing draft {n + 1}/{len(drafts)} with v{version.id}")
        pred = predict(ctx, images.read_image(ctx, rev.image_id), version.id).mask
        value = agreement(masks.read_mask(ctx, rev.id), pred, known)
        if value is not None:
            scored.append((rev.id, value))
    with ctx.unit_of_work(write=True) as s:
        ReviewRepo(s).set_agreement(scored, version.id)
    return {"scored": len(scored), "version_id": version.id}


def start_scoring(ctx: AppContext, runner: Launcher) -> Job:
    """Rank the drafts against the active version in a background job (``job_kinds``: an EVALUATE job;
    refused without a version or without drafts)."""
    if versions.active_version(ctx) is None:
        raise ValidationError("no model version yet: train a first step, then rank the drafts against it")
    if not masks.review_queue(ctx, limit=1):
        raise ValidationError("no draft waits for review")
    return runner.launch(JobKind.EVALUATE, {"what": "rank drafts against the active version"}, exclusive=True)

