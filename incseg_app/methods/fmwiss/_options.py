"""Builds an FMWISS part from its option slice, turning bad keys or values into a ``ValidationError``.

Every part's ``__init__`` takes keyword options with defaults; the default's type is the option's type
(an int is accepted for a float; a list of numbers for a tuple).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, TypeVar

from ...domain.errors import ValidationError
from ..parts import Part

P = TypeVar("P", bound=Part)


def _check(part_name: str, key: str, default: Any, value: Any) -> Any:
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and isinstance(default, int) and not isinstance(value, int):
            ok = False
        value = float(value) if ok and isinstance(default, float) else value
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, tuple):
        ok = isinstance(value, (list, tuple)) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        value = tuple(value) if ok else value
    else:
        ok = True
    if not ok:
        raise ValidationError(f"part {part_name!r}: option {key} expects a value like {default!r}, got {value!r}")
    return value


def part_factory(cls: type[P], part_name: str) -> Callable[[dict[str, Any]], P]:
    """A ``PartFactory`` that checks every option against ``cls.__init__`` before building the part."""

    def build(opts: dict[str, Any]) -> P:
        params = {n: p for n, p in inspect.signature(cls.__init__).parameters.items() if n != "self"}
        unknown = sorted(set(opts) - set(params))
        if unknown:
            raise ValidationError(f"part {part_name!r}: unknown option(s) {', '.join(unknown)}; "
                                  f"options: {', '.join(params)}")
        return cls(**{k: _check(part_name, k, params[k].default, v) for k, v in opts.items()})

    build.__name__ = f"build_{part_name}"
    return build
