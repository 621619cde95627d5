"""Spawning ``crash_child.py`` in a real second process, killing it at the right moment, and reading
the store's database from outside (shared by the crash, lease and busy-store tests)."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = Path(__file__).resolve().parents[2]


def spawn(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(CHILD), *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], timeout_s: float = 240.0) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` holds (fails if the child exits or never gets there)."""
    deadline = time.monotonic() + timeout_s
    try:
        while not ready():
            if proc.poll() is not None:
                pytest.fail(f"child exited early ({proc.returncode}): {proc.stderr.read()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("child never reached the point to kill it at")
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def query(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:  # table not created yet / locked: not ready
        return []
    finally:
        con.close()
