"""Hit-rate kill switch (original plan ``emergency_stops.ml_accuracy_below`` 0.45)."""

from __future__ import annotations

from typing import ClassVar

from ml_signals.risk.config import RiskConfig
from ml_signals.risk.latching import LatchingGuard, Trip
from ml_signals.risk.ledger import TradeLedger
from ml_signals.risk.types import ClosedTrade
from ml_signals.timeutil import format_utc


class KillSwitchGuard(LatchingGuard):
    """Latches a stop when the recent hit rate falls below a floor.

    Hit rate = closes with ``pnl_quote > 0`` / closes, over the last
    ``kill_switch_window_trades`` closed trades of every strategy (the live stand-in for the
    plan's "ML accuracy": a taken setup that loses money was a wrong call). It can trip once the
    window holds ``kill_switch_min_trades`` closes (default: a full window), and trips when the
    rate is strictly below ``kill_switch_min_hit_rate_frac``. Example: window 20, floor 0.45 ->
    9 hits of 20 (0.45) is allowed, 8 of 20 (0.40) trips.

    Latching: the lock has no expiry and survives later winning closes; only
    ``RiskManager.reset(ledger, "kill_switch", now_s)`` lifts it, which also empties the window
    so the switch cannot trip again before ``min_trades`` new closes.

    Raises:
        ValueError: (from ``on_trade_closed``) when the ledger's ``hit_rate_window`` differs from
            ``kill_switch_window_trades``; build ledgers with ``RiskManager.new_ledger()``.
    """

    name: ClassVar[str] = "kill_switch"

    def __init__(self, config: RiskConfig) -> None:
        super().__init__(config)
        self.floor_frac = float(config.kill_switch_min_hit_rate_frac or 0.0)
        self.window = config.kill_switch_window_trades
        self.min_trades = config.kill_switch_required_trades

    @classmethod
    def enabled(cls, config: RiskConfig) -> bool:
        """On unless ``kill_switch_min_hit_rate_frac`` is None."""
        return config.kill_switch_min_hit_rate_frac is not None

    def short_desc(self) -> str:
        """Rule with its thresholds."""
        return (
            f"latch a stop when the hit rate of the last {self.window} trades is below "
            f"{self.floor_frac:.2f} (after {self.min_trades} trades)"
        )

    def _trip(self, ledger: TradeLedger, trade: ClosedTrade) -> Trip | None:
        """Trip when the window is full enough and its hit rate is under the floor."""
        if ledger.hit_rate_window != self.window:
            raise ValueError(
                f"ledger hit_rate_window {ledger.hit_rate_window} != "
                f"kill_switch_window_trades {self.window}"
            )
        if ledger.lock(self.name) is not None:
            return None  # already latched: keep the original reason
        n, hits = ledger.recent_trades, ledger.recent_hits
        if n < self.min_trades or hits / n >= self.floor_frac:
            return None
        return Trip(
            reason=(
                f"hit rate {hits}/{n} = {hits / n:.2f} over the last {n} trades is below "
                f"{self.floor_frac:.2f} (tripped at {format_utc(trade.closed_at_s)})"
            ),
            until_s=None,
        )

    def _restart_count(self, ledger: TradeLedger) -> None:
        """Empty the hit-rate window."""
        ledger.reset_hit_rate_window()
