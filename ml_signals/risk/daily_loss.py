"""Daily loss stop (original plan ``no_new_trades_if_daily_loss`` / ``max_daily_loss`` -10 %)."""

from __future__ import annotations

from typing import ClassVar, Final

from ml_signals.risk.base import RiskGuard
from ml_signals.risk.config import RiskConfig
from ml_signals.risk.types import Candidate, GuardResult, PortfolioState

# Float slack so a loss that equals the limit up to rounding counts as reaching it.
_EPS_QUOTE: Final[float] = 1e-9


class DailyLossGuard(RiskGuard):
    """Blocks every new entry once today's PnL is at or below the daily loss limit.

    Today's PnL, in quote:

    - ``daily_loss_includes_unrealised=True`` (default): ``equity_quote -
      day_start_equity_quote``, realised and unrealised since the day began;
    - ``False``: realised PnL of trades closed since 00:00 UTC (``TradeLedger``).

    The limit is ``daily_loss_stop_frac x day_start_equity_quote`` and/or
    ``daily_loss_stop_quote``; with both set the tighter (smaller) one applies. Blocks when
    ``pnl_today <= -limit``. Example: day-start equity 1000, 10 % -> a PnL of -99.99 is allowed,
    -100.00 blocks. The day rolls at 00:00 UTC: the realised sum restarts at zero and
    ``TradeLedger.mark_equity`` takes a new day-start equity, which lifts the stop.
    """

    name: ClassVar[str] = "daily_loss"
    blocks_globally: ClassVar[bool] = True

    def __init__(self, config: RiskConfig) -> None:
        super().__init__(config)
        self.stop_frac = config.daily_loss_stop_frac
        self.stop_quote = config.daily_loss_stop_quote
        self.includes_unrealised = config.daily_loss_includes_unrealised

    @classmethod
    def enabled(cls, config: RiskConfig) -> bool:
        """On when a fractional or an absolute daily limit is set."""
        return config.daily_loss_stop_frac is not None or config.daily_loss_stop_quote is not None

    def short_desc(self) -> str:
        """Rule with its thresholds."""
        parts = []
        if self.stop_frac is not None:
            parts.append(f"{self.stop_frac:.2%} of day-start equity")
        if self.stop_quote is not None:
            parts.append(f"{self.stop_quote:.2f} quote")
        kind = "realised+unrealised" if self.includes_unrealised else "realised"
        return f"no new entries once today's {kind} loss reaches {' or '.join(parts)}"

    def pnl_today_quote(self, state: PortfolioState) -> float:
        """Today's PnL (quote) as this guard measures it."""
        if self.includes_unrealised:
            return state.equity_quote - state.day_start_equity_quote
        return state.ledger.realised_pnl_today_quote(state.now_s)

    def limit_quote(self, state: PortfolioState) -> float:
        """Allowed loss today (positive quote amount)."""
        limits = []
        if self.stop_frac is not None:
            limits.append(self.stop_frac * state.day_start_equity_quote)
        if self.stop_quote is not None:
            limits.append(self.stop_quote)
        return min(limits)

    def blocking_now(self, state: PortfolioState) -> GuardResult | None:
        """Block when today's PnL has reached the limit."""
        pnl = self.pnl_today_quote(state)
        limit = self.limit_quote(state)
        if pnl <= -limit + _EPS_QUOTE:
            start = state.day_start_equity_quote
            return self._block(
                f"today's PnL {pnl:.2f} quote ({pnl / start:.2%} of day-start equity "
                f"{start:.2f}) is at or below the daily stop -{limit:.2f}"
            )
        return None

    def check(self, state: PortfolioState, candidate: Candidate) -> GuardResult | None:
        """Same answer for every candidate."""
        return self.blocking_now(state)
