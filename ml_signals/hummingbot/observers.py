"""Runtime observers that write the trade journal and send Slack alerts.

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
:func:`ml_signals.journal.summary.period_stats` over a :class:`ReportTally`: the setups,
predictions and closed trades each observer saw through the hooks above during the last
:data:`TALLY_KEEP_S`. After a restart a report counts only what happened since the start (the
journal keeps the full history); a slot that fell due while stopped is not sent late, and the
reports' idempotency keys (``report:<kind>:<end>``) keep a slot from being sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from ml_signals.alerts import (
    AlertSender,
    GuardTripped,
    ModelLoaded,
    SystemNotice,
    TradeClosed,
    TradeOpened,
)
from ml_signals.alerts.events import Severity, quote_of
from ml_signals.alerts.schedule import ReportScheduleConfig, ReportTimer, ScheduledReport
from ml_signals.alerts.watchdog import PLAN_MAX_SILENCE_S, CandleWatchdog
from ml_signals.candle_guard_live import CandleGuardSkip
from ml_signals.decision.engine import Evaluation
from ml_signals.decision.events import (
    EntryPlaced,
    ExecutorClosed,
    FeedStatus,
    PositionFilled,
    RuntimeNotice,
    RuntimeObserver,
)
from ml_signals.durable_queue import QueueClosedError, QueueFault, QueueFullError
from ml_signals.hummingbot.model_watch import (
    ModelChange,
    ModelEvent,
    ModelExpired,
    ModelRefused,
    describe,
    gate_verdict,
)
from ml_signals.journal import Journal, PredictionRecord, SetupRecord, TradeRecord
from ml_signals.journal.risk_records import GuardLockRecord
from ml_signals.journal.summary import PeriodStats, daily_record, period_stats, summary_event
from ml_signals.risk import GuardLock, GuardResult
from ml_signals.scoring.scorer import Scorer
from ml_signals.scoring.shadow import ShadowScore

log = logging.getLogger(__name__)

TALLY_KEEP_S = 8 * 86400.0
"""History a :class:`ReportTally` keeps: the weekly report's 7 days plus a day of margin."""


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


def _records(evaluation: Evaluation, taken: bool, reason: str | None,
             now_s: float) -> tuple[SetupRecord, PredictionRecord]:
    return (SetupRecord.from_setup(evaluation.setup, taken, reason, now_s),
            PredictionRecord.from_score(evaluation.setup.setup_id, evaluation.score, now_s))


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
        setup, prediction = _records(evaluation, taken, reason, now_s)
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


