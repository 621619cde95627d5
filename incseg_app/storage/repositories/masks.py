"""Mask revisions repository. The *head* of an image is its newest revision (highest id)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ...domain.enums import MaskKind, ReviewStatus, Split
from ...domain.records import MaskRevision
from ..chunks import chunked
from ..orm import ImageRow, ImageTagRow, MaskClassRow, MaskRow


def head_ids_subquery() -> Select[tuple[int]]:
    """Ids of every image's newest mask revision."""
    return select(func.max(MaskRow.id)).group_by(MaskRow.image_id)


MASK_COLUMNS = (MaskRow.id, MaskRow.image_id, MaskRow.kind, MaskRow.status, MaskRow.sha256, MaskRow.parent_id,
                MaskRow.author, MaskRow.confidence, MaskRow.source, MaskRow.created_at, MaskRow.confidence_sha256)


def mask_from_columns(values: Sequence) -> MaskRevision:
    """A revision from the values of ``MASK_COLUMNS`` (bulk reads skip the ORM's per-object cost)."""
    mid, image_id, kind, status, sha, parent, author, confidence, source, created, confidence_sha = values
    return MaskRevision(id=mid, image_id=image_id, kind=MaskKind(kind), status=ReviewStatus(status), sha256=sha,
                        parent_id=parent, author=author, confidence=confidence, source=source, created_at=created,
                        confidence_sha256=confidence_sha)


def to_mask(row: MaskRow) -> MaskRevision:
    return MaskRevision(id=row.id, image_id=row.image_id, kind=MaskKind(row.kind),
                        status=ReviewStatus(row.status), sha256=row.sha256, parent_id=row.parent_id,
                        author=row.author, confidence=row.confidence, source=row.source,
                        created_at=row.created_at, confidence_sha256=row.confidence_sha256)


class MaskRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, mask_id: int) -> MaskRevision | None:
        row = self.s.get(MaskRow, mask_id)
        return None if row is None else to_mask(row)

    def head(self, image_id: int) -> MaskRevision | None:
        row = self.s.scalar(select(MaskRow).where(MaskRow.image_id == image_id)
                            .order_by(MaskRow.id.desc()).limit(1))
        return None if row is None else to_mask(row)

    def heads(self, image_ids: Iterable[int] | None = None) -> dict[int, MaskRevision]:
        """Image id -> head revision (only images that have a mask)."""
        q = select(MaskRow).where(MaskRow.id.in_(head_ids_subquery()))
        if image_ids is None:
            return {r.image_id: to_mask(r) for r in self.s.scalars(q)}
        out: dict[int, MaskRevision] = {}
        for chunk in chunked(set(image_ids)):
            heads = (select(func.max(MaskRow.id)).where(MaskRow.image_id.in_(chunk)).group_by(MaskRow.image_id))
            out.update((r.image_id, to_mask(r)) for r in self.s.scalars(select(MaskRow).where(MaskRow.id.in_(heads))))
        return out

    def history(self, image_id: int) -> list[MaskRevision]:
        """Every revision of an image, oldest first."""
        q = select(MaskRow).where(MaskRow.image_id == image_id).order_by(MaskRow.id)
        return [to_mask(r) for r in self.s.scalars(q)]

    def add(self, image_id: int, kind: MaskKind, status: ReviewStatus, sha256: str, parent_id: int | None,
            class_pixels: dict[int, int], author: str = "", confidence: float | None = None,
            source: str = "", confidence_sha256: str | None = None) -> MaskRevision:
        """Insert a revision and its per-class pixel counts (``class_pixels``: class id -> pixels)."""
        row = MaskRow(image_id=image_id, kind=kind.value, status=status.value, sha256=sha256,
                      parent_id=parent_id, author=author, confidence=confidence, source=source,
                      confidence_sha256=confidence_sha256)
        self.s.add(row)
        self.s.flush()
        self.s.add_all(MaskClassRow(mask_id=row.id, class_id=c, pixels=int(n)) for c, n in class_pixels.items())
        self.s.flush()
        return to_mask(row)

    def add_many(self, new: Sequence[tuple[int, MaskKind, ReviewStatus, str, int | None, dict[int, int]]],
                 source: str = "", author: str = "",
                 confidences: Sequence[float | None] | None = None) -> list[MaskRevision]:
        """Insert revisions given as (image id, kind, status, sha256, parent id, class pixels) with one
        flush for the rows and one for their per-class pixel counts."""
        conf = list(confidences) if confidences is not None else [None] * len(new)
        rows = [MaskRow(image_id=image_id, kind=kind.value, status=status.value, sha256=sha, parent_id=parent,
                        author=author, source=source, confidence=c)
                for (image_id, kind, status, sha, parent, _), c in zip(new, conf)]
        self.s.add_all(rows)
        self.s.flush()
        self.s.add_all(MaskClassRow(mask_id=row.id, class_id=c, pixels=int(n))
                       for row, item in zip(rows, new) for c, n in item[5].items())
        self.s.flush()
        return [to_mask(r) for r in rows]

    def set_status(self, mask_id: int, status: ReviewStatus) -> MaskRevision:
        row = self.s.get(MaskRow, mask_id)
        if row is None:
            raise KeyError(mask_id)
        row.status = status.value
        self.s.flush()
        return to_mask(row)

    def class_pixels(self, mask_id: int) -> dict[int, int]:
        q = select(MaskClassRow.class_id, MaskClassRow.pixels).where(MaskClassRow.mask_id == mask_id)
        return {int(c): int(n) for c, n in self.s.execute(q)}

    def review_queue(self, limit: int | None = None, tag_id: int | None = None) -> list[MaskRevision]:
        """Head revisions waiting for review, lowest confidence first (unknown confidence first)."""
        q = (select(MaskRow).where(MaskRow.id.in_(head_ids_subquery()),
                                   MaskRow.status == ReviewStatus.TO_REVIEW.value)
             .order_by(MaskRow.confidence.is_not(None), MaskRow.confidence, MaskRow.id))
        if tag_id is not None:
            q = q.join(ImageTagRow, ImageTagRow.image_id == MaskRow.image_id).where(ImageTagRow.class_id == tag_id)
        if limit is not None:
            q = q.limit(limit)
        return [to_mask(r) for r in self.s.scalars(q)]

    def labelled_query(self, split: Split | None = None,
                       statuses: Sequence[ReviewStatus] = (ReviewStatus.ACCEPTED,)) -> Select:
        """(mask row, image row) of head revisions whose status is in ``statuses`` (of one split)."""
        q = (select(MaskRow, ImageRow).join(ImageRow, ImageRow.id == MaskRow.image_id)
             .where(MaskRow.id.in_(head_ids_subquery()), MaskRow.status.in_([s.value for s in statuses])))
        return q if split is None else q.where(ImageRow.split == split.value)

    def labelled(self, split: Split | None = None,
                 statuses: Sequence[ReviewStatus] = (ReviewStatus.ACCEPTED,)) -> list[MaskRevision]:
        """Head revisions whose status is in ``statuses`` (optionally of one split), by image id."""
        q = self.labelled_query(split, statuses).with_only_columns(*MASK_COLUMNS).order_by(MaskRow.image_id)
        return [mask_from_columns(r) for r in self.s.execute(q)]

    def labelled_summary(self, split: Split | None = None,
                         statuses: Sequence[ReviewStatus] = (ReviewStatus.ACCEPTED,),
                         tagged_with: Iterable[int] | None = None) -> dict[tuple[MaskKind, ReviewStatus], int]:
        """How many head revisions ``labelled`` returns, by (kind, status); ``tagged_with``: only images
        tagged with one of these class ids. One grouped query."""
        q = self.labelled_query(split, statuses)
        if tagged_with is not None:
            q = q.where(MaskRow.image_id.in_(select(ImageTagRow.image_id)
                                             .where(ImageTagRow.class_id.in_(list(tagged_with)))))
        q = q.with_only_columns(MaskRow.kind, MaskRow.status, func.count()).group_by(MaskRow.kind, MaskRow.status)
        return {(MaskKind(k), ReviewStatus(st)): int(n) for k, st, n in self.s.execute(q)}

    def labelled_tag_counts(self, split: Split | None = None,
                            statuses: Sequence[ReviewStatus] = (ReviewStatus.ACCEPTED,)) -> dict[int, int]:
        """Class id -> how many of the images ``labelled`` returns are tagged with it."""
        images = self.labelled_query(split, statuses).with_only_columns(MaskRow.image_id)
        q = (select(ImageTagRow.class_id, func.count()).where(ImageTagRow.image_id.in_(images))
             .group_by(ImageTagRow.class_id))
        return {int(c): int(n) for c, n in self.s.execute(q)}

    def count_labelled(self, split: Split | None = None,
                       statuses: Sequence[ReviewStatus] = (ReviewStatus.ACCEPTED,)) -> int:
        q = self.labelled_query(split, statuses).with_only_columns(func.count())
        return int(self.s.scalar(q) or 0)

    def all_shas(self) -> set[str]:
        """Every blob a mask revision points at (label maps and per-pixel confidence maps)."""
        maps = set(self.s.scalars(select(MaskRow.confidence_sha256).where(MaskRow.confidence_sha256.is_not(None))))
        return set(self.s.scalars(select(MaskRow.sha256))) | maps
