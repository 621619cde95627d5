"""SQLite engine, per-connection pragmas, Alembic migrations from code, and the unit of work.

Every connection gets WAL journaling, ``foreign_keys=ON`` and a busy timeout so readers never fail
while a job writes. Write units of work start with ``BEGIN IMMEDIATE``: they take SQLite's write
lock up front, so a read-check-write (e.g. the optimistic check on a mask revision) cannot
interleave with another writer.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_IMMEDIATE = "incseg_begin_immediate"


def make_engine(db_path: Path, busy_timeout_ms: int = 30_000, foreign_keys: bool = True) -> Engine:
    """Engine on the SQLite file ``db_path`` with the store's pragmas on every connection."""
    engine = create_engine(f"sqlite:///{db_path}", poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the sqlite3 module) decide where transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def alembic_config() -> Config:
    """Alembic config built in code: no alembic.ini is needed on the user's side."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def migrate(db_path: Path, busy_timeout_ms: int = 30_000) -> None:
    """Upgrade the database file to the newest migration (creating it when absent).

    Runs on its own engine with foreign keys off (SQLite batch migrations copy tables) inside one
    ``BEGIN IMMEDIATE`` transaction, so two processes starting at once migrate only once.
    """
    engine = make_engine(db_path, busy_timeout_ms, foreign_keys=False)
    try:
        if current_revision(engine) == head_revision():
            return
        cfg = alembic_config()
        with engine.execution_options(**{_IMMEDIATE: True}).begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        log.info("migrated %s to %s", db_path, head_revision())
    finally:
        engine.dispose()


class Database:
    """Engine plus session factories; ``unit_of_work`` yields one session and commits on success."""

    def __init__(self, db_path: Path, busy_timeout_ms: int = 30_000) -> None:
        self.path = db_path
        self.engine = make_engine(db_path, busy_timeout_ms)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(**{_IMMEDIATE: True}),
                                   expire_on_commit=False)

    @contextmanager
    def unit_of_work(self, write: bool = False) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        factory = self._write if write else self._read
        with factory() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