class AlertsObserver(RuntimeObserver):
    """Sends trade and system alerts through an :class:`~ml_signals.alerts.AlertSender`; starts
    its delivery thread with the strategy and stops it when the strategy stops.

    On each tick it also sends the scheduled ``DailySummary`` reports and a ``CandlesStale``
    alert when a feed's next candle is more than ``max_silence_s`` (10 minutes, original plan
    "Data Health Monitoring") late: no newer closed candle ``interval + max_silence_s`` after
    the newest one closed. One alert per outage; a newer candle re-arms the pair.

    Args:
        sender: the alert outbox and its delivery thread.
        models_dir: shown in ``ModelLoaded`` alerts.
        schedule: report times; the original plan's when ``None``.
        max_silence_s: allowed delay of a candle after its expected close (s).
    """

    def __init__(self, sender: AlertSender, models_dir: Path | str = "models",
                 schedule: ReportScheduleConfig | None = None,
                 max_silence_s: float = PLAN_MAX_SILENCE_S) -> None:
        self.sender = sender
        self.models_dir = str(models_dir)
        self.tally = ReportTally(schedule)
        self.max_silence_s = max_silence_s
        self._watchdog: CandleWatchdog | None = None
        self._quote = "USDT"  # until a feed names the pairs' quote currency

    def setup_skipped(self, evaluation: Evaluation, reason: GuardResult, now_s: float) -> None:
        """Counted for the reports."""
        self.tally.add_setup(*_records(evaluation, False, f"{reason.guard}: {reason.reason}",
                                       now_s))

    def entry_placed(self, event: EntryPlaced) -> None:
        """Counted for the reports."""
        self.tally.add_setup(*_records(event.evaluation, True, None, event.placed_s))

    def tick(self, now_s: float, feeds: FeedStatus) -> None:
        """Reports that fell due, then stalled candle feeds. Every pair of ``feeds.feed_pairs``
        is watched from the first tick: one that never delivers alerts ``max_silence_s`` after
        it (its baseline is one interval before the first tick, as if a candle had just
        closed)."""
        any_pair = next(iter(feeds.newest_closed_s), None)  # the reports' P&L currency
        if any_pair is not None:
            self._quote = quote_of(any_pair) or self._quote
        for report in self.tally.due(now_s):
            self.sender.submit(summary_event(report, self.tally.stats(report), self._quote))
        if self._watchdog is None:
            # the watchdog measures from the newest candle's close: allow one interval for the
            # next candle to form, then the plan's silence
            self._watchdog = CandleWatchdog(feeds.interval_s + self.max_silence_s)
            for pair in feeds.feed_pairs:
                if pair not in feeds.newest_closed_s:
                    self._watchdog.observe(pair, now_s - feeds.interval_s)
        for pair, candle_ts in feeds.newest_closed_s.items():
            self._watchdog.observe(pair, float(candle_ts + feeds.interval_s))
        for stale in self._watchdog.check(now_s):
            self.sender.submit(stale)

    def start(self) -> None:
        """Start delivering (alerts wait in the outbox until then)."""
        self.sender.start()

    def position_filled(self, event: PositionFilled) -> None:
        """``TradeOpened`` with the score's confidence and the exits the executor manages."""
        if event.entry_price_quote <= 0 or event.amount_quote <= 0 or event.exits is None:
            log.warning("alerts: %s filled with incomplete data; no trade-opened alert",
                        event.executor_id)
            return
        score = event.score
        self.sender.submit(TradeOpened(
            trade_id=event.executor_id, strategy=event.strategy, pair=event.pair,
            entry_price_quote=event.entry_price_quote, amount_quote=event.amount_quote,
            confidence=score.confidence if score else None,
            stop_loss_frac=event.exits.stop_loss_frac,
            take_profit_frac=event.exits.take_profit_frac, opened_s=event.filled_s,
            model_version=score.model_version if score else "unknown",
            setup_id=event.setup_id,
        ))

    def executor_closed(self, event: ExecutorClosed) -> None:
        """``TradeClosed`` for a filled executor (also counted for the reports)."""
        if event.trade is None:
            return
        record = closed_trade_record(event)
        if record is not None:
            self.tally.add_trade(record)
        if event.entry_price_quote <= 0 or event.exit_price_quote <= 0 or event.amount_quote <= 0:
            log.warning("alerts: %s closed with incomplete data; no trade-closed alert",
                        event.executor_id)
            return
        self.sender.submit(TradeClosed(
            trade_id=event.executor_id, strategy=event.strategy, pair=event.pair,
            entry_price_quote=event.entry_price_quote, exit_price_quote=event.exit_price_quote,
            amount_quote=event.amount_quote, pnl_quote=event.trade.pnl_quote,
            pnl_frac=event.trade.return_frac, close_type=event.close_type,
            opened_s=min(event.opened_s, event.closed_s), closed_s=event.closed_s,
        ))

    def guard_locked(self, lock: GuardLock) -> None:
        """``GuardTripped``; the kill switch mentions the channel."""
        self.sender.submit(GuardTripped(guard=lock.guard, reason=lock.reason,
                                        occurred_s=float(lock.locked_at_s),
                                        kill_switch=lock.guard == "kill_switch"))

    def bad_candles(self, event: CandleGuardSkip) -> None:
        """``GuardTripped`` (guard ``candle_guard``, the pair, the bad candle's time, rule and
        values): once per episode of skipped decisions."""
        self.sender.submit(GuardTripped(guard="candle_guard", reason=event.reason,
                                        occurred_s=event.occurred_s, pair=event.pair))

    def model_in_use(self, strategy: str, scorer: Scorer, now_s: float) -> None:
        """``ModelLoaded`` when a model artifact is in use (nothing for rules-only)."""
        if scorer.rules_only:
            return
        self.sender.submit(ModelLoaded(model_version=scorer.model_version,
                                       artifact_path=f"{self.models_dir}/{strategy}",
                                       occurred_s=now_s, gate=gate_verdict(scorer),
                                       strategy=strategy))

    def model_event(self, event: ModelEvent) -> None:
        """A change: ``ModelLoaded`` with the previous version and both gate verdicts. A
        refused artifact or an expired model: a warning ``SystemNotice``."""
        match event:
            case ModelChange():
                self.sender.submit(ModelLoaded(
                    model_version=event.version, artifact_path=event.artifact_path,
                    occurred_s=event.occurred_s, previous_version=event.previous_version,
                    gate=event.gate, previous_gate=event.previous_gate,
                    strategy=event.strategy))
            case ModelRefused():
                self.sender.submit(SystemNotice(
                    title=f"{event.strategy}: new model refused, keeping {event.kept_version}",
                    detail=describe(event), occurred_s=event.occurred_s, severity="warning",
                    key=f"model-refused:{event.strategy}:{event.pointer_version}:"
                        f"{int(event.occurred_s)}"))
            case ModelExpired():
                self.sender.submit(SystemNotice(
                    title=f"{event.strategy}: model {event.version} expired",
                    detail=describe(event), occurred_s=event.occurred_s, severity="warning",
                    key=f"model-expired:{event.strategy}:{event.version}"))

    def runtime_notice(self, notice: RuntimeNotice) -> None:
        """``SystemNotice`` to ``#system-alerts`` (critical ones mention the channel)."""
        self.sender.submit(SystemNotice(title=notice.title, detail=notice.detail,
                                        occurred_s=notice.occurred_s, key=notice.key,
                                        severity=notice.severity))

    def close(self) -> None:
        """Stop delivering; pending alerts stay in the outbox for the next start."""
        self.sender.close()
