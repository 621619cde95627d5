"""Alembic environment for the incseg store.

The app passes an open connection in ``config.attributes["connection"]`` (see ``storage.db.migrate``);
developers autogenerating a revision may instead set ``sqlalchemy.url``. Batch mode is on because
SQLite cannot ALTER most things in place.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from incseg_app.storage.orm import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)
