"""Local SQLite spool: the journal's durable queue.

Every accepted record is a ``pending`` row here until the backend has it; then the row is
deleted (a running total is kept). Rows the backend rejects permanently stay as ``rejected``
with the error, for inspection and :meth:`Spool.requeue_rejected`. Ids grow monotonically, so
replay order is acceptance order.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

_DDL = """
CREATE TABLE IF NOT EXISTS journal_spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name TEXT NOT NULL,
    natural_id TEXT NOT NULL,
    row_json TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'rejected')),
    accepted_s REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS journal_spool_status ON journal_spool (status, id);
CREATE TABLE IF NOT EXISTS journal_spool_totals (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO journal_spool_totals (name, value) VALUES ('written', 0);
"""


@dataclass(frozen=True, slots=True)
class SpoolRow:
    """A spooled record: ``id`` (acceptance order), target ``table``, ``natural_id``, ``row``
    (column dict), ``attempts`` and ``last_error``."""

    id: int
    table: str
    natural_id: str
    row: dict[str, Any]
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class SpoolCounts:
    """``pending`` and ``rejected`` rows now; ``written`` rows since the spool was created."""

    pending: int
    rejected: int
    written: int


class SpoolLockedError(RuntimeError):
    """Another process is already draining this spool."""


class Spool:
    """Thread-safe handle on the spool file.

    Args:
        path: SQLite file (created with its folder).
        synchronous: ``NORMAL`` (WAL: committed rows survive a process crash) or ``FULL``.
    """

    def __init__(self, path: Path, synchronous: Literal["NORMAL", "FULL"] = "NORMAL") -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, got {synchronous!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None,
                                     check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.executescript(_DDL)
        self._drain_lock: IO[str] | None = None

    def close(self) -> None:
        """Release the drain lock and close the file."""
        self.release_drain_lock()
        with self._lock:
            self._conn.close()

    def acquire_drain_lock(self) -> None:
        """Claim the right to drain this spool (advisory ``<spool>.lock``).

        Raises:
            SpoolLockedError: another process holds it.
        """
        handle = Path(str(self.path) + ".lock").open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise SpoolLockedError(f"{self.path} is being drained by another process") from exc
        self._drain_lock = handle

    def release_drain_lock(self) -> None:
        """Give the drain lock back (no-op if not held)."""
        if self._drain_lock is not None:
            fcntl.flock(self._drain_lock.fileno(), fcntl.LOCK_UN)
            self._drain_lock.close()
            self._drain_lock = None

    def add(self, table: str, natural_id: str, row: dict[str, Any], now_s: float) -> int:
        """Accept one record; returns its spool id."""
        payload = json.dumps(row, sort_keys=True, allow_nan=False)
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO journal_spool (table_name, natural_id, row_json, accepted_s)"
                " VALUES (?, ?, ?, ?)", (table, natural_id, payload, now_s))
            return int(cur.lastrowid or 0)

    def pending(self, limit: int) -> list[SpoolRow]:
        """The oldest ``limit`` pending rows, in acceptance order."""
        with self._lock:
            found = self._conn.execute(
                "SELECT id, table_name, natural_id, row_json, attempts, last_error"
                " FROM journal_spool WHERE status = 'pending' ORDER BY id LIMIT ?",
                (limit,)).fetchall()
        return [SpoolRow(int(i), str(t), str(n), json.loads(r), int(a), e)
                for i, t, n, r, a, e in found]

    def mark_written(self, ids: list[int]) -> None:
        """The backend has these rows: drop them and count them."""
        if not ids:
            return
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany("DELETE FROM journal_spool WHERE id = ?",
                                       [(i,) for i in ids])
                self._conn.execute(
                    "UPDATE journal_spool_totals SET value = value + ? WHERE name = 'written'",
                    (len(ids),))
                self._conn.execute("COMMIT")
            except sqlite3.Error:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def mark_attempt(self, ids: list[int], error: str) -> None:
        """A transient failure touched these rows: count it, keep them pending."""
        with self._lock:
            self._conn.executemany(
                "UPDATE journal_spool SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                [(error, i) for i in ids])

    def mark_rejected(self, row_id: int, error: str) -> None:
        """The backend refused this row permanently: keep it aside."""
        with self._lock:
            self._conn.execute(
                "UPDATE journal_spool SET status = 'rejected', attempts = attempts + 1,"
                " last_error = ? WHERE id = ?", (error, row_id))

    def requeue_rejected(self) -> int:
        """Make rejected rows pending again (after a migration or data fix)."""
        with self._lock:
            return self._conn.execute(
                "UPDATE journal_spool SET status = 'pending' WHERE status = 'rejected'").rowcount

    def rejected(self) -> list[SpoolRow]:
        """Rejected rows with their errors, in acceptance order."""
        with self._lock:
            found = self._conn.execute(
                "SELECT id, table_name, natural_id, row_json, attempts, last_error"
                " FROM journal_spool WHERE status = 'rejected' ORDER BY id").fetchall()
        return [SpoolRow(int(i), str(t), str(n), json.loads(r), int(a), e)
                for i, t, n, r, a, e in found]

    def counts(self) -> SpoolCounts:
        """Pending, rejected and written totals."""
        with self._lock:
            by_status = dict(self._conn.execute(
                "SELECT status, COUNT(*) FROM journal_spool GROUP BY status").fetchall())
            (written,) = self._conn.execute(
                "SELECT value FROM journal_spool_totals WHERE name = 'written'").fetchone()
        return SpoolCounts(pending=int(by_status.get("pending", 0)),
                           rejected=int(by_status.get("rejected", 0)), written=int(written))
