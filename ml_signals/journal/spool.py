"""Local SQLite spool: the journal's durable queue, on the shared durable queue core.

:meth:`Spool.add` hands a record to the queue's memory and returns; the queue's writer thread
stores it as a ``pending`` row (:mod:`ml_signals.durable_queue`: locked file, full disk,
limits, close). When the backend has a row, the row is deleted at once (a running total is
kept), so the spool needs no retention pruning. Rows the backend rejects permanently stay as
``rejected`` with the error, for inspection and :meth:`Spool.requeue_rejected`. Ids grow
monotonically, so replay order is acceptance order.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_signals.durable_queue import (
    CloseReport,
    DeliveryLock,
    DurableQueue,
    QueueFault,
    QueueLockedError,
    QueueSchema,
    QueueSettings,
)

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

SCHEMA = QueueSchema(
    name="journal spool",
    table="journal_spool",
    ddl=_DDL,
    insert_sql=("INSERT INTO journal_spool (table_name, natural_id, row_json, accepted_s)"
                " VALUES (?, ?, ?, ?)"),
    pending_sql="SELECT COUNT(*) FROM journal_spool WHERE status = 'pending'",
)
"""The spool table as the durable queue writes it (no keys: the backend upserts by natural
id, so a replayed row is harmless)."""


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
    """``pending`` and ``rejected`` rows now; ``written`` rows since the spool was created.
    ``pending`` includes ``buffered`` (accepted, not yet in the file)."""

    pending: int
    rejected: int
    written: int
    buffered: int = 0


class SpoolLockedError(QueueLockedError):
    """Another process is already draining this spool."""


class Spool:
    """Thread-safe handle on the spool file.

    Args:
        path: SQLite file (created with its folder; symlinks are resolved).
        settings: memory limit, pending cap (``max_pending``) and write timings;
            :class:`~ml_signals.durable_queue.QueueSettings` documents the defaults
            (``retention_s`` does not apply: written rows are deleted at once).
        on_fault: called with each :class:`~ml_signals.durable_queue.QueueFault`; faults are
            logged either way.
        on_written: called on the writer thread after records reached the file.

    Raises:
        sqlite3.DatabaseError: if ``path`` is not an SQLite database.
    """

    def __init__(self, path: Path, settings: QueueSettings | None = None,
                 on_fault: Callable[[QueueFault], None] | None = None,
                 on_written: Callable[[], None] | None = None) -> None:
        self.path = Path(path)
        self.queue = DurableQueue(self.path, SCHEMA, settings, on_fault, on_written)
        self._drain_lock: DeliveryLock | None = None
        self._accepted = 0

    def close(self, timeout_s: float = 5.0) -> CloseReport:
        """Release the drain lock, write records still in memory (for up to ``timeout_s``) and
        close the file. Records that could not be written are logged with their count and
        returned in the report."""
        self.release_drain_lock()
        return self.queue.close(timeout_s)

    def acquire_drain_lock(self) -> None:
        """Claim the right to drain this spool (advisory ``<real path>.lock``).

        Raises:
            SpoolLockedError: another process (or handle) holds it, whatever path it used.
        """
        lock = self._drain_lock or self.queue.delivery_lock()
        lock.acquire(SpoolLockedError, "drained")
        self._drain_lock = lock

    def release_drain_lock(self) -> None:
        """Give the drain lock back (no-op if not held)."""
        if self._drain_lock is not None:
            self._drain_lock.release()
            self._drain_lock = None

    def add(self, table: str, natural_id: str, row: dict[str, Any], now_s: float) -> int:
        """Accept one record and return at once (no disk I/O).

        Returns:
            its acceptance number in this handle (1, 2, ...); the file assigns the row id when
            the writer stores it.

        Raises:
            ValueError: ``row`` holds NaN or infinity (refused before acceptance).
            TypeError: ``row`` is not JSON-serialisable.
            QueueFullError: memory buffer or pending cap full; the record is not accepted.
            QueueClosedError: the spool was closed.
        """
        payload = json.dumps(row, sort_keys=True, allow_nan=False)
        self.queue.put((table, natural_id, payload, now_s))
        self._accepted += 1
        return self._accepted

    def flush_writes(self, timeout_s: float) -> bool:
        """Wait until every accepted record is in the file; True if reached in time."""
        return self.queue.flush(timeout_s)

    def pending(self, limit: int) -> list[SpoolRow]:
        """The oldest ``limit`` pending rows in the file, in acceptance order."""
        with self.queue.connection() as conn:
            found = conn.execute(
                "SELECT id, table_name, natural_id, row_json, attempts, last_error"
                " FROM journal_spool WHERE status = 'pending' ORDER BY id LIMIT ?",
                (limit,)).fetchall()
        return [SpoolRow(int(i), str(t), str(n), json.loads(r), int(a), e)
                for i, t, n, r, a, e in found]

    def mark_written(self, ids: list[int]) -> None:
        """The backend has these rows: drop them and count them."""
        if not ids:
            return
        with self.queue.connection() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("DELETE FROM journal_spool WHERE id = ?", [(i,) for i in ids])
                conn.execute(
                    "UPDATE journal_spool_totals SET value = value + ? WHERE name = 'written'",
                    (len(ids),))
                conn.execute("COMMIT")
            except sqlite3.Error:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def mark_attempt(self, ids: list[int], error: str) -> None:
        """A transient failure touched these rows: count it, keep them pending."""
        with self.queue.connection() as conn:
            conn.executemany(
                "UPDATE journal_spool SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                [(error, i) for i in ids])

    def mark_rejected(self, row_id: int, error: str) -> None:
        """The backend refused this row permanently: keep it aside."""
        with self.queue.connection() as conn:
            conn.execute(
                "UPDATE journal_spool SET status = 'rejected', attempts = attempts + 1,"
                " last_error = ? WHERE id = ?", (error, row_id))

    def requeue_rejected(self) -> int:
        """Make rejected rows pending again (after a migration or data fix)."""
        with self.queue.connection() as conn:
            return conn.execute(
                "UPDATE journal_spool SET status = 'pending' WHERE status = 'rejected'").rowcount

    def rejected(self) -> list[SpoolRow]:
        """Rejected rows with their errors, in acceptance order."""
        with self.queue.connection() as conn:
            found = conn.execute(
                "SELECT id, table_name, natural_id, row_json, attempts, last_error"
                " FROM journal_spool WHERE status = 'rejected' ORDER BY id").fetchall()
        return [SpoolRow(int(i), str(t), str(n), json.loads(r), int(a), e)
                for i, t, n, r, a, e in found]

    def counts(self) -> SpoolCounts:
        """Pending (records in memory included), rejected and written totals."""
        with self.queue.snapshot() as (conn, buffered):  # each record counted once
            by_status = dict(conn.execute(
                "SELECT status, COUNT(*) FROM journal_spool GROUP BY status").fetchall())
            (written,) = conn.execute(
                "SELECT value FROM journal_spool_totals WHERE name = 'written'").fetchone()
        return SpoolCounts(pending=int(by_status.get("pending", 0)) + buffered,
                           rejected=int(by_status.get("rejected", 0)), written=int(written),
                           buffered=buffered)
