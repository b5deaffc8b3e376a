"""Period statistics for the scheduled reports and the ``daily_performance`` table.

Pure functions over journal records, so the 07:00 / 19:00 / weekly Slack reports and the
``daily_performance`` rows are computed the same way (original plan, "Report Schedule" and
"Database Schema" table 9).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ml_signals.alerts.events import DailySummary
from ml_signals.alerts.schedule import ScheduledReport
from ml_signals.journal.records import (
    PredictionRecord,
    SetupRecord,
    TradeRecord,
)
from ml_signals.journal.risk_records import DailyPerformanceRecord


@dataclass(frozen=True, slots=True)
class PeriodStats:
    """Counts over ``[start_s, end_s)``.

    Attributes:
        setups_detected: setups recorded (``recorded_s``) in the window.
        setups_taken: of those, taken.
        trades_count: trades closed (``closed_s``) in the window.
        wins: closed trades with ``pnl_quote > 0``; losses: the others.
        net_pnl_quote: sum of their ``pnl_quote``.
        ml_precision: wins / closed trades whose setup a model approved (a prediction with a
            confidence and ``take``); ``None`` when there is none. It is the precision of the
            model's "take" decisions as realised by the market.
    """

    setups_detected: int
    setups_taken: int
    trades_count: int
    wins: int
    losses: int
    net_pnl_quote: float
    ml_precision: float | None


def period_stats(
    start_s: float,
    end_s: float,
    setups: Iterable[SetupRecord],
    predictions: Iterable[PredictionRecord],
    trades: Iterable[TradeRecord],
    strategy: str | None = None,
) -> PeriodStats:
    """Statistics of one window, optionally for one strategy.

    Raises:
        ValueError: if ``end_s <= start_s``.
    """
    if end_s <= start_s:
        raise ValueError(f"empty window [{start_s}, {end_s})")
    chosen = [s for s in setups
              if start_s <= s.recorded_s < end_s and strategy in (None, s.strategy)]
    closed = [t for t in trades
              if t.closed_s is not None and start_s <= t.closed_s < end_s
              and strategy in (None, t.strategy)]
    approved = {p.setup_id for p in predictions  # the champion's: shadows never trade
                if p.confidence is not None and p.take and p.role == "champion"}
    wins = sum(1 for t in closed if (t.pnl_quote or 0.0) > 0)
    scored = [t for t in closed if t.setup_id is not None and t.setup_id in approved]
    scored_wins = sum(1 for t in scored if (t.pnl_quote or 0.0) > 0)
    return PeriodStats(
        setups_detected=len(chosen),
        setups_taken=sum(1 for s in chosen if s.taken),
        trades_count=len(closed),
        wins=wins,
        losses=len(closed) - wins,
        net_pnl_quote=float(sum(t.pnl_quote or 0.0 for t in closed)),
        ml_precision=(scored_wins / len(scored)) if scored else None,
    )


def summary_event(report: ScheduledReport, stats: PeriodStats,
                  quote_currency: str = "USDT") -> DailySummary:
    """The Slack report event for a schedule slot."""
    return DailySummary(kind=report.kind, period_start_s=report.period_start_s,
                        period_end_s=report.period_end_s, setups_detected=stats.setups_detected,
                        setups_taken=stats.setups_taken, trades_count=stats.trades_count,
                        wins=stats.wins, losses=stats.losses, net_pnl_quote=stats.net_pnl_quote,
                        ml_precision=stats.ml_precision, quote_currency=quote_currency)


def daily_record(report: ScheduledReport, stats: PeriodStats, strategy: str,
                 updated_s: float) -> DailyPerformanceRecord:
    """The ``daily_performance`` row for an evening slot (its local date) and ``strategy``."""
    return DailyPerformanceRecord(
        date=report.local_date, strategy=strategy, setups_detected=stats.setups_detected,
        setups_taken=stats.setups_taken, trades_count=stats.trades_count, wins=stats.wins,
        losses=stats.losses, net_pnl_quote=stats.net_pnl_quote, ml_precision=stats.ml_precision,
        updated_s=updated_s)
