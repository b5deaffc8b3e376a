"""Swing (momentum breakout) detector: market entry on a confirmed break of resistance.

Rules and defaults are the original plan's ``SWING_STRATEGY`` (section "Trading Strategies"):

- ``breakout_threshold: 3.0`` -> close at least 3 % above the prior resistance: feature
  ``resistance_dist_48h_frac`` (close / highest high of the 48 hours before the current candle
  - 1; the 48-hour window is the feature function's, a project choice) >= ``breakout_frac``;
- ``volume_surge: 2.0`` -> volume at least 2x its 20-candle mean (feature ``volume_ratio_20``);
- ``momentum_confirmation: 'rsi > 60'`` -> feature ``rsi_14`` above 60;
- ``trend_alignment: 'uptrend_on_4h'`` -> feature ``htf_uptrend`` is 1;
- ``entry_rules``: $200 per trade at market;
- ``exit_rules``: take profit 15 %, stop loss 5 %, trailing 7 % "once in profit", time exit 48 h.
  The trailing stop arms when the position is 7 % up and then trails 7 % behind the best
  return (Hummingbot ``TrailingStop(activation_price=0.07, trailing_delta=0.07)``), which
  locks at least break-even once armed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ml_signals.exits import ExitRules
from ml_signals.setups.base import EntryPlan, Setup, StrategyName
from ml_signals.setups.row_rule import BoolArray, FloatArray, RowRuleDetector


class SwingConfig(BaseModel):
    """Swing detector settings (fractions, seconds, quote currency)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    breakout_frac: float = Field(0.03, gt=0, lt=1, description="close above prior resistance")
    min_volume_ratio: float = Field(2.0, ge=0)
    min_rsi: float = Field(60.0, ge=0, le=100)
    require_htf_uptrend: bool = True
    amount_quote: float = Field(200.0, gt=0)
    take_profit_frac: float = Field(0.15, gt=0)
    stop_loss_frac: float = Field(0.05, gt=0, lt=1)
    trailing_activation_frac: float | None = Field(0.07, gt=0)
    trailing_delta_frac: float | None = Field(0.07, gt=0)
    time_limit_s: int = Field(48 * 3600, gt=0)
    fire_on_rising_edge: bool = True

    def exits(self) -> ExitRules:
        """Rules-only triple barrier of a swing trade."""
        return ExitRules(
            self.take_profit_frac,
            self.stop_loss_frac,
            self.time_limit_s,
            self.trailing_activation_frac,
            self.trailing_delta_frac,
        )


class SwingDetector(RowRuleDetector):
    """Breakout above prior resistance with volume, momentum and higher-timeframe trend.

    The rule reads each candle's feature row only (:class:`~ml_signals.setups.row_rule.
    RowRuleDetector`: one condition for the batch mask and the newest-candle decision).
    """

    strategy: ClassVar[StrategyName] = "swing"
    rule_columns: ClassVar[tuple[str, ...]] = (
        "resistance_dist_48h_frac", "volume_ratio_20", "rsi_14", "htf_uptrend")
    config: SwingConfig

    def __init__(self, config: SwingConfig | None = None, interval_s: int = 3600) -> None:
        self.config = config or SwingConfig()
        self.interval_s = interval_s

    def row_condition(self, values: Mapping[str, FloatArray]) -> BoolArray:
        """True on candles closing ``breakout_frac`` above resistance with the confirmations
        (volume surge, RSI, and with ``require_htf_uptrend`` the 4h uptrend)."""
        cfg = self.config
        cond: BoolArray = (
            (values["resistance_dist_48h_frac"] >= cfg.breakout_frac)
            & (values["volume_ratio_20"] >= cfg.min_volume_ratio)
            & (values["rsi_14"] > cfg.min_rsi)
        )
        if cfg.require_htf_uptrend:
            cond &= values["htf_uptrend"] == 1.0
        return cond

    def rising_edge_only(self) -> bool:
        """``fire_on_rising_edge`` of the config: one setup per breakout episode."""
        return self.config.fire_on_rising_edge

    def build_setup(
        self, pair: str, candles: pd.DataFrame, features: pd.DataFrame, i: int
    ) -> Setup:
        """Market-entry setup for triggered row ``i`` with the plan's default exits."""
        close = float(candles["close"].iloc[i])
        breakout = float(features["resistance_dist_48h_frac"].iloc[i])
        return Setup(
            strategy=self.strategy,
            pair=pair,
            timestamp=int(candles["timestamp"].iloc[i]),
            bar_index=i,
            reference_price=close,
            entry=EntryPlan("market", (), (self.config.amount_quote,)),
            exits=self.config.exits(),
            context={"resistance": close / (1.0 + breakout)},
        )
