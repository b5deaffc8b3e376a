"""Exits scaled by the pair's volatility: take profit and stop loss as multiples of the ATR at
the setup candle, clipped to the plan's bounds.

Why: fixed percentages treat a BTC hour and a meme-coin hour alike (the original plan: "fixed
targets unsuitable for different coins", BTC 3-5 %, small caps 7-15 %). ``atr_14_frac`` (the
14-candle average true range over the close, a feature every setup row carries) is known at
the decision and is what volatility predicts best here: whether a setup ends by its time limit
is predicted out of sample with AUC 0.65-0.76 from the same row, direction barely.

One function for training (labels replayed with these exits) and, when adopted, the live
scripts; the multiples are chosen on earlier data only (``training.evaluation.vol_exits``).
No Hummingbot import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # setups import this module; the type only is needed here
    from ml_signals.setups.base import Setup

ATR_FEATURE = "atr_14_frac"


@dataclass(frozen=True, slots=True)
class VolExitPolicy:
    """Take profit ``k_tp x ATR`` and stop loss ``k_sl x ATR``, each clipped to its bounds.

    Attributes:
        k_tp, k_sl: multiples of ``atr_14_frac`` (> 0).
        tp_min_frac, tp_max_frac, sl_min_frac, sl_max_frac: bounds, fractions (the plan: take
            profit 3-15 %, stop loss 5-12 %; per strategy from its ``ScoringConfig``).

    Raises:
        ValueError: non-positive multiples or bounds out of order.
    """

    k_tp: float
    k_sl: float
    tp_min_frac: float = 0.03
    tp_max_frac: float = 0.15
    sl_min_frac: float = 0.05
    sl_max_frac: float = 0.12

    def __post_init__(self) -> None:
        if self.k_tp <= 0 or self.k_sl <= 0:
            raise ValueError("volatility exit multiples must be > 0")
        if not (0 < self.tp_min_frac <= self.tp_max_frac and
                0 < self.sl_min_frac <= self.sl_max_frac < 1):
            raise ValueError("volatility exit bounds must be positive and ordered")

    def apply(self, setup: Setup, atr_frac: float) -> Setup:
        """``setup`` with take profit and stop loss from ``atr_frac`` (the setup candle's
        ATR / close); the time limit and trailing stop kept. A non-finite or non-positive ATR
        keeps the detector's exits (nothing to scale by).
        """
        if not math.isfinite(atr_frac) or atr_frac <= 0:
            return setup
        tp = min(max(self.k_tp * atr_frac, self.tp_min_frac), self.tp_max_frac)
        sl = min(max(self.k_sl * atr_frac, self.sl_min_frac), self.sl_max_frac)
        return replace(setup, exits=replace(setup.exits, take_profit_frac=tp, stop_loss_frac=sl))

    def to_dict(self) -> dict[str, float]:
        """JSON-ready dict."""
        return {"k_tp": self.k_tp, "k_sl": self.k_sl, "tp_min_frac": self.tp_min_frac,
                "tp_max_frac": self.tp_max_frac, "sl_min_frac": self.sl_min_frac,
                "sl_max_frac": self.sl_max_frac}


class VolatilityExits(BaseModel):
    """Detector setting: scale a setup's take profit and stop loss by the pair's ATR.

    ``enabled: false`` keeps the detector's fixed percentages. The multiples multiply
    ``atr_14_frac`` and the results are clipped to the plan's bounds (take profit 3-15 %, stop
    loss 5-12 %). DCA's default (enabled, 12 x / 8 x) is the pair chosen on the earlier half of
    the 2017-2023 set (297 pairs) by ``python -m training compare --vol-exits``; against the
    plan's fixed 10 % / 8 % it earned, capital-weighted after fees, +0.44 % [+0.03, +0.81] on
    the later half and +0.39 % [-0.03, +0.81] on the 2024-2026 set (37 pairs, 4,771 setups,
    74 weeks, never used to choose). Swing lost with the same test (-0.26 % on 2024-2026), so
    its exits stay fixed.

    Raises:
        pydantic.ValidationError: non-positive multiples or bounds out of order.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    take_profit_atr: float = Field(12.0, gt=0, description="take profit = this x ATR/close")
    stop_loss_atr: float = Field(8.0, gt=0, description="stop loss = this x ATR/close")
    take_profit_min_frac: float = Field(0.03, gt=0)
    take_profit_max_frac: float = Field(0.15, gt=0)
    stop_loss_min_frac: float = Field(0.05, gt=0, lt=1)
    stop_loss_max_frac: float = Field(0.12, gt=0, lt=1)

    def policy(self) -> VolExitPolicy | None:
        """The policy these settings describe, ``None`` when disabled.

        Raises:
            ValueError: bounds out of order (see :class:`VolExitPolicy`).
        """
        if not self.enabled:
            return None
        return VolExitPolicy(self.take_profit_atr, self.stop_loss_atr,
                             self.take_profit_min_frac, self.take_profit_max_frac,
                             self.stop_loss_min_frac, self.stop_loss_max_frac)

    def describe(self) -> str:
        """One line for logs, manifests and reports."""
        if not self.enabled:
            return "fixed"
        return (f"volatility: take profit {self.take_profit_atr:g} x ATR "
                f"[{100 * self.take_profit_min_frac:g}-{100 * self.take_profit_max_frac:g} %], "
                f"stop loss {self.stop_loss_atr:g} x ATR "
                f"[{100 * self.stop_loss_min_frac:g}-{100 * self.stop_loss_max_frac:g} %]")
