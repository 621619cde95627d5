"""Migrations on an empty database, connection pragmas, and schema/migration agreement."""
from __future__ import annotations

import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from incseg_app.services import open_store
from incseg_app.storage.db import head_revision
from incseg_app.storage.orm import Base

EXPECTED_TABLES = {"classes", "images", "image_tags", "masks", "mask_classes", "model_versions", "blob_refs",
                   "class_metrics", "jobs", "settings", "leases", "alembic_version"}


def test_empty_store_migrates_to_head(tmp_path):
    ctx = open_store(tmp_path / "fresh")
    try:
        con = sqlite3.connect(ctx.db.path)
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        con.close()
        assert EXPECTED_TABLES <= tables
        assert version == head_revision()
        assert (ctx.root / "blobs").is_dir()
    finally:
        ctx.close()


def test_reopening_is_idempotent_and_keeps_data(tmp_path):
    from incseg_app.services import classes
    ctx = open_store(tmp_path / "s")
    classes.create_class(ctx, "cat")
    ctx.close()
    again = open_store(tmp_path / "s")
    assert [c.name for c in classes.list_classes(again)] == ["cat"]
    again.close()


def test_pragmas_on_every_connection(tmp_path):
    ctx = open_store(tmp_path / "s")
    try:
        for _ in range(2):  # NullPool: each unit of work is a new connection
            with ctx.unit_of_work() as s:
                assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
                assert s.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    finally:
        ctx.close()


def test_foreign_keys_are_enforced(tmp_path):
    import pytest
    from sqlalchemy.exc import IntegrityError
    ctx = open_store(tmp_path / "s")
    try:
        with pytest.raises(IntegrityError):
            with ctx.unit_of_work(write=True) as s:
                s.execute(text("INSERT INTO image_tags (image_id, class_id) VALUES (99, 99)"))
    finally:
        ctx.close()


def test_migrations_match_the_orm(tmp_path):
    ctx = open_store(tmp_path / "s")
    try:
        with ctx.db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == []
    finally:
        ctx.close()
