"""Bounded ``IN (...)`` lists: SQLite refuses more than 32,766 bound parameters per statement (fewer on
older builds) and PostgreSQL plans long lists badly, so a query over many ids runs once per chunk."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

IN_CHUNK = 900  # ids per IN list: far below every back end's parameter limit


def chunked(values: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """``values`` in lists of at most ``size`` (the last one shorter); nothing for an empty input."""
    chunk: list[T] = []
    for value in values:
        chunk.append(value)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
