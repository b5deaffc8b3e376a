"""``/performance`` from the trade journal: today, the last 7 days and since the start.

Reads the journal's backend (the SQLite file, or Supabase) with its own connection, opened per
request and closed after it; the journal's writer thread keeps its own. Records still waiting
in the journal's spool (written within about a second) are not counted yet. Statistics are
:func:`ml_signals.journal.summary.period_stats`, the same numbers as the scheduled reports and
the ``daily_performance`` rows.
"""

from __future__ import annotations

import logging
from typing import Final

from ml_signals.control.answers import PerformanceAnswer, PeriodLine
from ml_signals.journal.backend import JournalBackend, JournalWriteError
from ml_signals.journal.config import JournalConfig
from ml_signals.journal.records import PredictionRecord, SetupRecord, TradeRecord
from ml_signals.journal.summary import period_stats
from ml_signals.risk.types import DAY_S, utc_day

log = logging.getLogger(__name__)

WEEK_S: Final[int] = 7 * DAY_S
PREDICTION_LOOKBACK_S: Final[int] = 7 * DAY_S
"""Predictions are read from this long before the earliest window, so a trade closed in the
window whose setup was scored earlier (the plan's time limits are at most 72 h) still counts
toward ML precision."""

READ_TIMEOUT_S: Final[float] = 3.0
"""HTTP timeout of a Supabase read: the read runs on the tick thread, so keep it short."""


class JournalPerformance:
    """Reads setups, predictions and closed trades back from the journal's backend.

    Args:
        config: the journal's configuration (:attr:`ml_signals.journal.Journal.config`).
    """

    def __init__(self, config: JournalConfig) -> None:
        self.config = config

    def describe(self) -> str:
        """Where the numbers come from, for the answer (never a secret)."""
        if self.config.backend == "sqlite":
            return f"journal (SQLite {self.config.sqlite_path})"
        return "journal (Supabase)"

    def answer(self, now_s: float, start_s: float, realised_quote: float) -> PerformanceAnswer:
        """Statistics of today (since 00:00 UTC), the last 7 days and since ``start_s``.

        A journal that cannot be read gives an answer without periods that says why (logged),
        never an exception: the tick must go on.
        """
        windows = (("today", float(utc_day(int(now_s)) * DAY_S)), ("7 days", now_s - WEEK_S),
                   ("since start", min(start_s, now_s)))
        since = min(s for _, s in windows)
        try:
            setups, predictions, trades = self._read(since)
        except (JournalWriteError, OSError) as exc:
            log.warning("/performance: journal not readable: %s", exc)
            return PerformanceAnswer(now_s, (), f"{self.describe()}: not readable ({exc})",
                                     realised_quote, outcome="error")
        end = now_s + 1e-6  # windows end now, inclusive
        periods = tuple(
            PeriodLine(label, start, period_stats(start, end, setups, predictions, trades))
            for label, start in windows)
        return PerformanceAnswer(now_s, periods, self.describe(), realised_quote)

    def _read(self, since_s: float) -> tuple[list[SetupRecord], list[PredictionRecord],
                                              list[TradeRecord]]:
        backend = self._backend()
        if backend is None:
            return [], [], []
        try:
            setups = [SetupRecord.from_row(r) for r in backend.fetch_rows(
                SetupRecord.TABLE, "recorded_s", "recorded_s", since_s)]
            predictions = [PredictionRecord.from_row(r) for r in backend.fetch_rows(
                PredictionRecord.TABLE, "scored_s", "scored_s", since_s - PREDICTION_LOOKBACK_S)]
            trades = [TradeRecord.from_row(r) for r in backend.fetch_rows(
                TradeRecord.TABLE, "closed_s", "closed_s", since_s)]
        finally:
            backend.close()
        return setups, predictions, trades

    def _backend(self) -> JournalBackend | None:
        """A fresh backend, ``None`` when the SQLite journal has not been created yet."""
        if self.config.backend == "sqlite":
            from ml_signals.journal.sqlite_backend import SQLiteJournalBackend

            if not self.config.sqlite_path.is_file():
                return None
            return SQLiteJournalBackend(self.config.sqlite_path, create_schema=False)
        from ml_signals.journal.supabase_backend import SupabaseJournalBackend

        return SupabaseJournalBackend(self.config.model_copy(
            update={"request_timeout_s": READ_TIMEOUT_S}))
