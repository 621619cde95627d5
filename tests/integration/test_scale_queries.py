"""Set-based queries (issue 15 #4): planning a step costs the same number of SQL statements at any
store size (it was two per image: 100,003 at 50,000 images), id lists longer than SQLite's 32,766
parameters work, and the image list pages with a matching count."""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest
from sqlalchemy import event, insert

from incseg_app.domain import MaskKind, ReviewStatus, Split
from incseg_app.methods.registry import METHODS
from incseg_app.services import classes, images, masks, planning
from incseg_app.services.store_data import labelled_entries
from incseg_app.storage.orm import ImageRow, ImageTagRow, MaskRow
from incseg_app.storage.repositories import ImageRepo
from store_helpers import image_bytes, store  # noqa: F401


@contextmanager
def counted(ctx):
    """Count the SQL statements the block sends."""
    statements: list[str] = []

    def listen(conn, cursor, statement, *args):
        statements.append(statement)
    event.listen(ctx.db.engine, "before_cursor_execute", listen)
    try:
        yield statements
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", listen)


def _bulk_store(ctx, n: int, with_masks: int = 0) -> None:
    """``n`` image rows tagged "car" (and ``with_masks`` accepted masks) inserted directly, in bulk."""
    car = classes.create_class(ctx, "car").id
    with ctx.unit_of_work(write=True) as s:
        s.execute(insert(ImageRow), [{"sha256": f"{k:064x}", "width": 4, "height": 4,
                                       "split": "train" if k % 5 else "val", "original_name": f"{k}.png"}
                                      for k in range(1, n + 1)])
        s.execute(insert(ImageTagRow), [{"image_id": k, "class_id": car} for k in range(1, n + 1)])
        if with_masks:
            s.execute(insert(MaskRow), [{"image_id": k, "kind": "ground_truth", "status": "accepted",
                                          "sha256": f"{k:064x}", "author": "", "source": ""}
                                         for k in range(1, with_masks + 1)])


@pytest.mark.parametrize("n", [30, 300])
def test_planning_sends_the_same_few_statements_at_any_size(store, n):
    _bulk_store(store, n, with_masks=n)
    with counted(store) as statements:
        entries = labelled_entries(store, Split.TRAIN, include_pseudo=True)
    assert len(entries) == n - n // 5 and all(e.tag_ids == (1,) for e in entries)
    assert len(statements) <= 3, statements
    with counted(store) as statements:
        plan = planning.plan_step_for(store, joint=False)
    assert plan.n_train_images == n - n // 5 and plan.n_val_images == n // 5 and plan.new_classes == ["car"]
    assert len(statements) <= 10, statements


def test_id_lists_longer_than_sqlites_parameter_limit(store):
    """Issue 15 #4: ``IN (...)`` over every image id broke above 32,766 ids."""
    n = 40_000
    _bulk_store(store, n)
    every = images.list_images(store)
    assert len(every) == n and every[-1].tags == ("car",)
    assert images.count_images(store, tag="car") == n
    assert masks.head_masks(store, range(1, n + 1)) == {}
    with store.unit_of_work() as s:
        repo = ImageRepo(s)
        assert len(repo.by_ids(range(1, n + 1))) == n
        assert len(repo.ids_by_sha(f"{k:064x}" for k in range(1, n + 1))) == n
        repo.merge_tags({k: [1] for k in range(1, n + 1)})  # already tagged: nothing to add, no error


def test_the_image_list_pages_and_counts_with_the_same_filters(store):
    classes.create_class(store, "car")
    classes.create_class(store, "bus")
    recs = images.import_uploads(store, [(f"{k}.png", image_bytes(8, 6, k)) for k in range(23)], ["car"]).imported
    for rec in recs[:9]:
        masks.save_mask(store, rec.id, np.zeros((6, 8), np.uint8), MaskKind.PSEUDO, ReviewStatus.TO_REVIEW)
    images.set_tags(store, recs[4].id, ["bus"])
    for filters in ({}, {"tag": "car"}, {"tag": "bus"}, {"status": ReviewStatus.TO_REVIEW},
                    {"has_mask": False}, {"split": Split.VAL}):
        whole = [r.id for r in images.list_images(store, **filters)]
        pages = [r.id for offset in range(0, 30, 7) for r in images.list_images(store, offset=offset, limit=7,
                                                                                  **filters)]
        assert pages == whole and images.count_images(store, **filters) == len(whole), filters
    assert images.count_images(store, status=ReviewStatus.TO_REVIEW) == 9
    assert images.count_images(store, has_mask=False) == 14


def test_the_torch_free_joint_list_matches_the_registry():
    assert planning.JOINT_METHODS == {name for name, method in METHODS.items() if method.joint}


def test_bulk_column_reads_give_the_same_records_as_the_orm(store):
    """``labelled`` builds records from columns (no ORM objects); every field must match ``to_mask`` /
    ``to_image``, so a column added to the tables cannot be silently dropped by the fast path."""
    from incseg_app.storage.repositories.images import to_image
    from incseg_app.storage.repositories.masks import to_mask

    classes.create_class(store, "car")
    recs = images.import_uploads(store, [(f"{k}.png", image_bytes(8, 6, k)) for k in range(3)], ["car"]).imported
    for rec in recs:
        masks.save_mask(store, rec.id, np.ones((6, 8), np.uint8), MaskKind.PSEUDO, ReviewStatus.TO_REVIEW,
                        confidence=0.5)
    with store.unit_of_work() as s:
        rows = ImageRepo(s).labelled(None, (ReviewStatus.TO_REVIEW,))
        assert len(rows) == 3
        for mask, image, tag_ids in rows:
            assert mask == to_mask(s.get(MaskRow, mask.id))
            assert image == to_image(s.get(ImageRow, image.id), ["car"]) and tag_ids == (1,)
