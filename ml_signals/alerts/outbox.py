"""Durable SQLite outbox of rendered Slack messages.

One row per alert, keyed by the event's idempotency key (``UNIQUE``: adding a key twice is a
no-op). Rows go ``pending -> delivered`` when Slack answered ok, or ``pending -> failed`` on a
permanent error (kept for inspection and :meth:`Outbox.requeue_failed`). The file runs in WAL
mode so the tick thread's inserts never wait for the delivery thread's reads.

Order: the head of a channel is its lowest pending id; the next head waits until that row is
delivered or failed, so each channel sees messages in submission order.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ml_signals.alerts.messages import SlackMessage

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
    """Rows per status."""

    pending: int
    delivered: int
    failed: int


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
        path: SQLite file (created with its folder if missing).
        synchronous: ``"NORMAL"`` (WAL: an accepted alert survives a process crash) or
            ``"FULL"`` (fsync each commit: also survives power loss).

    Raises:
        sqlite3.DatabaseError: if ``path`` is not an SQLite database.
    """

    def __init__(self, path: Path, synchronous: Literal["FULL", "NORMAL"] = "NORMAL") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None,
                                     check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, got {synchronous!r}")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.executescript(_DDL)

    def close(self) -> None:
        """Close the connection (pending rows stay in the file)."""
        with self._lock:
            self._conn.close()

    def add(self, message: SlackMessage, now_s: float) -> bool:
        """Store ``message`` as pending; ``False`` (and no change) if its key is already stored."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO alert_outbox (idempotency_key, kind, role, channel, text,"
                " blocks_json, mention, created_s, next_attempt_s)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (message.key, message.kind, message.role, message.channel, message.text,
                 json.dumps(list(message.blocks), ensure_ascii=False), int(message.mention),
                 now_s, now_s),
            )
            return cur.rowcount == 1

    def channel_heads(self) -> list[OutboxRow]:
        """The oldest pending row of each channel, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM alert_outbox WHERE id IN ("  # noqa: S608 - constant
                " SELECT MIN(id) FROM alert_outbox WHERE status = 'pending' GROUP BY channel)"
                " ORDER BY id"
            ).fetchall()
        return [_row(r) for r in rows]

    def mark_delivered(self, row_id: int, now_s: float) -> None:
        """Slack accepted the row."""
        with self._lock:
            self._conn.execute(
                "UPDATE alert_outbox SET status = 'delivered', delivered_s = ?,"
                " attempts = attempts + 1, last_error = NULL WHERE id = ?", (now_s, row_id))

    def mark_retry(self, row_id: int, next_attempt_s: float, error: str) -> int:
        """A transient failure: try again at ``next_attempt_s``; returns the attempt count."""
        with self._lock:
            self._conn.execute(
                "UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_s = ?,"
                " last_error = ? WHERE id = ?", (next_attempt_s, error, row_id))
            (attempts,) = self._conn.execute(
                "SELECT attempts FROM alert_outbox WHERE id = ?", (row_id,)).fetchone()
        return int(attempts)

    def mark_failed(self, row_id: int, error: str) -> None:
        """A permanent failure: keep the row as ``failed`` and let the channel move on."""
        with self._lock:
            self._conn.execute(
                "UPDATE alert_outbox SET status = 'failed', attempts = attempts + 1,"
                " last_error = ? WHERE id = ?", (error, row_id))

    def requeue_failed(self, now_s: float) -> int:
        """Put every failed row back to pending (after fixing a token or channel); returns
        how many. They are delivered after rows already pending on their channel only if
        their id is larger, i.e. in original submission order."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE alert_outbox SET status = 'pending', next_attempt_s = ?"
                " WHERE status = 'failed'", (now_s,))
            return cur.rowcount

    def counts(self) -> OutboxCounts:
        """Number of rows per status."""
        with self._lock:
            found = dict(self._conn.execute(
                "SELECT status, COUNT(*) FROM alert_outbox GROUP BY status").fetchall())
        return OutboxCounts(pending=int(found.get("pending", 0)),
                            delivered=int(found.get("delivered", 0)),
                            failed=int(found.get("failed", 0)))

    def rows(self, status: OutboxStatus | None = None) -> list[OutboxRow]:
        """All rows (optionally of one status) in id order."""
        with self._lock:
            if status is None:
                rows = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM alert_outbox ORDER BY id"  # noqa: S608 - constant
                ).fetchall()
            else:
                rows = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM alert_outbox WHERE status = ? ORDER BY id",  # noqa: S608
                    (status,)).fetchall()
        return [_row(r) for r in rows]
