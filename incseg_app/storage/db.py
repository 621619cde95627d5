"""Engines for the two back ends (SQLite file, PostgreSQL server), Alembic migrations, the unit of work.

SQLite (the embedded default): every connection gets WAL journaling, ``foreign_keys=ON`` and a busy
timeout so readers never fail while a job writes; write units of work start with ``BEGIN IMMEDIATE``,
which takes SQLite's one write lock up front, so a read-check-write cannot interleave with another
writer.

PostgreSQL (``postgresql://…``, for a team on one server): writers run concurrently. A
read-check-write locks what it checks (``SELECT … FOR UPDATE`` on the row, see ``lock_row``, or a
table lock where a new key is computed), unique constraints catch the rest, and the one thing that
must not overlap any writer — deleting blobs that no row references — takes an exclusive advisory
lock that every write transaction holds in shared mode (``unit_of_work(write=True, exclusive=True)``).
Lock waits are bounded by the busy timeout (``lock_timeout``), as on SQLite.

On both, a write that cannot get its lock in time raises ``StoreBusyError`` (a clear sentence, not a
driver traceback); ``retry_busy`` retries a callable with backoff.
"""
from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from ..domain.errors import ConflictError, StoreBusyError, ValidationError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_IMMEDIATE = "incseg_begin_immediate"
_WAIT_MS = "incseg_lock_wait_ms"  # a shorter lock wait than the busy timeout for one transaction
# PostgreSQL advisory lock keys (any 64-bit numbers; they only have to be this app's own).
BLOB_LOCK_KEY = 0x1AC5E6B10B  # shared by every write transaction, exclusive while blobs are deleted
MIGRATE_LOCK_KEY = 0x1AC5E6A1E  # one migration at a time when several processes start at once
_BUSY_PG_CODES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock wait timed out
T = TypeVar("T")


def database_url(url: str | Path) -> URL:
    """A SQLAlchemy URL from a URL string or a SQLite file path; ``postgresql://`` uses psycopg 3."""
    if isinstance(url, Path) or "://" not in str(url):
        return URL.create("sqlite", database=str(url))
    parsed = make_url(str(url))
    if parsed.get_backend_name() in ("postgresql", "postgres"):
        if parsed.get_driver_name() in ("", "psycopg2", "psycopg") and parsed.drivername != "postgresql+psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ValidationError("a PostgreSQL database URL needs the psycopg driver: install incseg with "
                                  "the 'postgresql' extra (pip install 'incseg[postgresql]')") from None
        return parsed
    if parsed.get_backend_name() != "sqlite":
        raise ValidationError(f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
                              "use a SQLite file (the default) or postgresql://user@host/dbname")
    return parsed


def make_engine(url: str | Path | URL, busy_timeout_ms: int = 30_000, foreign_keys: bool = True) -> Engine:
    """Engine on ``url`` (or a SQLite file path) with the store's per-connection settings."""
    url = url if isinstance(url, URL) else database_url(url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_timeout_ms, foreign_keys)
    # lock_timeout bounds every lock wait like SQLite's busy timeout; the statement itself may run long.
    # Server options already in the URL (``?options=-csearch_path%3Dteam``) are kept.
    options = " ".join(filter(None, [url.query.get("options", ""), f"-c lock_timeout={int(busy_timeout_ms)}"]))
    return create_engine(url.difference_update_query(["options"]), pool_pre_ping=True, pool_size=4,
                         max_overflow=8, connect_args={"options": options})


