"""Runtime observers that write the trade journal and send Slack alerts: what each hook gives.

Neither imports Hummingbot: they translate :mod:`ml_signals.decision.events` into
:mod:`ml_signals.journal` records and :mod:`ml_signals.alerts` events, so a replay or backtest
can journal the same way. Both hand work to a background thread (journal spool, alert outbox)
and return at once, as :class:`~ml_signals.decision.events.RuntimeObserver` asks.

Mapping:

=====================  ======================================  ==============================
runtime hook           journal                                 alert (Slack)
=====================  ======================================  ==============================
``setup_skipped``      ``SetupRecord`` (taken False, reason)   -
                       + ``PredictionRecord``
``entry_placed``       ``SetupRecord`` (taken True)            -
                       + ``PredictionRecord``
``position_filled``    ``TradeRecord`` (open)                  ``TradeOpened``
``executor_closed``    ``TradeRecord`` (closed; if filled)     ``TradeClosed`` (if filled)
``guard_locked``       ``GuardLockRecord`` (with the trade     ``GuardTripped``
                       that tripped it)
``bad_candles``        -                                       ``GuardTripped`` (guard
                                                               ``candle_guard``, the pair)
``model_in_use``       -                                       ``ModelLoaded`` (with a model)
``runtime_notice``     -                                       ``SystemNotice`` (model mode,
                                                               scoring faults, halts)
``model_event``        -                                       ``ModelLoaded`` (changed, both
                                                               gate verdicts); refused or
                                                               expired: ``SystemNotice``
``shadow_scored``      ``PredictionRecord`` per shadow         -
                       (``shadow:<name>:<version>``), after
                       the setup's row
``tick``               ``DailyPerformanceRecord`` per strategy ``DailySummary`` at 07:00 /
                       at the 19:00 report                     19:00 LA and Sunday 19:00;
                                                               ``CandlesStale`` (watchdog,
                                                               every fed pair from the
                                                               first tick)
=====================  ======================================  ==============================

Scheduled reports (original plan, "Report Schedule") are computed with
:func:`ml_signals.journal.summary.period_stats` over a
:class:`~ml_signals.hummingbot.report_tally.ReportTally`: the setups, predictions and closed
trades each observer saw through the hooks above during the last
:data:`~ml_signals.hummingbot.report_tally.TALLY_KEEP_S`. After a restart a report counts only
what happened since the start (the journal keeps the full history); a slot that fell due while
stopped is not sent late, and the reports' idempotency keys (``report:<kind>:<end>``) keep a
slot from being sent twice.

This module holds the journal side (:class:`JournalObserver`, :func:`journal_fault_alerts`);
the alert side is :class:`~ml_signals.hummingbot.alerts_observer.AlertsObserver`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from ml_signals.alerts import (
    AlertSender,
    SystemNotice,
)
from ml_signals.alerts.events import Severity
from ml_signals.alerts.schedule import ReportScheduleConfig
from ml_signals.decision.engine import Evaluation
from ml_signals.decision.events import (
    EntryPlaced,
    ExecutorClosed,
    FeedStatus,
    PositionFilled,
    RuntimeObserver,
)
from ml_signals.durable_queue import QueueClosedError, QueueFault, QueueFullError
from ml_signals.hummingbot.report_tally import ReportTally, closed_trade_record, setup_records
from ml_signals.journal import Journal, PredictionRecord, TradeRecord
from ml_signals.journal.risk_records import GuardLockRecord
from ml_signals.journal.summary import daily_record
from ml_signals.risk import GuardLock, GuardResult
from ml_signals.scoring.scorer import Scorer
from ml_signals.scoring.shadow import ShadowScore

log = logging.getLogger(__name__)


def journal_fault_alerts(sender: AlertSender,
                         clock: Callable[[], float]) -> Callable[[QueueFault], None]:
    """A :class:`~ml_signals.journal.Journal` ``on_fault`` hook that posts each spool fault
    (file locked or disk full, limits reached, records refused or left unwritten) to
    ``#system-alerts``; write failures and refusals are ``critical`` (mention the channel).

    The notice goes through the alert outbox (another file), so it is not stuck behind the
    spool's fault; if the outbox refuses it too, the fault stays in the log, where the spool
    has already written it.
    """

    def post(fault: QueueFault) -> None:
        now = clock()
        severity: Severity = ("info" if fault.kind in ("write_recovered", "pending_high")
                              else "critical")
        try:
            sender.submit(SystemNotice(
                title=f"Journal spool: {fault.kind.replace('_', ' ')}",
                detail=f"{fault.path}: {fault.detail}", occurred_s=now,
                key=f"spool-fault:{fault.path}:{fault.kind}:{now:.3f}",
                severity=severity))
        except (QueueFullError, QueueClosedError):
            log.error("journal spool fault not posted to Slack (outbox unavailable): %s: %s",
                      fault.kind, fault.detail)

    return post


class JournalObserver(RuntimeObserver):
    """Writes setups, predictions and trades to a :class:`~ml_signals.journal.Journal`; starts
    its worker with the strategy and closes it when the strategy stops.

    At each evening report slot (19:00 America/Los_Angeles by default) it upserts one
    ``daily_performance`` row per strategy for the slot's local date (the trading day since the
    previous evening slot); a restart during the day rewrites the row with what it saw since.

    Guard locks are journaled (``guard_locks``) with the executor whose close set them and the
    ``scope`` (the runtime's strategies, comma-separated), so a restart restores them
    (:mod:`ml_signals.hummingbot.risk_state`).

    Args:
        journal: the journal to write to.
        schedule: report times; the original plan's when ``None``.
        scope: the strategies of the runtime this observer serves, e.g. ``"dca"`` or
            ``"dca,swing,channel"``.
    """

    def __init__(self, journal: Journal, schedule: ReportScheduleConfig | None = None,
                 scope: str = "") -> None:
        self.journal = journal
        self.tally = ReportTally(schedule)
        self.scope = scope
        self._strategies: set[str] = set()
        self._last_closed: str | None = None
        self._shadows: dict[str, list[PredictionRecord]] = {}  # setup id -> rows to write

    def start(self) -> None:
        """Start the journal's writer thread (records are spooled until then)."""
        self.journal.start()

    def _setup(self, evaluation: Evaluation, taken: bool, reason: str | None,
               now_s: float) -> None:
        setup, prediction = setup_records(evaluation, taken, reason, now_s)
        self.journal.record(setup)
        self.journal.record(prediction)
        for shadow in self._shadows.pop(setup.setup_id, ()):  # after their setup (foreign key)
            self.journal.record(shadow)
        self.tally.add_setup(setup, prediction)

    def shadow_scored(self, evaluation: Evaluation, scores: Sequence[ShadowScore],
                      now_s: float) -> None:
        """Shadow predictions, written right after the setup's own row in the same round."""
        setup_id = evaluation.setup.setup_id
        self._shadows[setup_id] = [PredictionRecord.from_score(setup_id, s.score, now_s)
                                   for s in scores]

    def setup_skipped(self, evaluation: Evaluation, reason: GuardResult, now_s: float) -> None:
        """Setup not taken, with ``guard: reason``."""
        self._setup(evaluation, False, f"{reason.guard}: {reason.reason}", now_s)

    def entry_placed(self, event: EntryPlaced) -> None:
        """Setup taken."""
        self._setup(event.evaluation, True, None, event.placed_s)

    def position_filled(self, event: PositionFilled) -> None:
        """Open trade row (replaced by the closed one later)."""
        if event.entry_price_quote <= 0:
            log.warning("journal: %s filled without an entry price; trade row skipped",
                        event.executor_id)
            return
        self.journal.record(TradeRecord(
            trade_id=event.executor_id, setup_id=event.setup_id, strategy=event.strategy,
            pair=event.pair, side="buy", entry_price_quote=event.entry_price_quote,
            amount_base=event.amount_base, amount_quote=event.amount_quote, fees_quote=0.0,
            opened_s=event.filled_s,
        ))

    def executor_closed(self, event: ExecutorClosed) -> None:
        """Closed trade row; nothing for an entry that never filled."""
        record = closed_trade_record(event)
        if event.trade is not None:
            self._last_closed = event.executor_id
        if record is not None:
            self.journal.record(record)
            self.tally.add_trade(record)

    def guard_locked(self, lock: GuardLock) -> None:
        """``guard_locks`` row linked to the close just before it (the runtime calls this hook
        right after ``executor_closed`` of the trade that set the lock)."""
        self.journal.record(GuardLockRecord.from_lock(lock, self._last_closed, self.scope,
                                                      lock.locked_at_s))

    def model_in_use(self, strategy: str, scorer: Scorer, now_s: float) -> None:
        """Remember the strategy: it gets a ``daily_performance`` row even on a quiet day."""
        self._strategies.add(strategy)

    def tick(self, now_s: float, feeds: FeedStatus) -> None:
        """At an evening slot: the day's ``daily_performance`` rows (one per strategy)."""
        for report in self.tally.due(now_s):
            if report.kind != "evening":
                continue
            for strategy in sorted(self._strategies | set(self.tally.strategies())):
                self.journal.record(daily_record(report, self.tally.stats(report, strategy),
                                                 strategy, now_s))

    def close(self) -> None:
        """Write what the journal can now; the rest stays spooled for the next start."""
        self.journal.close()
