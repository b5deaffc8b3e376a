"""DCA (oversold bounce) detector: buy a grid after a sharp drop from the recent high.

Rules and defaults are the original plan's ``DCA_STRATEGY`` (section "Trading Strategies"):

- ``price_drop_threshold: -5.0`` in a ``'4h'`` window -> feature ``drop_from_4h_high_frac``
  (close / highest high of the last 4 hours incl. the current candle - 1) at or below
  ``-drop_frac``;
- ``volume_filter: 'above_average'`` -> volume above its 20-candle mean (feature
  ``volume_ratio_20``);
- ``btc_regime: 'not_crashing'`` -> BTC regime feature is not ``CRASH``;
- ``grid_configuration``: 5 levels, 1 % apart, $100 per level, equal sizes;
- ``exit_rules``: take profit 10 %, stop loss 8 %, time exit 72 h — by default scaled by the
  pair's volatility instead (``volatility_exits``: 12 x / 8 x ATR within the plan's bounds,
  which beat the fixed percentages out of sample; ``enabled: false`` restores them).

The grid's first level rests at the reference close and the others 1 %, 2 %, ... below it, so
a bounce that starts on the next candle is still caught; the levels are maker limit orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ml_signals.exits import ExitRules
from ml_signals.regime import BtcRegime
from ml_signals.setups.base import EntryPlan, Setup, StrategyName
from ml_signals.setups.row_rule import BoolArray, FloatArray, RowRuleDetector
from ml_signals.vol_exits import ATR_FEATURE, VolatilityExits


class DcaConfig(BaseModel):
    """DCA detector settings (fractions, seconds, quote currency)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    drop_frac: float = Field(0.05, gt=0, lt=1, description="min drop below the window high")
    min_volume_ratio: float = Field(1.0, ge=0, description="volume / 20-candle mean must exceed")
    levels: int = Field(5, ge=1, le=20)
    spacing_frac: float = Field(0.01, gt=0, lt=0.2, description="distance between grid levels")
    amount_per_level_quote: float = Field(100.0, gt=0)
    take_profit_frac: float = Field(0.10, gt=0)
    stop_loss_frac: float = Field(0.08, gt=0, lt=1)
    time_limit_s: int = Field(72 * 3600, gt=0)
    fire_on_rising_edge: bool = Field(True, description="one setup per oversold episode")
    volatility_exits: VolatilityExits = Field(
        default_factory=lambda: VolatilityExits(enabled=True),
        description="take profit / stop loss as multiples of ATR (replaces the fixed ones)")

    def exits(self) -> ExitRules:
        """The plan's fixed exits of a DCA grid (before any volatility scaling)."""
        return ExitRules(self.take_profit_frac, self.stop_loss_frac, self.time_limit_s)


class DcaDetector(RowRuleDetector):
    """Oversold drop + volume + BTC not crashing -> limit buy grid below the close.

    The rule reads each candle's feature row only (:class:`~ml_signals.setups.row_rule.
    RowRuleDetector`: one condition for the batch mask and the newest-candle decision).
    """

    strategy: ClassVar[StrategyName] = "dca"
    rule_columns: ClassVar[tuple[str, ...]] = (
        "drop_from_4h_high_frac", "volume_ratio_20", "btc_regime")
    config: DcaConfig

    def __init__(self, config: DcaConfig | None = None, interval_s: int = 3600) -> None:
        self.config = config or DcaConfig()
        self.interval_s = interval_s

    def row_condition(self, values: Mapping[str, FloatArray]) -> BoolArray:
        """True on candles that close >= ``drop_frac`` below the window high with volume above
        average while BTC is not crashing (regime known and not ``CRASH``)."""
        cfg = self.config
        btc = values["btc_regime"]
        cond: BoolArray = (
            (values["drop_from_4h_high_frac"] <= -cfg.drop_frac)
            & (values["volume_ratio_20"] > cfg.min_volume_ratio)
            & (btc != float(BtcRegime.CRASH))
            & ~np.isnan(btc)
        )
        return cond

    def rising_edge_only(self) -> bool:
        """``fire_on_rising_edge`` of the config: one setup per oversold episode."""
        return self.config.fire_on_rising_edge

    def grid(self, reference_price: float) -> EntryPlan:
        """Equal-size grid: level k (k = 0..levels-1) at ``reference * (1 - k * spacing)``."""
        cfg = self.config
        k = np.arange(cfg.levels, dtype="float64")
        prices = tuple(float(p) for p in reference_price * (1.0 - k * cfg.spacing_frac))
        amounts = (cfg.amount_per_level_quote,) * cfg.levels
        return EntryPlan("limit_grid", prices, amounts)

    def build_setup(
        self, pair: str, candles: pd.DataFrame, features: pd.DataFrame, i: int
    ) -> Setup:
        """Setup for triggered row ``i``: grid below its close; exits scaled by the row's
        ``atr_14_frac`` when ``volatility_exits`` is enabled, else the plan's fixed ones."""
        close = float(candles["close"].iloc[i])
        setup = Setup(
            strategy=self.strategy,
            pair=pair,
            timestamp=int(candles["timestamp"].iloc[i]),
            bar_index=i,
            reference_price=close,
            entry=self.grid(close),
            exits=self.config.exits(),
            context={
                "grid_levels": float(self.config.levels),
                "grid_spacing_frac": self.config.spacing_frac,
            },
        )
        policy = self.config.volatility_exits.policy()
        if policy is None:
            return setup
        return policy.apply(setup, float(features[ATR_FEATURE].iloc[i]))
