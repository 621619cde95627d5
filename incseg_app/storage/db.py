"""SQLite engine, per-connection pragmas, Alembic migrations from code, and the unit of work.

Every connection gets WAL journaling, ``foreign_keys=ON`` and a busy timeout so readers never fail
while a job writes. Write units of work start with ``BEGIN IMMEDIATE``: they take SQLite's write
lock up front, so a read-check-write (e.g. the optimistic check on a mask revision) cannot
interleave with another writer. Long writes commit in short batches (see ``services.images``), so a
writer waits at most one batch; a lock held past the busy timeout all the same becomes a
``StoreBusyError`` with a message, never a raw ``database is locked``.

Alembic is imported only when the database is not at the newest revision: a CLI command that only
reads the store (``incseg images list``) starts without it.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from ..domain.errors import StoreBusyError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_IMMEDIATE = "incseg_begin_immediate"


def make_engine(db_path: Path, busy_timeout_ms: int = 30_000, foreign_keys: bool = True) -> Engine:
    """Engine on the SQLite file ``db_path`` with the store's pragmas on every connection.

    Connections are pooled (five kept open, any number more while busy): opening one and setting its
    pragmas costs milliseconds, and a page of the gallery runs dozens of short units of work."""
    engine = create_engine(f"sqlite:///{db_path}", poolclass=QueuePool, pool_size=5, max_overflow=-1)

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
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision\s*=\s*(.+)$", re.M)


def _file_heads() -> set[str]:
    """Head revision ids, read from the migration files' ``revision``/``down_revision`` lines."""
    revisions, downs = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if found := _REVISION.search(source):
            revisions.add(found.group(1))
        if down := _DOWN.search(source):
            downs.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return revisions - downs


def _at_head(engine: Engine) -> bool:
    """Whether the database's Alembic revisions are exactly the migration files' heads (no alembic)."""
    try:
        with engine.connect() as conn:
            current = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except OperationalError:  # no alembic_version table yet: a new store
        return False
    return bool(current) and current == _file_heads()


def migrate(db_path: Path, busy_timeout_ms: int = 30_000) -> None:
    """Upgrade the database file to the newest migration (creating it when absent).

    Runs on its own engine with foreign keys off (SQLite batch migrations copy tables) inside one
    ``BEGIN IMMEDIATE`` transaction, so two processes starting at once migrate only once.
    """
    engine = make_engine(db_path, busy_timeout_ms, foreign_keys=False)
    try:
        if _at_head(engine) or current_revision(engine) == head_revision():
            return
        from alembic import command

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
        self.busy_timeout_ms = busy_timeout_ms
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
            except OperationalError as exc:
                session.rollback()
                if is_busy(exc):
                    raise StoreBusyError(
                        f"the store is busy: another process has held its write lock for more than "
                        f"{self.busy_timeout_ms / 1000:.0f} s (a long import, a repair or a training step "
                        "saving its results); nothing was changed, try again in a moment") from exc
                raise
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


def is_busy(exc: OperationalError) -> bool:
    """Whether a database error means "the write lock is taken" (SQLITE_BUSY / SQLITE_LOCKED)."""
    message = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in message or "database table is locked" in message or "busy" in message
