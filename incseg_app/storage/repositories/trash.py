"""Deleted images: a manifest of the rows they had, kept (with their blobs) until the trash is purged."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...domain.records import ImageRecord
from ..orm import ImageRow, ImageTagRow, MaskClassRow, MaskRow, TrashRow
from .images import ImageRepo


class TrashRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def move_image(self, image_id: int) -> int:
        """Write the image's manifest (file, split, tag ids, every mask revision with its class pixel
        counts and confidence map) to the trash and delete its rows; returns the trash id. KeyError when
        it is missing."""
        image = self.s.get(ImageRow, image_id)
        if image is None:
            raise KeyError(image_id)
        tags = sorted(self.s.scalars(select(ImageTagRow.class_id).where(ImageTagRow.image_id == image_id)))
        revs = list(self.s.scalars(select(MaskRow).where(MaskRow.image_id == image_id).order_by(MaskRow.id)))
        pixels: dict[int, dict[str, int]] = {}
        if revs:
            q = select(MaskClassRow).where(MaskClassRow.mask_id.in_([r.id for r in revs]))
            for row in self.s.scalars(q):
                pixels.setdefault(row.mask_id, {})[str(row.class_id)] = row.pixels
        manifest = {"sha256": image.sha256, "width": image.width, "height": image.height, "split": image.split,
                    "original_name": image.original_name, "tag_ids": tags,
                    "masks": [{"id": r.id, "kind": r.kind, "status": r.status, "sha256": r.sha256,
                               "parent_id": r.parent_id, "author": r.author, "confidence": r.confidence,
                               "confidence_sha256": r.confidence_sha256, "source": r.source,
                               "pixels": pixels.get(r.id, {})} for r in revs]}
        for rev in reversed(revs):  # children first: a revision's parent must outlive it
            self.s.execute(delete(MaskRow).where(MaskRow.id == rev.id))
        self.s.execute(delete(ImageTagRow).where(ImageTagRow.image_id == image_id))
        self.s.delete(image)
        self.s.flush()
        return self.add(image_id, image.original_name, manifest)

    def restore(self, trash_id: int) -> ImageRecord:
        """Recreate a trashed image and its revisions (new ids, same parent chain) and forget the entry."""
        row = self.s.get(TrashRow, trash_id)
        if row is None:
            raise KeyError(trash_id)
        m = dict(row.manifest)
        image = ImageRow(sha256=m["sha256"], width=m["width"], height=m["height"], split=m["split"],
                         original_name=m["original_name"])
        self.s.add(image)
        self.s.flush()
        self.s.add_all(ImageTagRow(image_id=image.id, class_id=c) for c in m["tag_ids"])
        new_ids: dict[int, int] = {}
        for rev in m["masks"]:
            mask = MaskRow(image_id=image.id, kind=rev["kind"], status=rev["status"], sha256=rev["sha256"],
                           parent_id=new_ids.get(rev["parent_id"]), author=rev["author"],
                           confidence=rev["confidence"], source=rev["source"],
                           confidence_sha256=rev.get("confidence_sha256"))
            self.s.add(mask)
            self.s.flush()
            new_ids[rev["id"]] = mask.id
            self.s.add_all(MaskClassRow(mask_id=mask.id, class_id=int(c), pixels=n) for c, n in rev["pixels"].items())
        self.s.delete(row)
        self.s.flush()
        restored = ImageRepo(self.s).get(image.id)
        assert restored is not None
        return restored

    def add(self, image_id: int, original_name: str, manifest: dict[str, Any]) -> int:
        row = TrashRow(image_id=image_id, original_name=original_name, manifest=manifest)
        self.s.add(row)
        self.s.flush()
        return row.id

    def get(self, trash_id: int) -> tuple[int, str, dict[str, Any], datetime] | None:
        """(former image id, file name, manifest, deleted at) of an entry."""
        row = self.s.get(TrashRow, trash_id)
        return None if row is None else (row.image_id, row.original_name, dict(row.manifest), row.deleted_at)

    def list(self) -> list[tuple[int, int, str, datetime]]:
        """(trash id, former image id, file name, deleted at), newest first."""
        q = select(TrashRow.id, TrashRow.image_id, TrashRow.original_name, TrashRow.deleted_at)
        return [(r[0], r[1], r[2], r[3]) for r in self.s.execute(q.order_by(TrashRow.id.desc()))]

    def remove(self, trash_ids: list[int] | None = None) -> None:
        """Forget trash entries (all when None)."""
        q = delete(TrashRow)
        if trash_ids is not None:
            q = q.where(TrashRow.id.in_(trash_ids))
        self.s.execute(q)

    def all_shas(self) -> set[str]:
        """Blobs the trash still needs (images, their mask revisions and confidence maps)."""
        out: set[str] = set()
        for manifest in self.s.scalars(select(TrashRow.manifest)):
            out.add(manifest["sha256"])
            for rev in manifest.get("masks", []):
                out.update(sha for sha in (rev["sha256"], rev.get("confidence_sha256")) if sha)
        return out
