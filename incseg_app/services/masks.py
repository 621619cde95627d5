"""Mask revisions: save (never overwrite), read, accept/reject, review queue.

Every save is a new revision whose parent is the image's previous head. Optimistic concurrency:
the caller passes the head revision id it edited (``expected_parent_id``; None = "no mask yet") and
a save against a stale head raises ConflictError, so two editors never silently lose work.
Pixels follow ``domain/records.py``: uint8 class ids, 0 background, 255 ignore.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np

from ..domain.enums import MaskKind, ReviewStatus, Split
from ..domain.errors import BadFileError, ConflictError, NotFoundError, ValidationError
from ..domain.records import MaskRevision
from ..storage.repositories import ClassRepo, ImageRepo, MaskRepo
from .context import AppContext
from .imageio import check_mask, class_pixels, decode_mask, encode_mask

log = logging.getLogger(__name__)


def save_mask(ctx: AppContext, image_id: int, mask: np.ndarray, kind: MaskKind = MaskKind.CORRECTED,
              status: ReviewStatus = ReviewStatus.ACCEPTED, expected_parent_id: int | None = None,
              force: bool = False, author: str = "", confidence: float | None = None,
              source: str = "", confidence_map: np.ndarray | None = None) -> MaskRevision:
    """Store ``mask`` (H×W uint8 class ids, the image's size) as the image's new head revision.

    ``expected_parent_id`` must equal the current head id unless ``force`` (background jobs);
    ``confidence`` is the review-queue score of a pseudo mask in [0, 1]: its mean pixel confidence
    (the expected share of right pixels), the mean of ``confidence_map`` when not given.
    ``confidence_map``: H×W floats in [0, 1], the probability that each pixel's label is right;
    stored as a blob with the revision (``read_confidence``).
    """
    conf_png = None
    if confidence_map is not None:
        conf_png = encode_confidence(confidence_map, np.shape(mask))
        if confidence is None:
            confidence = float(np.asarray(confidence_map, np.float64).mean())
    if confidence is not None and not 0.0 <= confidence <= 1.0:
        raise ValidationError(f"mask confidence must be in [0, 1], got {confidence}")
    with ctx.unit_of_work() as s:
        image = ImageRepo(s).get(image_id)
        if image is None:
            raise NotFoundError(f"no image with id {image_id}")
    label = f"mask for {image.original_name}"
    arr = check_mask(mask, label, image.width, image.height)
    pixels = class_pixels(arr)
    with ctx.blob_guard() as guard:
        sha = guard.put(encode_mask(arr))
        conf_sha = guard.put(conf_png) if conf_png is not None else None
        with ctx.unit_of_work(write=True) as s:
            guard.verify()
            ImageRepo(s).lock(image_id)  # PostgreSQL: the head check below and the insert are one step
            _check_class_ids(ClassRepo(s), pixels, label)
            repo = MaskRepo(s)
            head = repo.head(image_id)
            head_id = head.id if head else None
            if not force and head_id != expected_parent_id:
                raise ConflictError(f"{label}: it was changed by someone else (now revision {head_id}, "
                                    f"you edited {expected_parent_id}); reload it and redo your edit")
            rev = repo.add(image_id, MaskKind(kind), ReviewStatus(status), sha, head_id, pixels,
                           author=author, confidence=confidence, source=source, confidence_sha256=conf_sha)
    log.debug("saved mask revision %d of image %d", rev.id, image_id)
    return rev


def encode_confidence(confidence_map: np.ndarray, shape: tuple[int, ...]) -> bytes:
    """Grey PNG of an H×W confidence map in [0, 1], quantised to 1/255 (the blob format)."""
    conf = np.asarray(confidence_map)
    if conf.shape != tuple(shape) or not np.issubdtype(conf.dtype, np.floating):
        raise ValidationError(f"confidence map must be an H×W float array of the mask's shape {tuple(shape)}, "
                              f"got {conf.dtype} {conf.shape}")
    if not np.isfinite(conf).all() or conf.min(initial=0.0) < 0.0 or conf.max(initial=0.0) > 1.0:
        raise ValidationError("confidence map values must be finite and in [0, 1]")
    return encode_mask(np.rint(conf * 255.0).astype(np.uint8))


def read_confidence(ctx: AppContext, mask_id: int) -> np.ndarray | None:
    """H×W float32 in [0, 1]: the stored per-pixel probability that the revision's label is right
    (quantised to 1/255), or None when the revision has no map (ground truth, brush edits)."""
    rev = get_mask(ctx, mask_id)
    if rev.confidence_sha256 is None:
        return None
    data = ctx.blobs.get_bytes(rev.confidence_sha256)
    return decode_mask(data, f"confidence of mask revision {mask_id}", 2**31, 2**31).astype(np.float32) / 255.0


def _check_class_ids(repo: ClassRepo, pixels: dict[int, int], label: str) -> None:
    known = {c.id for c in repo.list()}
    unknown = sorted(set(pixels) - known)
    if unknown:
        raise BadFileError(label, f"unknown class id(s) {', '.join(map(str, unknown))}")


def import_mask_file(ctx: AppContext, image_id: int, data: bytes, name: str,
                     kind: MaskKind = MaskKind.GROUND_TRUTH, status: ReviewStatus = ReviewStatus.ACCEPTED,
                     author: str = "", source: str = "file import") -> MaskRevision:
    """Decode a label PNG (values = store class ids) and save it as the image's new head revision."""
    mask = decode_mask(data, name, ctx.settings.max_file_bytes, ctx.settings.max_pixels)
    image = _image_size(ctx, image_id)
    if mask.shape != image:
        raise BadFileError(name, f"mask is {mask.shape[1]}x{mask.shape[0]} but its image is {image[1]}x{image[0]}")
    try:
        return save_mask(ctx, image_id, mask, kind, status, force=True, author=author, source=source)
    except BadFileError as exc:
        raise BadFileError(name, exc.reason) from None


def _image_size(ctx: AppContext, image_id: int) -> tuple[int, int]:
    with ctx.unit_of_work() as s:
        image = ImageRepo(s).get(image_id)
    if image is None:
        raise NotFoundError(f"no image with id {image_id}")
    return image.height, image.width


def get_mask(ctx: AppContext, mask_id: int) -> MaskRevision:
    with ctx.unit_of_work() as s:
        found = MaskRepo(s).get(mask_id)
    if found is None:
        raise NotFoundError(f"no mask revision with id {mask_id}")
    return found


def read_mask(ctx: AppContext, mask_id: int) -> np.ndarray:
    """H×W uint8 class-id map of a revision."""
    rev = get_mask(ctx, mask_id)
    return decode_mask(ctx.blobs.get_bytes(rev.sha256), f"mask revision {mask_id}", 2**31, 2**31)


def head_mask(ctx: AppContext, image_id: int) -> MaskRevision | None:
    """The image's newest revision, or None when it has no mask."""
    with ctx.unit_of_work() as s:
        return MaskRepo(s).head(image_id)


def head_masks(ctx: AppContext, image_ids: Iterable[int] | None = None) -> dict[int, MaskRevision]:
    """Image id -> newest revision, for the given images (all when None)."""
    with ctx.unit_of_work() as s:
        return MaskRepo(s).heads(image_ids)


def mask_history(ctx: AppContext, image_id: int) -> list[MaskRevision]:
    """All revisions of an image, oldest first."""
    with ctx.unit_of_work() as s:
        return MaskRepo(s).history(image_id)


def set_review_status(ctx: AppContext, mask_id: int, status: ReviewStatus) -> MaskRevision:
    """Accept or reject a revision; only the image's head can be reviewed (ConflictError otherwise)."""
    with ctx.unit_of_work(write=True) as s:
        repo = MaskRepo(s)
        rev = repo.get(mask_id)
        if rev is None:
            raise NotFoundError(f"no mask revision with id {mask_id}")
        head = repo.head(rev.image_id)
        if head is None or head.id != mask_id:
            raise ConflictError(f"mask revision {mask_id} is no longer the newest for image {rev.image_id} "
                                f"(newest is {head.id if head else None}); reload before reviewing")
        return repo.set_status(mask_id, ReviewStatus(status))


def accept_mask(ctx: AppContext, mask_id: int) -> MaskRevision:
    return set_review_status(ctx, mask_id, ReviewStatus.ACCEPTED)


def reject_mask(ctx: AppContext, mask_id: int) -> MaskRevision:
    return set_review_status(ctx, mask_id, ReviewStatus.REJECTED)


def review_queue(ctx: AppContext, limit: int | None = None, tag: str | None = None) -> list[MaskRevision]:
    """Head revisions waiting for review, lowest confidence first; optionally only images tagged ``tag``."""
    with ctx.unit_of_work() as s:
        tag_id = None
        if tag is not None:
            found = ClassRepo(s).get_by_name(tag)
            if found is None:
                raise ValidationError(f"unknown tag {tag!r}")
            tag_id = found.id
        return MaskRepo(s).review_queue(limit, tag_id)


def labelled_masks(ctx: AppContext, split: Split | None = None,
                   statuses: Sequence[ReviewStatus] = (ReviewStatus.ACCEPTED,)) -> list[MaskRevision]:
    """Head revisions with one of ``statuses`` (e.g. training data), ordered by image id."""
    with ctx.unit_of_work() as s:
        return MaskRepo(s).labelled(Split(split) if split else None, tuple(ReviewStatus(x) for x in statuses))


def mask_class_pixels(ctx: AppContext, mask_id: int) -> dict[int, int]:
    """Class id -> pixel count of a revision (background and ignore excluded)."""
    with ctx.unit_of_work() as s:
        return MaskRepo(s).class_pixels(mask_id)
