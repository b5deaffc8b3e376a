"""Durable SQLite outbox of rendered Slack messages, on the shared durable queue core.

One row per alert, keyed by the event's idempotency key (``UNIQUE``: adding a key twice is a
no-op). :meth:`Outbox.add` hands the row to the queue's memory and returns; the queue's writer
thread stores it (:mod:`ml_signals.durable_queue`: locked file, full disk, limits, close).
Rows go ``pending -> delivered`` when Slack answered ok, or ``pending -> failed`` on a
permanent error (kept for inspection and :meth:`Outbox.requeue_failed`). Delivered rows are
deleted ``retention_s`` after delivery (:meth:`Outbox.prune`, 7 days by default); failed rows
stay until requeued. The file runs in WAL mode.

Order: the head of a channel is its lowest pending id; the next head waits until that row is
delivered or failed, so each channel sees messages in submission order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ml_signals.alerts.messages import SlackMessage
from ml_signals.durable_queue import (
    CloseReport,
    DeliveryLock,
    DurableQueue,
    QueueFault,
    QueueSchema,
    QueueSettings,
)

OutboxStatus = Literal["pending", "delivered", "failed"]

_DDL = """
CREATE TABLE IF NOT EXISTS alert_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    channel TEXT NOT NULL,
    text TEXT NOT NULL,
    blocks_json TEXT NOT NULL,
    mention INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_s REAL NOT NULL,
    next_attempt_s REAL NOT NULL,
    delivered_s REAL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS alert_outbox_pending ON alert_outbox (status, channel, id);
