"""Answers of the control layer: frozen value objects a front end presents.

Every answer has an ``outcome`` (``ok``, ``refused``, ``rejected``, ``error``; the journal's
:data:`~ml_signals.journal.control_records.OUTCOMES`), a one-line ``headline`` and a plain-text
rendering (:meth:`text`) that the journal stores and Slack shows as the notification fallback.
Block Kit layouts live in the front end (:mod:`ml_signals.control.blocks`).

Units: money in quote currency, fractions (0.02 = 2 %), times in seconds UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

from ml_signals.journal.summary import PeriodStats
from ml_signals.risk import GuardLock, GuardResult
from ml_signals.timeutil import format_utc


def pct(frac: float | None) -> str:
    """A fraction for display (``0.0213`` -> ``"2.13%"``); ``"n/a"`` for ``None``."""
    return "n/a" if frac is None else f"{100 * frac:.2f}%"


def _barrier(frac: float | None, price: float | None) -> str:
    return pct(frac) + ("" if price is None else f" ({price:.6g})")


@dataclass(frozen=True, slots=True)
class SetupLine:
    """The last setup a strategy evaluated on one pair and what became of it.

    Attributes:
        pair, setup_id: which setup; candle_ts_s: its candle's open time.
        confidence: calibrated model confidence, ``None`` rules-only.
        take_profit_frac, stop_loss_frac: its exits.
        outcome: ``"entry placed: executor …"`` or ``"skipped: guard: reason"``.
    """

    pair: str
    setup_id: str
    candle_ts_s: int
    confidence: float | None
    take_profit_frac: float
    stop_loss_frac: float
    outcome: str

    def text(self) -> str:
        """One line."""
        conf = "rules-only" if self.confidence is None else f"confidence {self.confidence:.2f}"
        return (f"{self.pair} {format_utc(self.candle_ts_s)}: {conf}, "
                f"TP {pct(self.take_profit_frac)} SL {pct(self.stop_loss_frac)} -> {self.outcome}")


@dataclass(frozen=True, slots=True)
class StrategyStatus:
    """One strategy's model and its recent decisions.

    Attributes:
        strategy: ``"dca"``, ``"swing"`` or ``"channel"``.
        model_version: artifact version, ``"rules-only"`` without a model.
        model_age_s: seconds since the model was trained, ``None`` when unknown / rules-only.
        threshold: the value the rule's strength must reach (the score-rank cut of the
            artifact's rule, or a configured confidence threshold); ``None`` rules-only.
        decision_rule: the rule in words.
        last_setups: the last setup per pair, newest first.
    """

    strategy: str
    model_version: str
    model_age_s: float | None
    threshold: float | None
    decision_rule: str
    last_setups: tuple[SetupLine, ...]


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    """``/ml-status``.

    Attributes:
        now_s: answer time; connector, interval: where and on what candles it trades.
        strategies: one per strategy the script runs.
        blocks: what stops new entries now (halt, pause, guards), empty when nothing.
        equity_quote: equity at the last tick, ``None`` before the first.
        open_positions: positions and resting entries holding capital.
    """

    now_s: float
    connector: str
    interval: str
    strategies: tuple[StrategyStatus, ...]
    blocks: tuple[GuardResult, ...]
    equity_quote: float | None
    open_positions: int
    outcome: str = "ok"

    @property
    def headline(self) -> str:
        """One line: paused / blocked / taking entries."""
        if any(b.guard == "paused" for b in self.blocks):
            return "ML status: new entries PAUSED by an operator"
        if self.blocks:
            return f"ML status: new entries blocked by {self.blocks[0].guard}"
        return "ML status: taking new entries"

    def text(self) -> str:
        """Plain text."""
        lines = [self.headline,
                 f"{self.connector}, {self.interval} candles, {format_utc(self.now_s)}"]
        for s in self.strategies:
            age = "" if s.model_age_s is None else f", age {s.model_age_s / 86400:.1f} days"
            lines.append(f"{s.strategy}: model {s.model_version}{age}; {s.decision_rule}")
            lines.extend(f"  {line.text()}" for line in s.last_setups)
            if not s.last_setups:
                lines.append("  no setup yet")
        if self.equity_quote is not None:
            lines.append(f"Equity {self.equity_quote:.2f}, {self.open_positions} open")
        lines.extend(f"Blocking: {b.guard}: {b.reason}" for b in self.blocks)
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class PeriodLine:
    """Performance over one window: ``label`` (``"today"``, ``"7 days"``, ``"since start"``),
    its start (s, UTC) and the journal's statistics (:class:`PeriodStats`)."""

    label: str
    start_s: float
    stats: PeriodStats

    def text(self) -> str:
        """One line."""
        st = self.stats
        precision = "n/a" if st.ml_precision is None else f"{st.ml_precision:.2f}"
        return (f"{self.label} (since {format_utc(self.start_s)}): {st.trades_count} trades, "
                f"{st.wins} wins / {st.losses} losses, net {st.net_pnl_quote:+.2f}, "
                f"ML precision {precision}, setups {st.setups_taken}/{st.setups_detected} taken")


