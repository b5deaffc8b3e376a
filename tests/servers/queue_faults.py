"""Real processes and file systems for the durable queue tests.

* :class:`LockHolder`: another Python process that opens a SQLite file and holds
  ``BEGIN EXCLUSIVE`` (the file's write lock) until told to let go.
* :func:`small_tmpfs`: a size-limited tmpfs mounted for one test (root only), unmounted after.
* :func:`fill_disk`: write a filler file until the file system refuses another byte.
* :func:`child`: start ``python -c`` with the repository and a test folder importable.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
print("released", flush=True)
"""


def child(script: str, *args: str, extra_path: Path | None = None,
          env: dict[str, str] | None = None,
          stderr_path: Path | None = None) -> subprocess.Popen[str]:
    """``python -c script args...`` with the repository, ``tests/`` (and ``extra_path``) on
    PYTHONPATH, ``env`` added to the environment. Standard error goes to ``stderr_path`` when
    given (a child that logs much must not block on a full pipe), else to a pipe."""
    paths = [str(REPO_ROOT), str(REPO_ROOT / "tests")] + ([str(extra_path)] if extra_path else [])
    full_env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(paths)}
    stderr: Any = subprocess.PIPE
    if stderr_path is not None:
        stderr = stderr_path.open("w", encoding="utf-8")
    try:
        return subprocess.Popen([sys.executable, "-c", script, *args],  # noqa: S603 - test child
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                text=True, env=full_env, cwd=REPO_ROOT)
    finally:
        if stderr_path is not None:
            stderr.close()


class LockHolder:
    """A second process holding ``BEGIN EXCLUSIVE`` on ``path`` from :meth:`start` to
    :meth:`release` (always released on exit of the ``with`` block)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.proc: subprocess.Popen[str] | None = None
        self._released = False
        self._release_lock = threading.Lock()

    def start(self) -> LockHolder:
        """Start the process and wait until it holds the lock."""
        self.proc = child(_HOLDER, str(self.path))
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        assert line == "locked", f"lock holder failed: {line!r} {self.proc.stderr.read()!r}"
        return self

    @property
    def holding(self) -> bool:
        """True while the process runs (it holds the lock until released)."""
        return self.proc is not None and self.proc.poll() is None

    def release(self) -> None:
        """Commit, end the process and wait for it (once; callable from any thread)."""
        with self._release_lock:
            if self.proc is None or self._released:
                return
            self._released = True
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            assert self.proc.stdout.readline().strip() == "released"
            assert self.proc.wait(timeout=30) == 0

    def __enter__(self) -> LockHolder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        try:
            self.release()
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=30)


@contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` (``mount -o size=...``, e.g. ``"1m"``) on ``where``.

    Skips the test when not running as root or when mounting is not permitted (a container
    without CAP_SYS_ADMIN); always unmounts afterwards.
    """
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}",  # noqa: S603, S607
                           "tmpfs", str(where)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)  # noqa: S603, S607


def fill_disk(filler: Path) -> int:
    """Append to ``filler`` until the file system is full (down to the last byte it takes);
    returns the bytes written."""
    written = 0
    chunk = 64 * 1024
    with filler.open("wb", buffering=0) as handle:
        while chunk >= 1:
            try:
                written += handle.write(b"\0" * chunk) or 0
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                chunk //= 2
    return written


def file_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows of ``sql`` read with a fresh connection (WAL readers are not blocked by a writer's
    lock)."""
    conn = sqlite3.connect(str(path), timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def kill_quietly(proc: subprocess.Popen[str]) -> None:
    """Kill and reap ``proc`` if it still runs."""
    with suppress(ProcessLookupError):
        proc.kill()
    proc.wait(timeout=30)
