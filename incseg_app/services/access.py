"""Who may use the web UI and read its files: logins, failed-login throttling, owner-only folders.

Login sources, first match wins: the ``auth`` argument (``--auth``), the ``auth_file`` argument
(``--auth-file``), ``$INCSEG_AUTH`` (one "user:pass"), ``$INCSEG_AUTH_FILE``. A credentials file holds
one "user:pass" per line; blank lines and lines starting with ``#`` are skipped. The result is the
list of (user, password) pairs Gradio's ``launch(auth=...)`` takes, or None for no login. A password
given on the command line is visible to every user of the machine in ``ps``: the launcher warns and
recommends ``--auth-file`` (mode 600).

``LoginThrottle`` slows password guessing: after a few failures a client must wait, twice as long
after each further failure, before its next attempt is even checked. ``private_dir`` makes the folders
that hold user data (the store, Gradio's upload cache) readable by their owner only, so a login
protects the data from other users of the machine too.
"""
from __future__ import annotations

import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..domain.errors import BadFileError, ValidationError

log = logging.getLogger(__name__)

PASSWORD_ON_COMMAND_LINE = ("--auth puts the password in the process list, where every user of this machine can "
                            "read it (ps); use --auth-file FILE (one user:pass per line, chmod 600) or INCSEG_AUTH")


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


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


class LoginThrottle:
    """Failed logins per client (an address), with a growing wait.

    The first ``free`` failures cost nothing; after failure number ``free + k`` (k ≥ 0) the client must
    wait ``base_s · 2^k`` seconds (at most ``max_s``) before another attempt is checked; a success
    clears its record, and records untouched for ``forget_s`` are dropped. Thread-safe.
    """

    def __init__(self, free: int = 3, base_s: float = 1.0, max_s: float = 300.0, forget_s: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.base_s, self.max_s, self.forget_s, self.clock = free, base_s, max_s, forget_s, clock
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def _wait(self, record: _Failures) -> float:
        if record.count < self.free:
            return 0.0
        return min(self.base_s * 2.0 ** (record.count - self.free), self.max_s)

    def retry_after(self, client: str) -> float:
        """Seconds ``client`` must still wait before its next attempt is checked (0 = it may try now)."""
        with self._lock:
            record = self._failures.get(client)
            if record is None:
                return 0.0
            return max(0.0, record.last + self._wait(record) - self.clock())

    def record(self, client: str, ok: bool) -> None:
        """Note the outcome of a checked attempt."""
        now = self.clock()
        with self._lock:
            if ok:
                self._failures.pop(client, None)
                return
            record = self._failures.setdefault(client, _Failures())
            record.count += 1
            record.last = now
            if len(self._failures) > 10_000:  # forget quiet clients so the table stays small
                self._failures = {c: r for c, r in self._failures.items() if now - r.last < self.forget_s}


def is_shared(path: Path) -> bool:
    """Whether group or other users have any access to ``path`` (POSIX only)."""
    return os.name == "posix" and bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def private_dir(path: Path | str) -> Path:
    """``path`` as a folder only its owner can read: created with mode 0700, or tightened to 0700 when
    it exists and belongs to this user. ValidationError for a symlink or another user's folder (it
    could be a trap set in a shared temp folder)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise ValidationError(f"{path} must be a folder, not a link or a file")
    if os.name == "posix":
        if st.st_uid != os.getuid():
            raise ValidationError(f"{path} belongs to another user; choose a folder of your own")
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            os.chmod(path, 0o700)
    return path


def gradio_cache_dir() -> Path:
    """The owner-only folder Gradio keeps uploads and served files in: ``$GRADIO_TEMP_DIR``, else
    ``<system temp>/incseg-gradio-<uid>`` (Gradio's default, ``/tmp/gradio``, is readable by everyone).
    Sets ``GRADIO_TEMP_DIR`` so Gradio, imported after this, uses it."""
    chosen = os.environ.get("GRADIO_TEMP_DIR") or os.path.join(
        tempfile.gettempdir(), f"incseg-gradio-{os.getuid() if hasattr(os, 'getuid') else 'user'}")
    folder = private_dir(chosen)
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder
