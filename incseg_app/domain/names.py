"""Class-name normal form and the rules a class name must follow (stdlib ``unicodedata`` only).

A name is stored NFKC-normalised with runs of white space collapsed, and compared by ``name_key``
(NFKC of the case-folded NFKC form, so ``Café`` typed precomposed or decomposed, or ``ＣＡＲ`` in
full width, is the same class as ``café`` / ``car``). ``name_problem`` refuses what a reader cannot
see or tell apart: control, format (zero-width, BOM), bidirectional-override and private-use
characters, names made only of digits (commands read those as class ids), and names mixing Latin,
Greek and Cyrillic letters (``саr`` with two Cyrillic letters looks exactly like ``car``).
"""
from __future__ import annotations

import unicodedata

CONFUSABLE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")


def normalize_name(name: str) -> str:
    """NFKC form with leading/trailing white space removed and inner runs collapsed to one space."""
    return " ".join(unicodedata.normalize("NFKC", name or "").split())


def name_key(name: str) -> str:
    """The key names are compared (and kept unique) by: NFKC, case-folded, NFKC again."""
    return unicodedata.normalize("NFKC", normalize_name(name).casefold())


def _script(ch: str) -> str | None:
    """LATIN / GREEK / CYRILLIC for letters of those scripts (from the Unicode character name)."""
    if not ch.isalpha():
        return None
    first = unicodedata.name(ch, "").split(" ", 1)[0]
    return first if first in CONFUSABLE_SCRIPTS else None


def name_problem(name: str) -> str | None:
    """Why a normalised name cannot be a class name, or None when it can."""
    for ch in name:
        category = unicodedata.category(ch)
        if category == "Cc":
            return "contains control characters"
        if category in ("Cf", "Co", "Cs", "Cn") or unicodedata.bidirectional(ch) in (
                "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"):
            return (f"contains the invisible or formatting character U+{ord(ch):04X} "
                    f"({unicodedata.name(ch, 'unnamed')})")
    if name.replace(" ", "").isdigit():
        return "is made only of digits (commands read such names as class ids)"
    scripts = sorted({s for s in map(_script, name) if s})
    if len(scripts) > 1:
        return (f"mixes {' and '.join(s.title() for s in scripts)} letters, which look alike "
                "(e.g. Cyrillic 'а' and Latin 'a'); type it in one alphabet")
    return None