def _sqlite_engine(url: URL, busy_timeout_ms: int, foreign_keys: bool) -> Engine:
    """Pooled connections (five kept open, any number more while busy): opening one and setting its
    pragmas costs milliseconds, and a page of the gallery runs dozens of short units of work."""
    engine = create_engine(url, poolclass=QueuePool, pool_size=5, max_overflow=-1)

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
        options = conn.get_execution_options()
        if options.get(_WAIT_MS) is not None or conn.info.get(_WAIT_MS) is not None:
            # A pooled connection keeps its pragmas: set this transaction's wait, and note it so the
            # next transaction on the connection puts the store's busy timeout back.
            wait = options.get(_WAIT_MS)
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait if wait is not None else busy_timeout_ms)}")
            conn.info[_WAIT_MS] = wait
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_IMMEDIATE, False) else "BEGIN")

    return engine


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` means "another transaction holds the lock" (worth waiting and retrying)."""
    if isinstance(exc, StoreBusyError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in _BUSY_PG_CODES:
        return True
    text_ = str(exc.orig).lower()
    return isinstance(exc, OperationalError) and ("database is locked" in text_ or "database is busy" in text_)


def retry_busy(fn: Callable[[], T], deadline_s: float, what: str, first_wait_s: float = 0.05,
               max_wait_s: float = 5.0) -> T:
    """Call ``fn`` until it does not fail with a busy store, waiting with jittered exponential backoff
    (``first_wait_s`` doubling up to ``max_wait_s``) for at most ``deadline_s`` seconds in all; then the
    last ``StoreBusyError`` propagates."""
    end = time.monotonic() + deadline_s
    wait = first_wait_s
    while True:
        try:
            return fn()
        except (StoreBusyError, DBAPIError) as exc:
            if not is_busy(exc) or time.monotonic() + wait > end:
                raise
            log.warning("%s: the store is busy, retrying in %.2f s", what, wait)
            time.sleep(wait * random.uniform(0.5, 1.0))
            wait = min(wait * 2, max_wait_s)


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
    """Whether the database's Alembic revisions are exactly the migration files' heads (without
    importing alembic, so a command that only reads the store starts fast)."""
    try:
        with engine.connect() as conn:
            current = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except DBAPIError:  # no alembic_version table yet: a new store
        return False
    return bool(current) and current == _file_heads()


def migrate(url: str | Path, busy_timeout_ms: int = 30_000) -> None:
    """Upgrade the database (a SQLite file path or a URL) to the newest migration, creating it when absent.

    One transaction, taken exclusively (SQLite ``BEGIN IMMEDIATE``; PostgreSQL an advisory lock, and
    its DDL is transactional too), so two processes starting at once migrate only once. SQLite runs
    with foreign keys off: its batch migrations copy tables.
    """
    engine = make_engine(url, busy_timeout_ms, foreign_keys=False)
    try:
        if _at_head(engine) or current_revision(engine) == head_revision():
            return
        from alembic import command

        cfg = alembic_config()
        sqlite = engine.dialect.name == "sqlite"
        with engine.execution_options(**{_IMMEDIATE: True}).begin() as conn:
            if not sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        log.info("migrated %s to %s", engine.url.render_as_string(hide_password=True), head_revision())
    finally:
        engine.dispose()


def lock_row(session: Session, row_class: type, key: Any) -> Any:
    """The ORM row ``row_class[key]`` read with ``SELECT … FOR UPDATE`` (None if absent).

    On PostgreSQL this makes a read-check-write atomic: a second transaction doing the same waits
    here until the first commits and then sees its result. SQLite's write transactions already hold
    the database's one write lock, so there it is a plain read.
    """
    return session.get(row_class, key, with_for_update=True, populate_existing=True)


def lock_table(session: Session, table_name: str) -> None:
    """On PostgreSQL, block other writers of ``table_name`` (not its readers) until this transaction
    ends, for a write that computes a new key from what it reads (e.g. the next class id)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f'LOCK TABLE "{table_name}" IN SHARE ROW EXCLUSIVE MODE'))


class Database:
    """Engine plus session factories; ``unit_of_work`` yields one session and commits on success.

    ``path`` is the SQLite file (None on PostgreSQL); ``url`` the URL without its password.
    """

    def __init__(self, url: str | Path, busy_timeout_ms: int = 30_000) -> None:
        full = database_url(url)
        self.dialect = full.get_backend_name()
        self.path: Path | None = Path(full.database) if self.dialect == "sqlite" and full.database else None
        self.url = full.render_as_string(hide_password=True)
        self.busy_timeout_ms = busy_timeout_ms
        self.engine = make_engine(full, busy_timeout_ms)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(**{_IMMEDIATE: True}),
                                   expire_on_commit=False)

    @property
    def sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def unit_of_work(self, write: bool = False, exclusive: bool = False,
                     wait_ms: int | None = None) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception.

        ``write``: on SQLite take the write lock now. ``exclusive``: also wait until no other write
        transaction runs (PostgreSQL; SQLite writers are exclusive anyway) — for deleting blobs.
        A lock not obtained within the busy timeout (or ``wait_ms``, for writes that may be skipped)
        raises ``StoreBusyError``; on PostgreSQL a unique key taken by a concurrent writer raises
        ``ConflictError``.
        """
        factory = self._write if write or exclusive else self._read
        if wait_ms is not None:
            factory = sessionmaker(self.engine.execution_options(**{_IMMEDIATE: write or exclusive,
                                                                    _WAIT_MS: wait_ms}), expire_on_commit=False)
        try:
            with factory() as session:
                try:
                    if wait_ms is not None and not self.sqlite:
                        session.execute(text(f"SET LOCAL lock_timeout = {int(wait_ms)}"))
                    if (write or exclusive) and not self.sqlite:
                        fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
                        session.execute(text(f"SELECT {fn}(:k)"), {"k": BLOB_LOCK_KEY})
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        except DBAPIError as exc:
            if is_busy(exc):
                waited = (wait_ms if wait_ms is not None else self.busy_timeout_ms) / 1000
                raise StoreBusyError(
                    f"the store is busy: another process has held its write lock for more than {waited:g} s "
                    "(a long import, a repair or a training step saving its results); nothing was changed, "
                    "try again in a moment") from exc
            if isinstance(exc, IntegrityError) and getattr(exc.orig, "sqlstate", None) == "23505":
                raise ConflictError("someone else saved the same thing at the same moment; reload and try "
                                    "again") from exc
            raise

    def dispose(self) -> None:
        self.engine.dispose()
