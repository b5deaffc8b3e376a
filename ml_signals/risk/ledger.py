"""Caller-owned record of closed trades with O(1) running statistics.

Why a mutable ledger instead of a tuple of every closed trade in the snapshot: the portfolio
backtester checks a candidate on every candle of 37 pairs, and re-scanning all closed trades for
each check would make a run quadratic. The ledger keeps only what the guards read:

- the current losing streak (consecutive ``pnl_quote < 0`` closes),
- the last ``hit_rate_window`` outcomes (a deque) and their hit count,
- realised PnL of the current UTC day (rolls at 00:00 UTC),
- equity at the start of the current UTC day,
- the locks set by guards (consecutive losses, kill switch).

Feed it through :meth:`ml_signals.risk.manager.RiskManager.record_close` so the guards can set
their locks on each close; :meth:`TradeLedger.append_closed` alone only updates the statistics.
One ledger per bot (live) or per backtest run; never shared between runs.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from ml_signals.regime import BtcRegime
from ml_signals.risk.types import (
    ClosedTrade,
    GuardLock,
    OpenPosition,
    PortfolioState,
    utc_day,
)


@dataclass(frozen=True, slots=True)
class LedgerStats:
    """Read-only summary for status displays and journals.

    Attributes:
        closed_trades: number of trades recorded since the ledger was created.
        consecutive_losses: current losing streak (0 after a non-loss or a streak lock).
        recent_trades: outcomes in the hit-rate window (<= window size).
        recent_hit_rate_frac: hits / recent_trades, ``None`` when no trade is in the window.
        realised_pnl_today_quote: realised PnL of the UTC day of ``now_s``.
    """

    closed_trades: int
    consecutive_losses: int
    recent_trades: int
    recent_hit_rate_frac: float | None
    realised_pnl_today_quote: float


class TradeLedger:
    """Running statistics over closed trades; append in close-time order.

    Args:
        hit_rate_window: how many of the most recent closed trades the hit rate covers
            (original plan ``emergency_stops.ml_accuracy_below``; 20 by default in ``RiskConfig``).

    Raises:
        ValueError: ``hit_rate_window`` < 1.
    """

    def __init__(self, hit_rate_window: int = 20) -> None:
        if hit_rate_window < 1:
            raise ValueError(f"hit_rate_window must be >= 1, got {hit_rate_window}")
        self.hit_rate_window = hit_rate_window
        self._outcomes: deque[bool] = deque()
        self._hits = 0
        self._closed = 0
        self._loss_streak = 0
        self._last_close_s: int | None = None
        self._pnl_day: int | None = None
        self._pnl_day_quote = 0.0
        self._equity_day: int | None = None
        self._day_start_equity_quote: float | None = None
        self._locks: dict[str, GuardLock] = {}

    # --- closed trades -------------------------------------------------------------------------

    def append_closed(self, trade: ClosedTrade) -> None:
        """Update the running statistics with ``trade``. O(1).

        Raises:
            ValueError: when ``trade`` closed before the previously recorded trade (the daily
                PnL roll relies on time order; sort same-candle closes before appending).
        """
        if self._last_close_s is not None and trade.closed_at_s < self._last_close_s:
            raise ValueError(
                f"{trade.pair} trade closed at {trade.closed_at_s} is older than the last "
                f"recorded close at {self._last_close_s}; append closes in time order"
            )
        self._last_close_s = trade.closed_at_s
        self._closed += 1
        self._loss_streak = self._loss_streak + 1 if trade.is_loss else 0
        self._outcomes.append(trade.is_hit)
        self._hits += trade.is_hit
        if len(self._outcomes) > self.hit_rate_window:
            self._hits -= self._outcomes.popleft()
        day = utc_day(trade.closed_at_s)
        if day != self._pnl_day:
            self._pnl_day, self._pnl_day_quote = day, 0.0
        self._pnl_day_quote += trade.pnl_quote

    @property
    def closed_trades(self) -> int:
        """Number of trades recorded."""
        return self._closed

    @property
    def consecutive_losses(self) -> int:
        """Current losing streak."""
        return self._loss_streak

    @property
    def recent_trades(self) -> int:
        """Number of outcomes in the hit-rate window."""
        return len(self._outcomes)

    @property
    def recent_hits(self) -> int:
        """Winning trades in the hit-rate window."""
        return self._hits

    @property
    def recent_hit_rate_frac(self) -> float | None:
        """Hits / trades over the window; ``None`` before the first close."""
        return self._hits / len(self._outcomes) if self._outcomes else None

    def realised_pnl_today_quote(self, now_s: int) -> float:
        """Realised PnL (quote) of trades closed on the UTC day of ``now_s``; 0 on a new day."""
        return self._pnl_day_quote if self._pnl_day == utc_day(now_s) else 0.0

    def reset_loss_streak(self) -> None:
        """Start the losing streak from zero (done when a streak lock is set or reset)."""
        self._loss_streak = 0

    def reset_hit_rate_window(self) -> None:
        """Forget the hit-rate window (done on a kill-switch reset, so it needs a full new one)."""
        self._outcomes.clear()
        self._hits = 0

    # --- equity --------------------------------------------------------------------------------

    def mark_equity(self, now_s: int, equity_quote: float) -> float:
        """Record equity now; return the equity at the start of the UTC day of ``now_s``.

        The first mark of a UTC day becomes that day's start equity: 00:00 UTC when the caller
        marks every candle (the backtester marks at each candle, the script on each tick), or
        the start-up equity on the day the bot starts.
        """
        day = utc_day(now_s)
        if day != self._equity_day or self._day_start_equity_quote is None:
            self._equity_day, self._day_start_equity_quote = day, equity_quote
        return self._day_start_equity_quote

    def set_day_start_equity(self, now_s: int, equity_quote: float) -> None:
        """Take ``equity_quote`` as the start equity of the UTC day of ``now_s`` (a restarted
        bot: :mod:`ml_signals.risk.restore`); later marks that day keep it.

        Raises:
            ValueError: ``equity_quote`` is not a finite number > 0.
        """
        if not (math.isfinite(equity_quote) and equity_quote > 0):
            raise ValueError(f"day-start equity must be > 0, got {equity_quote}")
        self._equity_day, self._day_start_equity_quote = utc_day(now_s), equity_quote

    @property
    def last_close_s(self) -> int | None:
        """Close time (s) of the newest recorded trade, ``None`` before the first."""
        return self._last_close_s

    def snapshot(
        self,
        now_s: int,
        equity_quote: float,
        open_positions: tuple[OpenPosition, ...],
        btc_regime: BtcRegime,
    ) -> PortfolioState:
        """Mark equity and build the :class:`PortfolioState` for one decision round."""
        return PortfolioState(
            now_s=now_s,
            equity_quote=equity_quote,
            day_start_equity_quote=self.mark_equity(now_s, equity_quote),
            open_positions=open_positions,
            ledger=self,
            btc_regime=btc_regime,
        )

    # --- locks ---------------------------------------------------------------------------------

    def lock(self, guard: str) -> GuardLock | None:
        """The lock ``guard`` set, active or expired, or ``None``."""
        return self._locks.get(guard)

    def active_lock(self, guard: str, now_s: int) -> GuardLock | None:
        """The lock of ``guard`` when it still applies at ``now_s``."""
        lock = self._locks.get(guard)
        return lock if lock is not None and lock.active(now_s) else None

    def set_lock(self, lock: GuardLock) -> None:
        """Store ``lock``, replacing an earlier lock of the same guard."""
        self._locks[lock.guard] = lock

    def clear_lock(self, guard: str) -> GuardLock | None:
        """Remove and return the lock of ``guard`` (``None`` when there was none)."""
        return self._locks.pop(guard, None)

    def stats(self, now_s: int) -> LedgerStats:
        """Summary of the running statistics at ``now_s``."""
        return LedgerStats(
            closed_trades=self._closed,
            consecutive_losses=self._loss_streak,
            recent_trades=len(self._outcomes),
            recent_hit_rate_frac=self.recent_hit_rate_frac,
            realised_pnl_today_quote=self.realised_pnl_today_quote(now_s),
        )
