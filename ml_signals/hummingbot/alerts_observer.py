"""The runtime observer that sends Slack alerts: trades, guards, bad candles, models, notices,
the scheduled reports and the candle watchdog.

It translates :mod:`ml_signals.decision.events` into :mod:`ml_signals.alerts` events (the
mapping table is in :mod:`ml_signals.hummingbot.observers`) and hands them to the alert outbox,
whose thread delivers them; it does not import Hummingbot.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ml_signals.alerts import (
    AlertSender,
    GuardTripped,
    ModelLoaded,
    SystemNotice,
    TradeClosed,
    TradeOpened,
)
from ml_signals.alerts.events import quote_of
from ml_signals.alerts.schedule import ReportScheduleConfig
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
from ml_signals.hummingbot.model_watch import (
    ModelChange,
    ModelEvent,
    ModelExpired,
    ModelRefused,
    describe,
    gate_verdict,
)
from ml_signals.hummingbot.report_tally import ReportTally, closed_trade_record, setup_records
from ml_signals.journal.summary import summary_event
from ml_signals.risk import GuardLock, GuardResult
from ml_signals.scoring.scorer import Scorer

log = logging.getLogger(__name__)


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
        self.tally.add_setup(*setup_records(evaluation, False, f"{reason.guard}: {reason.reason}",
                                       now_s))

    def entry_placed(self, event: EntryPlaced) -> None:
        """Counted for the reports."""
        self.tally.add_setup(*setup_records(event.evaluation, True, None, event.placed_s))

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
