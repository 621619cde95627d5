"""Images and their tags (a tag is a class id; records show class names).

Every query here is set-based: a page or a whole split is one query for the rows plus one for their
tags (id lists go through ``chunked``), never one query per image.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from ...domain.enums import ReviewStatus, Split
from ...domain.records import ImageRecord, MaskRevision
from ..chunks import chunked, paused_gc
from ..db import lock_row
from ..orm import ClassRow, ImageRow, ImageTagRow, MaskRow
from .masks import MASK_COLUMNS, MaskRepo, head_ids_subquery, mask_from_columns


IMAGE_COLUMNS = (ImageRow.id, ImageRow.sha256, ImageRow.width, ImageRow.height, ImageRow.split,
                 ImageRow.original_name, ImageRow.created_at)


def image_from_columns(values: Sequence, tags: Sequence[str] = ()) -> ImageRecord:
    """An image record from the values of ``IMAGE_COLUMNS``."""
    iid, sha, width, height, split, name, created = values
    return ImageRecord(id=iid, sha256=sha, width=width, height=height, split=Split(split), original_name=name,
                       tags=tuple(tags), created_at=created)


def to_image(row: ImageRow, tags: Sequence[str] = ()) -> ImageRecord:
    return ImageRecord(id=row.id, sha256=row.sha256, width=row.width, height=row.height, split=Split(row.split),
                       original_name=row.original_name, tags=tuple(tags), created_at=row.created_at)


def _filtered(q: Select, tag_id: int | None, split: Split | None, status: ReviewStatus | None,
              has_mask: bool | None) -> Select:
    """``q`` over images narrowed by tag, split, head-mask review status and whether any mask exists."""
    if tag_id is not None:
        q = q.where(ImageRow.id.in_(select(ImageTagRow.image_id).where(ImageTagRow.class_id == tag_id)))
    if split is not None:
        q = q.where(ImageRow.split == split.value)
    if status is not None:
        heads = select(MaskRow.image_id).where(MaskRow.id.in_(head_ids_subquery()), MaskRow.status == status.value)
        q = q.where(ImageRow.id.in_(heads))
    if has_mask is not None:
        with_mask = select(MaskRow.image_id)
        q = q.where(ImageRow.id.in_(with_mask) if has_mask else ImageRow.id.not_in(with_mask))
    return q


class ImageRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def tag_pairs(self, image_ids: Iterable[int]) -> dict[int, list[tuple[int, str]]]:
        """Image id -> [(class id, class name)] by class id, for the given images (chunked IN)."""
        out: dict[int, list[tuple[int, str]]] = {}
        for chunk in chunked(image_ids):
            q = (select(ImageTagRow.image_id, ClassRow.id, ClassRow.name)
                 .join(ClassRow, ClassRow.id == ImageTagRow.class_id)
                 .where(ImageTagRow.image_id.in_(chunk)).order_by(ImageTagRow.image_id, ClassRow.id))
            for image_id, class_id, name in self.s.execute(q):
                out.setdefault(int(image_id), []).append((int(class_id), name))
        return out

    def _records(self, rows: Sequence[ImageRow]) -> list[ImageRecord]:
        tags = self.tag_pairs(r.id for r in rows) if rows else {}
        return [to_image(r, [name for _, name in tags.get(r.id, ())]) for r in rows]

    def get(self, image_id: int) -> ImageRecord | None:
        row = self.s.get(ImageRow, image_id)
        return None if row is None else self._records([row])[0]

    def lock(self, image_id: int) -> bool:
        """Lock the image's row until the transaction ends (PostgreSQL ``FOR UPDATE``), so writers of
        its mask revisions go one after another; False when there is no such image."""
        return lock_row(self.s, ImageRow, image_id) is not None

    def get_by_sha(self, sha256: str) -> ImageRecord | None:
        row = self.s.scalar(select(ImageRow).where(ImageRow.sha256 == sha256))
        return None if row is None else self._records([row])[0]

    def by_ids(self, image_ids: Iterable[int]) -> list[ImageRecord]:
        """Records of the given images (unknown ids skipped), by id."""
        rows: list[ImageRow] = []
        for chunk in chunked(sorted(set(image_ids))):
            rows += self.s.scalars(select(ImageRow).where(ImageRow.id.in_(chunk)).order_by(ImageRow.id))
        return self._records(rows)

    def ids_by_sha(self, shas: Iterable[str]) -> dict[str, int]:
        """sha256 -> image id for the contents already stored."""
        out: dict[str, int] = {}
        for chunk in chunked(set(shas)):
            out.update((sha, int(i)) for sha, i in self.s.execute(
                select(ImageRow.sha256, ImageRow.id).where(ImageRow.sha256.in_(chunk))))
        return out

    def add(self, sha256: str, width: int, height: int, split: Split, original_name: str,
            tag_ids: Iterable[int] = ()) -> ImageRecord:
        row = ImageRow(sha256=sha256, width=width, height=height, split=split.value, original_name=original_name)
        self.s.add(row)
        self.s.flush()
        self.add_tags(row.id, tag_ids)
        return self._records([row])[0]

    def add_many(self, new: Sequence[tuple[str, int, int, Split, str]],
                 tag_ids: dict[int, Iterable[int]] | Iterable[int] = ()) -> list[ImageRecord]:
        """Insert images given as (sha256, width, height, split, original name), in that order, with one
        flush for the rows and one for the tags. ``tag_ids``: the same class ids for every image, or a
        dict position in ``new`` -> class ids."""
        rows = [ImageRow(sha256=sha, width=w, height=h, split=sp.value, original_name=name)
                for sha, w, h, sp, name in new]
        self.s.add_all(rows)
        self.s.flush()
        per_row = tag_ids if isinstance(tag_ids, dict) else None
        shared = () if per_row is not None else sorted(set(tag_ids))  # type: ignore[arg-type]
        self.s.add_all(ImageTagRow(image_id=row.id, class_id=c) for n, row in enumerate(rows)
                       for c in (sorted(set(per_row.get(n, ()))) if per_row is not None else shared))
        self.s.flush()
        return self._records(rows)

    def tag_ids(self, image_id: int) -> set[int]:
        return set(self.s.scalars(select(ImageTagRow.class_id).where(ImageTagRow.image_id == image_id)))

    def add_tags(self, image_id: int, tag_ids: Iterable[int]) -> None:
        self.merge_tags({image_id: tag_ids})

    def merge_tags(self, tags: dict[int, Iterable[int]]) -> None:
        """Add the class ids ``tags[image id]`` that each image does not carry yet (existing tags stay)."""
        wanted = {image_id: set(ids) for image_id, ids in tags.items() if ids}
        have = self.tag_pairs(wanted)
        self.s.add_all(ImageTagRow(image_id=image_id, class_id=c) for image_id, ids in wanted.items()
                       for c in sorted(ids - {cid for cid, _ in have.get(image_id, ())}))
        self.s.flush()

    def set_tags(self, image_id: int, tag_ids: Iterable[int]) -> None:
        self.s.execute(delete(ImageTagRow).where(ImageTagRow.image_id == image_id))
        self.add_tags(image_id, tag_ids)

    def set_split(self, image_id: int, split: Split) -> None:
        row = self.s.get(ImageRow, image_id)
        if row is None:
            raise KeyError(image_id)
        row.split = split.value
        self.s.flush()

    def list(self, tag_id: int | None = None, split: Split | None = None, status: ReviewStatus | None = None,
             has_mask: bool | None = None, limit: int | None = None, offset: int = 0) -> list[ImageRecord]:
        """Images by id, filtered by tag, split, head-mask review status and whether any mask exists."""
        q = _filtered(select(ImageRow), tag_id, split, status, has_mask).order_by(ImageRow.id).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        return self._records(list(self.s.scalars(q)))

    def count(self, tag_id: int | None = None, split: Split | None = None, status: ReviewStatus | None = None,
              has_mask: bool | None = None) -> int:
        """How many images ``list`` with the same filters returns (without limit and offset)."""
        q = _filtered(select(func.count()).select_from(ImageRow), tag_id, split, status, has_mask)
        return int(self.s.scalar(q) or 0)

    def tagged_class_ids(self, split: Split | None = None) -> set[int]:
        """Class ids tagged on at least one image (of ``split``)."""
        q = select(ImageTagRow.class_id).distinct()
        if split is not None:
            q = q.join(ImageRow, ImageRow.id == ImageTagRow.image_id).where(ImageRow.split == split.value)
        return set(self.s.scalars(q))

    def all_shas(self) -> set[str]:
        return set(self.s.scalars(select(ImageRow.sha256)))

    def owners(self) -> list[tuple[int, str, str]]:
        """(id, original name, sha256) of every image: what doctor checks against the blob store."""
        return [(int(i), n, s) for i, n, s in self.s.execute(
            select(ImageRow.id, ImageRow.original_name, ImageRow.sha256).order_by(ImageRow.id))]

    def labelled(self, split: Split | None = None, statuses: Sequence[ReviewStatus] = (ReviewStatus.ACCEPTED,),
                 ) -> list[tuple[MaskRevision, ImageRecord, tuple[int, ...]]]:
        """(head revision, image, tagged class ids) of the images whose head revision has one of
        ``statuses``, by image id: two queries whatever the number of images."""
        q = MaskRepo(self.s).labelled_query(split, statuses)
        tags: dict[int, list[tuple[int, str]]] = {}
        tag_q = (select(ImageTagRow.image_id, ClassRow.id, ClassRow.name)
                 .join(ClassRow, ClassRow.id == ImageTagRow.class_id)
                 .where(ImageTagRow.image_id.in_(q.with_only_columns(MaskRow.image_id)))
                 .order_by(ImageTagRow.image_id, ClassRow.id))
        for image_id, class_id, name in self.s.execute(tag_q):
            tags.setdefault(int(image_id), []).append((int(class_id), name))
        out = []
        n = len(MASK_COLUMNS)
        with paused_gc():
            for values in self.s.execute(q.with_only_columns(*MASK_COLUMNS, *IMAGE_COLUMNS)
                                         .order_by(MaskRow.image_id)):
                pairs = tags.get(values[n], ())
                out.append((mask_from_columns(values[:n]), image_from_columns(values[n:], [nm for _, nm in pairs]),
                            tuple(c for c, _ in pairs)))
        return out
