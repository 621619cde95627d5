"""``incseg`` command line: the same services as the web UI.

Every command accepts ``--storage DIR`` (default ``$INCSEG_STORAGE`` or ``./storage``), either before
or after the command name. Domain errors print one line and exit with status 2.
"""
from __future__ import annotations

from collections.abc import Sequence

from . import admin_cmds, ml_cmds, store_cmds  # noqa: F401  (they register their commands on ``cli``)
from .base import cli


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="incseg")
