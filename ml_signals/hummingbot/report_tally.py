"""What the scheduled reports count, and the journal rows of a setup and of a closed trade.

The runtime observers (:mod:`~ml_signals.hummingbot.observers`,
:mod:`~ml_signals.hummingbot.alerts_observer`) feed a :class:`ReportTally` through their hooks;
the 07:00 / 19:00 / weekly reports (original plan, "Report Schedule") are computed over it with
:func:`ml_signals.journal.summary.period_stats`. Neither imports Hummingbot.
"""

from __future__ import annotations

import logging

from ml_signals.alerts.schedule import ReportScheduleConfig, ReportTimer, ScheduledReport
from ml_signals.decision.engine import Evaluation
from ml_signals.decision.events import ExecutorClosed
from ml_signals.journal import PredictionRecord, SetupRecord, TradeRecord
from ml_signals.journal.summary import PeriodStats, period_stats

log = logging.getLogger(__name__)

TALLY_KEEP_S = 8 * 86400.0
"""History a :class:`ReportTally` keeps: the weekly report's 7 days plus a day of margin."""


def closed_trade_record(event: ExecutorClosed) -> TradeRecord | None:
    """The closed ``trades`` row of ``event``; ``None`` (logged) when nothing filled or the
    prices are unknown."""
    if event.trade is None:
        return None
    if event.entry_price_quote <= 0 or event.exit_price_quote <= 0:
        log.warning("%s closed without entry/exit prices: no trade record (journal, reports)",
                    event.executor_id)
        return None
    return TradeRecord(
        trade_id=event.executor_id, setup_id=event.setup_id, strategy=event.strategy,
        pair=event.pair, side="buy", entry_price_quote=event.entry_price_quote,
        amount_base=event.amount_base, amount_quote=event.amount_quote,
        # an executor first seen already closed has no fill time of its own: its opening is
        # known no later than its close (the journal refuses a trade closed before it opened)
        fees_quote=event.fees_quote, opened_s=min(event.opened_s, event.closed_s),
        exit_price_quote=event.exit_price_quote, pnl_quote=event.trade.pnl_quote,
        pnl_frac=event.trade.return_frac, close_type=event.close_type,
        closed_s=event.closed_s,
    )


class ReportTally:
    """The records behind the scheduled reports, fed by the runtime hooks, and their clock.

    Keeps setups, predictions and closed trades of the last :data:`TALLY_KEEP_S` (pruned when a
    report falls due) and a :class:`~ml_signals.alerts.schedule.ReportTimer` started at the
    first :meth:`due` call.

    Args:
        schedule: report times; the original plan's (07:00 / 19:00 America/Los_Angeles,
            Sunday 19:00) when ``None``.
    """

    def __init__(self, schedule: ReportScheduleConfig | None = None) -> None:
        self.schedule = schedule or ReportScheduleConfig()
        self.setups: list[SetupRecord] = []
        self.predictions: list[PredictionRecord] = []
        self.trades: list[TradeRecord] = []
        self._timer: ReportTimer | None = None

    def add_setup(self, setup: SetupRecord, prediction: PredictionRecord) -> None:
        """A setup evaluated (taken or skipped) and its score."""
        self.setups.append(setup)
        self.predictions.append(prediction)

    def add_trade(self, trade: TradeRecord) -> None:
        """A closed trade."""
        self.trades.append(trade)

    def due(self, now_s: float) -> list[ScheduledReport]:
        """Report slots that fell due since the previous call (none at the first call)."""
        if self._timer is None:
            self._timer = ReportTimer(now_s, self.schedule)
            return []
        due = self._timer.poll(now_s)
        if due:
            self._prune(now_s - TALLY_KEEP_S)
        return due

    def stats(self, report: ScheduledReport, strategy: str | None = None) -> PeriodStats:
        """Numbers of ``report``'s window, for all strategies or one."""
        return period_stats(report.period_start_s, report.period_end_s, self.setups,
                            self.predictions, self.trades, strategy)

    def strategies(self) -> list[str]:
        """Strategies with a setup or a trade kept, sorted."""
        return sorted({r.strategy for r in self.setups} | {t.strategy for t in self.trades})

    def _prune(self, before_s: float) -> None:
        self.setups = [r for r in self.setups if r.recorded_s >= before_s]
        kept = {r.setup_id for r in self.setups}
        self.trades = [t for t in self.trades if (t.closed_s or 0.0) >= before_s]
        kept |= {t.setup_id for t in self.trades if t.setup_id}
        # a prediction stays while its setup or a trade of it is kept (ML precision needs it)
        self.predictions = [p for p in self.predictions if p.setup_id in kept]


def setup_records(evaluation: Evaluation, taken: bool, reason: str | None,
                  now_s: float) -> tuple[SetupRecord, PredictionRecord]:
    """The ``strategy_setups`` and ``ml_predictions`` rows of one evaluated setup (``taken`` or
    skipped for ``reason``), recorded at ``now_s`` (s, UTC)."""
    return (SetupRecord.from_setup(evaluation.setup, taken, reason, now_s),
            PredictionRecord.from_score(evaluation.setup.setup_id, evaluation.score, now_s))
