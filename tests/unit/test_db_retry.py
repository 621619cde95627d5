"""``storage.db.retry_busy`` / ``is_busy``: which errors mean "the store is busy", and the backoff."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from incseg_app.domain.errors import StoreBusyError
from incseg_app.storage import db


def _locked() -> OperationalError:
    return OperationalError("INSERT …", {}, sqlite3.OperationalError("database is locked"))


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_busy_errors_are_recognised():
    assert db.is_busy(_locked()) and db.is_busy(StoreBusyError("x"))
    for code in ("40001", "40P01", "55P03"):  # serialization failure, deadlock, lock wait timed out
        assert db.is_busy(OperationalError("UPDATE …", {}, _PgError(code)))
    assert not db.is_busy(IntegrityError("INSERT …", {}, _PgError("23505")))
    assert not db.is_busy(OperationalError("SELECT …", {}, sqlite3.OperationalError("no such table: x")))
    assert not db.is_busy(ValueError("database is locked"))


def test_retry_busy_backs_off_until_it_succeeds(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(db.time, "sleep", waits.append)
    monkeypatch.setattr(db.random, "uniform", lambda a, b: 1.0)
    outcomes = [_locked(), StoreBusyError("busy"), _locked(), "done"]

    def attempt() -> str:
        out = outcomes.pop(0)
        if isinstance(out, Exception):
            raise out
        return out

    assert db.retry_busy(attempt, deadline_s=60, what="test", first_wait_s=0.1, max_wait_s=0.3) == "done"
    assert waits == pytest.approx([0.1, 0.2, 0.3])  # doubling, capped


def test_retry_busy_gives_up_after_the_deadline_and_never_retries_other_errors(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(db.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(db.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    calls = []

    def always_busy() -> None:
        calls.append(clock[0])
        raise StoreBusyError("busy")

    with pytest.raises(StoreBusyError):
        db.retry_busy(always_busy, deadline_s=5.0, what="test", first_wait_s=0.5, max_wait_s=2.0)
    assert clock[0] <= 5.0 and len(calls) >= 4

    def broken() -> None:
        calls.append("broken")
        raise ValueError("not a lock problem")

    calls.clear()
    with pytest.raises(ValueError):
        db.retry_busy(broken, deadline_s=5.0, what="test")
    assert calls == ["broken"]
