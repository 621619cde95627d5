"""Builds a part from its option slice, turning bad keys or values into a ``ValidationError``."""
from __future__ import annotations

import inspect
from typing import Any, TypeVar

from ...domain.errors import ValidationError
from ..parts import Part

P = TypeVar("P", bound=Part)


def build_part(cls: type[P], part_name: str, opts: dict[str, Any]) -> P:
    """``cls(**opts)`` after checking every key against ``cls.__init__`` and numbers against defaults.

    Raises:
        ValidationError: an unknown option, or a value whose type differs from the default's
            (ints are accepted where floats are expected).
    """
    params = {n: p for n, p in inspect.signature(cls.__init__).parameters.items() if n != "self"}
    unknown = sorted(set(opts) - set(params))
    if unknown:
        raise ValidationError(f"part {part_name!r}: unknown option(s) {', '.join(unknown)}; "
                              f"options: {', '.join(params)}")
    checked: dict[str, Any] = {}
    for key, value in opts.items():
        default = params[key].default
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, (int, float)):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = float(value) if ok and isinstance(default, float) else value
        elif isinstance(default, str):
            ok = isinstance(value, str)
        else:
            ok = True
        if not ok:
            raise ValidationError(f"part {part_name!r}: option {key} expects a {type(default).__name__}, "
                                  f"got {value!r}")
        checked[key] = value
    return cls(**checked)