@dataclass(frozen=True, slots=True)
class PerformanceAnswer:
    """``/performance``: windows read from the journal, and the runtime's own realised P&L.

    Attributes:
        now_s: answer time.
        periods: today (UTC), the last 7 days, since the strategy started.
        source: where the numbers come from (journal backend), or why there are none.
        realised_since_start_quote: realised P&L the runtime counted since it started.
    """

    now_s: float
    periods: tuple[PeriodLine, ...]
    source: str
    realised_since_start_quote: float
    outcome: str = "ok"

    @property
    def headline(self) -> str:
        """One line."""
        return f"Performance: realised {self.realised_since_start_quote:+.2f} since start"

    def text(self) -> str:
        """Plain text."""
        lines = [self.headline, f"from {self.source}"]
        lines.extend(p.text() for p in self.periods)
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class PositionLine:
    """One open executor.

    Attributes:
        executor_id, strategy, pair: which; executor_type: ``"dca_executor"`` / ...
        status: Hummingbot ``RunnableStatus`` name.
        filled_quote: entry filled so far (quote); 0 for a resting entry.
        entry_price_quote: average entry price, 0 before the first fill.
        take_profit_frac, stop_loss_frac: the executor's barriers (fractions of entry).
        take_profit_price_quote, stop_loss_price_quote: those barriers as prices (long),
            ``None`` before a fill.
        unrealised_pnl_quote, unrealised_pnl_frac: the executor's net P&L now.
        opened_s: when the executor was created.
    """

    executor_id: str
    strategy: str
    pair: str
    executor_type: str
    status: str
    filled_quote: float
    entry_price_quote: float
    take_profit_frac: float | None
    stop_loss_frac: float | None
    take_profit_price_quote: float | None
    stop_loss_price_quote: float | None
    unrealised_pnl_quote: float
    unrealised_pnl_frac: float
    opened_s: float

    def text(self) -> str:
        """One line."""
        if self.filled_quote <= 0:
            entry = "entry resting, nothing filled"
        else:
            entry = f"entry {self.entry_price_quote:.6g}, {self.filled_quote:.2f} filled"
        tp = _barrier(self.take_profit_frac, self.take_profit_price_quote)
        sl = _barrier(self.stop_loss_frac, self.stop_loss_price_quote)
        return (f"{self.pair} {self.strategy} {self.executor_id}: {entry}; TP {tp} SL {sl}; "
                f"unrealised {self.unrealised_pnl_quote:+.2f} ({pct(self.unrealised_pnl_frac)})")


@dataclass(frozen=True, slots=True)
class PositionsAnswer:
    """``/positions``: open executors of this script, oldest first."""

    now_s: float
    positions: tuple[PositionLine, ...]
    outcome: str = "ok"

    @property
    def headline(self) -> str:
        """One line."""
        total = sum(p.unrealised_pnl_quote for p in self.positions)
        return f"{len(self.positions)} open executors, unrealised {total:+.2f}"

    def text(self) -> str:
        """Plain text."""
        return "\n".join([self.headline, *(p.text() for p in self.positions)])


@dataclass(frozen=True, slots=True)
class GuardLine:
    """A risk guard's state.

    Attributes:
        name, rule: guard name and its rule with thresholds.
        resettable: it latches a lock an operator may lift.
        lock: its lock in the ledger (active or expired), ``None`` when none.
        blocking: its block on new entries now, ``None`` when it allows them.
    """

    name: str
    rule: str
    resettable: bool
    lock: GuardLock | None
    blocking: GuardResult | None

    def text(self) -> str:
        """One line."""
        if self.blocking is not None:
            state = f"BLOCKING: {self.blocking.reason}"
        elif self.lock is not None:
            state = f"lock expired ({self.lock.reason})"
        else:
            state = "not blocking"
        return f"{self.name}: {state} [{self.rule}]"


@dataclass(frozen=True, slots=True)
class ActionAnswer:
    """``/pause``, ``/resume``, ``/reset-guard``, and refusals or errors of any command.

    Attributes:
        outcome: ``ok``, ``refused``, ``rejected`` or ``error``.
        headline: one line saying what happened.
        details: further lines.
        guards: guard states shown with it (``/reset-guard``: the state before, first).
    """

    outcome: str
    headline: str
    details: tuple[str, ...] = ()
    guards: tuple[GuardLine, ...] = ()

    def text(self) -> str:
        """Plain text."""
        return "\n".join([self.headline, *self.details, *(g.text() for g in self.guards)])


Answer = StatusAnswer | PerformanceAnswer | PositionsAnswer | ActionAnswer
"""Anything the control layer answers."""
