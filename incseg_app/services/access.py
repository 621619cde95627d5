"""Login credentials of the web UI: ``--auth user:pass``, a credentials file, or the environment.

Sources, first match wins: the ``auth`` argument (``--auth``), the ``auth_file`` argument
(``--auth-file``), ``$INCSEG_AUTH`` (one "user:pass"), ``$INCSEG_AUTH_FILE``. A credentials file holds
one "user:pass" per line; blank lines and lines starting with ``#`` are skipped. The result is the
list of (user, password) pairs Gradio's ``launch(auth=...)`` takes, or None for no login.
"""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from ..domain.errors import BadFileError, ValidationError

log = logging.getLogger(__name__)


def parse_credential(value: str, where: str = "auth") -> tuple[str, str]:
    """"user:pass" -> (user, pass); the password may contain ':'; neither part may be empty."""
    user, sep, password = value.strip().partition(":")
    if not sep or not user.strip() or not password:
        raise ValidationError(f"{where}: credentials must be given as user:pass")
    return user.strip(), password


def read_credentials_file(path: Path | str) -> list[tuple[str, str]]:
    """Every "user:pass" line of ``path``; BadFileError naming the file (and line) when unusable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadFileError(str(path), f"credentials file cannot be read ({exc})") from None
    creds = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            try:
                creds.append(parse_credential(line, f"{path} line {n}"))
            except ValidationError:
                raise BadFileError(str(path), f"line {n} is not user:pass") from None
    if not creds:
        raise BadFileError(str(path), "credentials file holds no user:pass line")
    if os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("credentials file %s is readable by other users; chmod 600 it", path)
    return creds


def resolve_credentials(auth: str | None = None, auth_file: str | Path | None = None) -> list[tuple[str, str]] | None:
    """The UI's logins from the arguments, else ``$INCSEG_AUTH`` / ``$INCSEG_AUTH_FILE``; None = no login."""
    if auth:
        return [parse_credential(auth)]
    if auth_file:
        return read_credentials_file(auth_file)
    if env := os.environ.get("INCSEG_AUTH"):
        return [parse_credential(env, "INCSEG_AUTH")]
    if env_file := os.environ.get("INCSEG_AUTH_FILE"):
        return read_credentials_file(env_file)
    return None
