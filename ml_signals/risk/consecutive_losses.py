"""Stop after a losing streak (original plan ``emergency_stops.consecutive_losses`` 5)."""

from __future__ import annotations

from typing import ClassVar

from ml_signals.risk.config import RiskConfig
from ml_signals.risk.latching import LatchingGuard, Trip
from ml_signals.risk.ledger import TradeLedger
from ml_signals.risk.types import ClosedTrade, next_utc_midnight_s
from ml_signals.timeutil import format_utc


class ConsecutiveLossesGuard(LatchingGuard):
    """Locks new entries when ``consecutive_losses`` losing trades close in a row.

    A loss is ``pnl_quote < 0``; any other close ends the streak. The lock is set by the close
    that makes the streak reach the limit (N-1 losses: allowed; N: blocked) and lifts per
    ``consecutive_losses_reset``:

    - ``"next_utc_day"`` (default): at the 00:00 UTC after that close;
    - ``"cooldown"``: ``consecutive_losses_cooldown_s`` seconds after that close;
    - ``"manual"``: only on ``RiskManager.reset(ledger, "consecutive_losses", now_s)``.

    The streak restarts from zero when the lock is set, so after it lifts another N losses in
    a row are needed to stop again (positions still open during the lock count toward it).
    """

    name: ClassVar[str] = "consecutive_losses"

    def __init__(self, config: RiskConfig) -> None:
        super().__init__(config)
        self.max_losses = int(config.consecutive_losses or 0)
        self.reset_mode = config.consecutive_losses_reset
        self.cooldown_s = config.consecutive_losses_cooldown_s

    @classmethod
    def enabled(cls, config: RiskConfig) -> bool:
        """On unless ``consecutive_losses`` is None."""
        return config.consecutive_losses is not None

    def short_desc(self) -> str:
        """Rule with its threshold and reset."""
        lift = {
            "next_utc_day": "until the next 00:00 UTC",
            "cooldown": f"for {self.cooldown_s} s",
            "manual": "until reset",
        }[self.reset_mode]
        return f"stop {lift} after {self.max_losses} consecutive losing trades"

    def _trip(self, ledger: TradeLedger, trade: ClosedTrade) -> Trip | None:
        """Trip when the streak reaches the limit, restarting it."""
        streak = ledger.consecutive_losses
        if streak < self.max_losses:
            return None
        ledger.reset_loss_streak()
        return Trip(
            reason=(
                f"{streak} consecutive losing trades (limit {self.max_losses}), last "
                f"{trade.pair} {trade.pnl_quote:.2f} quote at {format_utc(trade.closed_at_s)}"
            ),
            until_s=self._until_s(trade.closed_at_s),
        )

    def _restart_count(self, ledger: TradeLedger) -> None:
        """Restart the losing streak."""
        ledger.reset_loss_streak()

    def _until_s(self, closed_at_s: int) -> int | None:
        if self.reset_mode == "next_utc_day":
            return next_utc_midnight_s(closed_at_s)
        if self.reset_mode == "cooldown":
            return closed_at_s + self.cooldown_s
        return None
