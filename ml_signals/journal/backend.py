"""The journal storage contract and its error types.

A backend writes column dicts (``Record.to_row()``) with idempotent upserts keyed by each
table's natural id, and reads trades back. Two implementations: :mod:`.sqlite_backend` (default,
a local file, no account) and :mod:`.supabase_backend` (supabase-py over PostgREST).

Errors split in two, because the journal's worker treats them differently:

* :class:`TransientJournalError` — the store is unreachable or overloaded (connection refused,
  timeout, HTTP 5xx, auth misconfiguration): keep the rows spooled and retry later, in order;
* :class:`PermanentJournalError` — the store rejected these rows (constraint violation, missing
  table or column): retrying cannot help; the worker isolates the offending row, logs it by
  table and id, keeps it in the spool as ``rejected`` and writes the rest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from ml_signals.journal.records import (
    PredictionRecord,
    SetupRecord,
    TradeRecord,
)
from ml_signals.journal.risk_records import DailyPerformanceRecord

Row = dict[str, Any]


class JournalWriteError(Exception):
    """A write of ``ids`` to ``table`` failed.

    Attributes:
        table: target table.
        ids: natural ids of the rows in the failed request.
        detail: the store's message (no secrets).
    """

    def __init__(self, table: str, ids: Sequence[str], detail: str) -> None:
        self.table = table
        self.ids = list(ids)
        self.detail = detail
        shown = ", ".join(self.ids[:5]) + (" …" if len(self.ids) > 5 else "")
        super().__init__(f"{table} [{shown}]: {detail}")


class TransientJournalError(JournalWriteError):
    """The store could not be reached or answered 5xx; retry later."""


class PermanentJournalError(JournalWriteError):
    """The store rejected the rows (constraint, missing table/column); do not retry as is."""


class JournalBackend(ABC):
    """Storage for journal records.

    Implementations provide :meth:`upsert_rows`, :meth:`fetch_rows` and :meth:`close`; the
    typed ``upsert_*`` and :meth:`fetch_trades` helpers are built on them.
    """

    name: str = "backend"

    @abstractmethod
    def upsert_rows(self, table: str, rows: Sequence[Row]) -> None:
        """Insert or replace ``rows`` of ``table`` by the table's natural id, atomically.

        ``rows`` must not contain the same natural id twice.

        Raises:
            TransientJournalError: store unreachable / overloaded; nothing was written.
            PermanentJournalError: the store rejected the request; nothing was written.
        """

    @abstractmethod
    def fetch_rows(self, table: str, order_by: str, since_column: str | None = None,
                   since_value: float | None = None) -> list[Row]:
        """All rows of ``table`` (optionally ``since_column >= since_value``) by ``order_by``.

        Raises:
            TransientJournalError: store unreachable.
            PermanentJournalError: missing table or column.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections (default: nothing to do)."""

    def upsert_setup(self, *records: SetupRecord) -> None:
        """Upsert ``strategy_setups`` rows by ``setup_id``."""
        self.upsert_rows(SetupRecord.TABLE, [r.to_row() for r in records])

    def upsert_prediction(self, *records: PredictionRecord) -> None:
        """Upsert ``ml_predictions`` rows by ``prediction_id`` (their setups must exist)."""
        self.upsert_rows(PredictionRecord.TABLE, [r.to_row() for r in records])

    def upsert_trade(self, *records: TradeRecord) -> None:
        """Upsert ``trades`` rows by ``trade_id``."""
        self.upsert_rows(TradeRecord.TABLE, [r.to_row() for r in records])

    def upsert_daily(self, *records: DailyPerformanceRecord) -> None:
        """Upsert ``daily_performance`` rows by ``(date, strategy)``."""
        self.upsert_rows(DailyPerformanceRecord.TABLE, [r.to_row() for r in records])

    def fetch_trades(self, since_s: float | None = None) -> list[TradeRecord]:
        """Trades opened at or after ``since_s`` (all when ``None``), by ``opened_s``."""
        rows = self.fetch_rows(TradeRecord.TABLE, "opened_s",
                               None if since_s is None else "opened_s", since_s)
        return [TradeRecord.from_row(r) for r in rows]
