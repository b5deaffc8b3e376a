"""One delivering holder per queue file, whatever path reaches it.

The lock is an advisory ``flock`` on ``<real path of the file>.lock``: the path is resolved with
:func:`os.path.realpath` first, so a symlink to the file (or to its folder) names the same lock
file as the file itself. Two senders on one outbox through a symlink therefore exclude each
other instead of both delivering (which posted 253 of 400 alerts twice when the lock was named
after the path string). ``flock`` locks belong to the open file, so two handles in one process
exclude each other too, and the kernel releases the lock when the holder dies (SIGKILL
included).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from ml_signals.durable_queue.types import QueueLockedError


def real_path(path: Path | str) -> Path:
    """``path`` with every symlink resolved (the file need not exist yet)."""
    return Path(os.path.realpath(path))


class DeliveryLock:
    """Advisory exclusive lock of one queue file.

    Args:
        path: the queue file (any path reaching it: symlinks are resolved).

    Attributes:
        lock_path: ``<real path>.lock``; holds the holder's pid while locked (for inspection).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.lock_path = Path(f"{real_path(path)}.lock")
        self._handle: IO[str] | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._handle is not None

    def acquire(self, error: type[QueueLockedError] = QueueLockedError,
                what: str = "delivered") -> None:
        """Take the lock without waiting (no-op if already held by this object).

        Args:
            error: the :class:`QueueLockedError` subclass to raise.
            what: verb for the message (``"delivered"``, ``"drained"``).

        Raises:
            QueueLockedError: (or ``error``) another holder has it; names both paths.
        """
        if self._handle is not None:
            return
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.lock_path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise error(f"{self.path} is being {what} by another process "
                        f"(lock {self.lock_path})") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Give the lock back (no-op if not held)."""
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
