"""Runtime observers that write the trade journal and send Slack alerts.

Neither imports Hummingbot: they translate :mod:`ml_signals.live` events into
:mod:`ml_signals.journal` records and :mod:`ml_signals.alerts` events, so a replay or backtest
can journal the same way. Both hand work to a background thread (journal spool, alert outbox)
and return at once, as :class:`~ml_signals.live.RuntimeObserver` asks.

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
``guard_locked``       -                                       ``GuardTripped``
``model_in_use``       -                                       ``ModelLoaded`` (with a model)
=====================  ======================================  ==============================
"""

from __future__ import annotations

import logging
from pathlib import Path

from ml_signals.alerts import AlertSender, GuardTripped, ModelLoaded, TradeClosed, TradeOpened
from ml_signals.journal import Journal, PredictionRecord, SetupRecord, TradeRecord
from ml_signals.live import (
    EntryPlaced,
    Evaluation,
    ExecutorClosed,
    PositionFilled,
    RuntimeObserver,
)
from ml_signals.risk import GuardLock, GuardResult
from ml_signals.scoring.scorer import Scorer

log = logging.getLogger(__name__)


class JournalObserver(RuntimeObserver):
    """Writes setups, predictions and trades to a :class:`~ml_signals.journal.Journal`; starts
    its worker with the strategy and closes it when the strategy stops."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def start(self) -> None:
        """Start the journal's writer thread (records are spooled until then)."""
        self.journal.start()

    def _setup(self, evaluation: Evaluation, taken: bool, reason: str | None,
               now_s: float) -> None:
        self.journal.record(SetupRecord.from_setup(evaluation.setup, taken, reason, now_s))
        self.journal.record(PredictionRecord.from_score(evaluation.setup.setup_id,
                                                        evaluation.score, now_s))

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
        if event.trade is None:
            return
        if event.entry_price_quote <= 0 or event.exit_price_quote <= 0:
            log.warning("journal: %s closed without entry/exit prices; trade row skipped",
                        event.executor_id)
            return
        self.journal.record(TradeRecord(
            trade_id=event.executor_id, setup_id=event.setup_id, strategy=event.strategy,
            pair=event.pair, side="buy", entry_price_quote=event.entry_price_quote,
            amount_base=event.amount_base, amount_quote=event.amount_quote,
            fees_quote=event.fees_quote, opened_s=event.opened_s,
            exit_price_quote=event.exit_price_quote, pnl_quote=event.trade.pnl_quote,
            pnl_frac=event.trade.return_frac, close_type=event.close_type,
            closed_s=event.closed_s,
        ))

    def close(self) -> None:
        """Write what the journal can now; the rest stays spooled for the next start."""
        self.journal.close()


class AlertsObserver(RuntimeObserver):
    """Sends trade and system alerts through an :class:`~ml_signals.alerts.AlertSender`; starts
    its delivery thread with the strategy and stops it when the strategy stops."""

    def __init__(self, sender: AlertSender, models_dir: Path | str = "models") -> None:
        self.sender = sender
        self.models_dir = str(models_dir)

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
        """``TradeClosed`` for a filled executor."""
        if event.trade is None:
            return
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

    def model_in_use(self, strategy: str, scorer: Scorer, now_s: float) -> None:
        """``ModelLoaded`` when a model artifact is in use (nothing for rules-only)."""
        if scorer.rules_only:
            return
        self.sender.submit(ModelLoaded(model_version=scorer.model_version,
                                       artifact_path=f"{self.models_dir}/{strategy}",
                                       occurred_s=now_s))

    def close(self) -> None:
        """Stop delivering; pending alerts stay in the outbox for the next start."""
        self.sender.close()
