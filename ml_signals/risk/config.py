"""Thresholds of every risk guard, in one validated object.

Defaults are the original plan's Phase 1 numbers (``TRADING_RULES``, ``RISK_MANAGEMENT``). A
threshold set to ``None`` (or ``crash_pause=False``) disables its guard.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LossStreakReset = Literal["next_utc_day", "cooldown", "manual"]


class RiskConfig(BaseModel):
    """Risk limits, units in the names (quote currency, fractions, seconds, trade counts).

    Attributes:
        max_open_positions: most positions open at once (original plan
            ``TRADING_RULES.entry_conditions.max_open_positions`` 5). Blocks when
            ``open >= max``.
        max_positions_per_pair: positions per pair (``max_positions_per_coin`` 1). Blocks when a
            candidate's pair already has that many open.
        max_exposure_quote: cap on committed quote, open positions plus the candidate
            (``risk_limits.max_open_risk`` $500 = 5 x $100, ``portfolio_limits.max_exposure``).
            Blocks when ``open + candidate > max``.
        daily_loss_stop_frac: stop new entries once today's PnL <= ``-frac`` x day-start equity
            (``no_new_trades_if_daily_loss`` -10 %, ``risk_limits.max_daily_loss`` -10 %).
        daily_loss_stop_quote: optional absolute stop in quote (``portfolio_limits.stop_if_down``
            -$50); off by default because the plan's Phase 1 rule is the -10 %.
        daily_loss_includes_unrealised: True: today's PnL = ``equity - day_start_equity``
            (realised plus open positions marked to market). False: realised PnL of trades closed
            today only.
        consecutive_losses: stop after this many losing closes in a row
            (``emergency_stops.consecutive_losses`` 5).
        consecutive_losses_reset: when that stop lifts: ``"next_utc_day"`` (00:00 UTC after the
            tripping close), ``"cooldown"`` (``consecutive_losses_cooldown_s`` after it) or
            ``"manual"`` (``RiskManager.reset``). The streak restarts from zero when it trips.
        consecutive_losses_cooldown_s: pause length for ``"cooldown"``, seconds.
        crash_pause: no new entries while the BTC regime is CRASH (original plan DCA rule
            ``btc_regime: not_crashing``).
        kill_switch_min_hit_rate_frac: latch a stop when the hit rate of the last
            ``kill_switch_window_trades`` closes falls strictly below this
            (``emergency_stops.ml_accuracy_below`` 0.45). Lifts only on ``RiskManager.reset``.
        kill_switch_window_trades: closes the hit rate covers (20).
        kill_switch_min_trades: closes needed in the window before it can trip (defaults to the
            window size; must not exceed it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_open_positions: int | None = Field(default=5, ge=1, le=1_000)
    max_positions_per_pair: int | None = Field(default=1, ge=1, le=100)
    max_exposure_quote: float | None = Field(default=500.0, gt=0)
    daily_loss_stop_frac: float | None = Field(default=0.10, gt=0, lt=1)
    daily_loss_stop_quote: float | None = Field(default=None, gt=0)
    daily_loss_includes_unrealised: bool = True
    consecutive_losses: int | None = Field(default=5, ge=1, le=1_000)
    consecutive_losses_reset: LossStreakReset = "next_utc_day"
    consecutive_losses_cooldown_s: int = Field(default=86_400, ge=1, le=30 * 86_400)
    crash_pause: bool = True
    kill_switch_min_hit_rate_frac: float | None = Field(default=0.45, gt=0, le=1)
    kill_switch_window_trades: int = Field(default=20, ge=1, le=10_000)
    kill_switch_min_trades: int | None = Field(default=None, ge=1, le=10_000)

    @model_validator(mode="after")
    def _min_trades_fit_window(self) -> RiskConfig:
        if (
            self.kill_switch_min_trades is not None
            and self.kill_switch_min_trades > self.kill_switch_window_trades
        ):
            raise ValueError(
                f"kill_switch_min_trades ({self.kill_switch_min_trades}) cannot exceed "
                f"kill_switch_window_trades ({self.kill_switch_window_trades})"
            )
        return self

    @property
    def kill_switch_required_trades(self) -> int:
        """Closes needed before the kill switch may trip (``min_trades`` or the window)."""
        if self.kill_switch_min_trades is None:
            return self.kill_switch_window_trades
        return self.kill_switch_min_trades