"""

SCHEMA = QueueSchema(
    name="alert outbox",
    table="alert_outbox",
    ddl=_DDL,
    # ON CONFLICT on the key only: a key stored meanwhile by another process is skipped, while
    # a NOT NULL or CHECK violation still raises (OR IGNORE would drop such a row silently).
    insert_sql=("INSERT INTO alert_outbox (idempotency_key, kind, role, channel, text,"
                " blocks_json, mention, created_s, next_attempt_s)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING"),
    pending_sql="SELECT COUNT(*) FROM alert_outbox WHERE status = 'pending'",
    keys_sql="SELECT idempotency_key FROM alert_outbox",
    prune_sql=("DELETE FROM alert_outbox WHERE status = 'delivered' AND delivered_s < ?"
               " RETURNING idempotency_key"),
)
"""The outbox table as the durable queue writes it."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A stored alert.

    Attributes:
        id: insertion order (monotonic).
        key: idempotency key.
        kind, role, channel, text, mention: as in :class:`SlackMessage`.
        blocks: Block Kit blocks (decoded JSON).
        status: ``pending``, ``delivered`` or ``failed``.
        attempts: delivery attempts so far.
        next_attempt_s: earliest time of the next attempt (UTC s).
        last_error: last error text (secrets already redacted), if any.
    """

    id: int
    key: str
    kind: str
    role: str
    channel: str
    text: str
    blocks: list[dict[str, object]]
    mention: bool
    status: OutboxStatus
    attempts: int
    next_attempt_s: float
    last_error: str | None


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    """Rows per status; ``pending`` includes ``buffered`` (accepted, not yet in the file)."""

    pending: int
    delivered: int
    failed: int
    buffered: int = 0


_COLUMNS = ("id, idempotency_key, kind, role, channel, text, blocks_json, mention, status, "
            "attempts, next_attempt_s, last_error")


def _row(values: tuple[Any, ...]) -> OutboxRow:
    return OutboxRow(
        id=int(values[0]), key=str(values[1]), kind=str(values[2]), role=str(values[3]),
        channel=str(values[4]), text=str(values[5]), blocks=json.loads(str(values[6])),
        mention=bool(values[7]), status=values[8], attempts=int(values[9]),
        next_attempt_s=float(values[10]),
        last_error=None if values[11] is None else str(values[11]),
    )


class Outbox:
    """Thread-safe handle on the outbox file.

    Args:
        path: SQLite file (created with its folder if missing; symlinks are resolved).
        settings: memory limit, pending cap (``max_pending``), retention of delivered rows and
            write timings; :class:`~ml_signals.durable_queue.QueueSettings` documents the
            defaults.
        on_fault: called with each :class:`~ml_signals.durable_queue.QueueFault` (write
            failures, limits, unwritten records at close); faults are logged either way.
        on_written: called on the writer thread after alerts reached the file.

    Raises:
        sqlite3.DatabaseError: if ``path`` is not an SQLite database.
    """

    def __init__(self, path: Path, settings: QueueSettings | None = None,
                 on_fault: Callable[[QueueFault], None] | None = None,
                 on_written: Callable[[], None] | None = None) -> None:
        self.path = Path(path)
        self.queue = DurableQueue(self.path, SCHEMA, settings, on_fault, on_written)

    def close(self, timeout_s: float = 5.0) -> CloseReport:
        """Write alerts still in memory (for up to ``timeout_s``), then close the file.

        Pending rows stay in the file for the next start; alerts that could not be written are
        logged with their count and returned in the report.
        """
        return self.queue.close(timeout_s)

    def add(self, message: SlackMessage, now_s: float) -> bool:
        """Accept ``message`` as pending and return at once (no disk I/O).

        Returns:
            False (and no change) if its key is already known to this handle: stored in the file
            when it was opened, or accepted since, and not pruned.

        Raises:
            QueueFullError: memory buffer or pending cap full; the alert is not accepted.
            QueueClosedError: the outbox was closed.
            ValueError, TypeError: blocks that are not JSON.
        """
        params = (message.key, message.kind, message.role, message.channel, message.text,
                  json.dumps(list(message.blocks), ensure_ascii=False), int(message.mention),
                  now_s, now_s)
        return self.queue.put(params, key=message.key)

    def flush_writes(self, timeout_s: float) -> bool:
        """Wait until every accepted alert is in the file; True if reached in time."""
        return self.queue.flush(timeout_s)

    def delivery_lock(self) -> DeliveryLock:
        """The lock a delivering process must hold (keyed by the file's real path)."""
        return self.queue.delivery_lock()

    def prune(self, now_s: float) -> int:
        """Delete rows delivered more than ``retention_s`` before ``now_s``; returns how many."""
        return self.queue.prune(now_s)

    def channel_heads(self) -> list[OutboxRow]:
        """The oldest pending row of each channel (in the file), oldest first."""
        with self.queue.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM alert_outbox WHERE id IN ("  # noqa: S608 - constant
                " SELECT MIN(id) FROM alert_outbox WHERE status = 'pending' GROUP BY channel)"
                " ORDER BY id"
            ).fetchall()
        return [_row(r) for r in rows]

    def mark_delivered(self, row_id: int, now_s: float) -> None:
        """Slack accepted the row."""
        with self.queue.connection() as conn:
            conn.execute(
                "UPDATE alert_outbox SET status = 'delivered', delivered_s = ?,"
                " attempts = attempts + 1, last_error = NULL WHERE id = ?", (now_s, row_id))

    def mark_retry(self, row_id: int, next_attempt_s: float, error: str) -> int:
        """A transient failure: try again at ``next_attempt_s``; returns the attempt count."""
        with self.queue.connection() as conn:
            (attempts,) = conn.execute(
                "UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_s = ?,"
                " last_error = ? WHERE id = ? RETURNING attempts",
                (next_attempt_s, error, row_id)).fetchone()
        return int(attempts)

    def mark_failed(self, row_id: int, error: str) -> None:
        """A permanent failure: keep the row as ``failed`` and let the channel move on."""
        with self.queue.connection() as conn:
            conn.execute(
                "UPDATE alert_outbox SET status = 'failed', attempts = attempts + 1,"
                " last_error = ? WHERE id = ?", (error, row_id))

    def requeue_failed(self, now_s: float) -> int:
        """Put every failed row back to pending (after fixing a token or channel); returns
        how many. They are delivered after rows already pending on their channel only if
        their id is larger, i.e. in original submission order."""
        with self.queue.connection() as conn:
            return conn.execute(
                "UPDATE alert_outbox SET status = 'pending', next_attempt_s = ?"
                " WHERE status = 'failed'", (now_s,)).rowcount

    def counts(self) -> OutboxCounts:
        """Rows per status; alerts still in memory count as pending (and as ``buffered``)."""
        with self.queue.snapshot() as (conn, buffered):  # each alert counted once
            found = dict(conn.execute(
                "SELECT status, COUNT(*) FROM alert_outbox GROUP BY status").fetchall())
        return OutboxCounts(pending=int(found.get("pending", 0)) + buffered,
                            delivered=int(found.get("delivered", 0)),
                            failed=int(found.get("failed", 0)), buffered=buffered)

    def rows(self, status: OutboxStatus | None = None) -> list[OutboxRow]:
        """All rows (optionally of one status) in id order.

        Inspection, not delivery: it first waits (up to ``read_timeout_s``) for alerts this
        handle accepted to reach the file, so a caller reads its own submissions; rows still in
        memory after that wait are not listed (:meth:`counts` shows them as ``buffered``).
        """
        self.queue.flush(self.queue.settings.read_timeout_s)
        with self.queue.connection() as conn:
            if status is None:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM alert_outbox ORDER BY id"  # noqa: S608 - constant
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM alert_outbox WHERE status = ? ORDER BY id",  # noqa: S608
                    (status,)).fetchall()
        return [_row(r) for r in rows]
