"""Channel (range) detector: buy near the support of a horizontal range, target its resistance.

The original plan names a channel strategy only in its recovery plan (``CHANNEL_STRENGTH``), so
the rule shape and defaults here are this project's:

- the range is the highest high / lowest low of the last N candles (incl. the current one);
- it is horizontal: the least-squares slope of the closes over the window moves less than
  ``max_slope_frac`` of the mean price across the whole window;
- it has been respected: at least ``min_touches`` candles came within ``touch_frac`` of the
  range's height to the resistance, and as many to the support;
- its height ``(high - low) / low`` lies in ``[min_width_frac, max_width_frac]``;
- the current close sits in the lowest ``entry_zone_frac`` of the range (near support).

Entry at market on the next candle; take profit at ``target_zone_frac`` of the way from support
to resistance, stop loss ``stop_buffer_frac`` below support, time limit ``time_limit_s``.

Two evaluations of the one rule: :meth:`ChannelDetector.signal_mask` over a whole frame (pandas,
what training and the backtest use) and :meth:`ChannelDetector.latest_fires` on the newest
candle only (numpy over the ``window_bars + 1`` rows the rule reads, what a script asks at each
closed candle). Both compute the same quantities from the same rows; a parity test holds them
equal on real candles.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import BaseModel, ConfigDict, Field

from ml_signals.exits import ExitRules
from ml_signals.setups._rolling import rising_edge, rolling_slope_frac
from ml_signals.setups.base import EntryPlan, Setup, SetupDetector, StrategyName


class ChannelConfig(BaseModel):
    """Channel detector settings (fractions, candles, seconds, quote currency)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_bars: int = Field(48, ge=8, le=500)
    max_slope_frac: float = Field(0.02, gt=0, description="fit drift across the window / mean")
    touch_frac: float = Field(0.1, gt=0, lt=0.5, description="near an edge, share of height")
    min_touches: int = Field(3, ge=1)
    min_width_frac: float = Field(0.03, gt=0)
    max_width_frac: float = Field(0.15, gt=0)
    entry_zone_frac: float = Field(0.2, gt=0, le=0.5)
    target_zone_frac: float = Field(0.9, gt=0.5, le=1.0)
    stop_buffer_frac: float = Field(0.01, ge=0, lt=0.2)
    amount_quote: float = Field(100.0, gt=0)
    time_limit_s: int = Field(48 * 3600, gt=0)
    fire_on_rising_edge: bool = True


class ChannelDetector(SetupDetector):
    """Horizontal, respected range with the close near support -> long towards resistance."""

    strategy: ClassVar[StrategyName] = "channel"
    config: ChannelConfig

    def __init__(self, config: ChannelConfig | None = None, interval_s: int = 3600) -> None:
        self.config = config or ChannelConfig()
        self.interval_s = interval_s

    def range_frame(self, candles: pd.DataFrame) -> pd.DataFrame:
        """Per candle: ``support``, ``resistance``, ``width_frac``, ``slope_frac`` (drift across
        the window), ``touches_high``, ``touches_low``, ``position`` (0 = support, 1 = resistance).
        Windows end at the current candle; NaN until a window fills."""
        n = self.config.window_bars
        high = candles["high"].to_numpy(dtype="float64")
        low = candles["low"].to_numpy(dtype="float64")
        res = candles["high"].rolling(n, min_periods=n).max()
        sup = candles["low"].rolling(n, min_periods=n).min()
        height = (res - sup).to_numpy()
        touches_high = np.full(len(candles), np.nan)
        touches_low = np.full(len(candles), np.nan)
        if len(candles) >= n:
            hw = sliding_window_view(high, n)
            lw = sliding_window_view(low, n)
            tol = (height[n - 1 :] * self.config.touch_frac)[:, None]
            touches_high[n - 1 :] = (hw >= res.to_numpy()[n - 1 :, None] - tol).sum(axis=1)
            touches_low[n - 1 :] = (lw <= sup.to_numpy()[n - 1 :, None] + tol).sum(axis=1)
        close = candles["close"]
        return pd.DataFrame(
            {
                "support": sup,
                "resistance": res,
                "width_frac": res / sup - 1.0,
                "slope_frac": rolling_slope_frac(close, n) * (n - 1),
                "touches_high": touches_high,
                "touches_low": touches_low,
                "position": (close - sup) / (res - sup),
            },
            index=candles.index,
        )

    def signal_rows(self) -> int:
        """The range window of the newest row and of the row before it (rising edge)."""
        return self.config.window_bars + 1

    def signal_mask(self, candles: pd.DataFrame, features: pd.DataFrame) -> pd.Series:
        """True where a valid range holds and the close is in the entry zone near support."""
        cfg = self.config
        r = self.range_frame(candles)
        cond = (
            (r["slope_frac"].abs() <= cfg.max_slope_frac)
            & (r["width_frac"] >= cfg.min_width_frac)
            & (r["width_frac"] <= cfg.max_width_frac)
            & (r["touches_high"] >= cfg.min_touches)
            & (r["touches_low"] >= cfg.min_touches)
            & (r["position"] <= cfg.entry_zone_frac)
        )
        return rising_edge(cond) if cfg.fire_on_rising_edge else cond.fillna(False)

    def latest_fires(self, candles: pd.DataFrame, features: pd.DataFrame) -> bool:
        """The rule of :meth:`signal_mask` on the newest row of ``candles`` only (``features``
        are not read): a valid range
        with the close in the entry zone (and, with ``fire_on_rising_edge``, not so on the row
        before). Reads the last ``window_bars + 1`` rows; ``False`` until a window fills.

        Same quantities as :meth:`range_frame` (rolling max/min, touches within ``touch_frac``
        of the height, least-squares drift of the closes over the window / its mean); the
        slope sums are taken over the window directly instead of pandas' running sums, which
        can differ in the last bits only.
        """
        cfg = self.config
        n = cfg.window_bars
        rows = min(len(candles), n + 1)
        if rows < n:
            return False
        tail = candles.iloc[-rows:]
        high = tail["high"].to_numpy(dtype="float64")
        low = tail["low"].to_numpy(dtype="float64")
        close = tail["close"].to_numpy(dtype="float64")
        if not self._window_fires(high[-n:], low[-n:], close[-n:], len(candles) - 1):
            return False
        if not cfg.fire_on_rising_edge or rows == n:
            return True
        return not self._window_fires(high[:n], low[:n], close[:n], len(candles) - 2)

    def _window_fires(self, high: npt.NDArray[np.float64], low: npt.NDArray[np.float64],
                      close: npt.NDArray[np.float64], end_row: int) -> bool:
        """The channel condition for the window ending at row ``end_row`` (its position in the
        frame: :func:`~ml_signals.setups._rolling.rolling_slope_frac` indexes rows from the
        frame's start). NaN anywhere in a quantity -> False, as in the batch comparisons."""
        cfg = self.config
        n = cfg.window_bars
        res, sup = high.max(), low.min()
        height = res - sup
        tol = height * cfg.touch_frac
        touches_high = np.count_nonzero(high >= res - tol)
        touches_low = np.count_nonzero(low <= sup + tol)
        idx = np.arange(end_row - n + 1, end_row + 1, dtype="float64")
        sum_y = close.sum()
        start = float(end_row - (n - 1))
        sum_xy = (idx * close).sum() - start * sum_y
        sum_x = n * (n - 1) / 2.0
        sum_xx = (n - 1) * n * (2 * n - 1) / 6.0
        slope = (n * sum_xy - sum_x * sum_y) / (n * sum_xx - sum_x**2)
        slope_frac = slope / (sum_y / n) * (n - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            width_frac = res / sup - 1.0
            position = (close[-1] - sup) / height
        return bool(
            abs(slope_frac) <= cfg.max_slope_frac
            and cfg.min_width_frac <= width_frac <= cfg.max_width_frac
            and touches_high >= cfg.min_touches
            and touches_low >= cfg.min_touches
            and position <= cfg.entry_zone_frac
        )

    def exits_for(self, close: float, support: float, resistance: float) -> ExitRules:
        """Take profit near resistance and stop below support, as fractions of ``close``."""
        cfg = self.config
        target = support + cfg.target_zone_frac * (resistance - support)
        stop = support * (1.0 - cfg.stop_buffer_frac)
        return ExitRules(
            take_profit_frac=max(target / close - 1.0, 1e-4),
            stop_loss_frac=min(max(1.0 - stop / close, 1e-4), 0.99),
            time_limit_s=cfg.time_limit_s,
        )

    def build_setup(
        self, pair: str, candles: pd.DataFrame, features: pd.DataFrame, i: int
    ) -> Setup:
        """Market-entry setup for triggered row ``i`` with range-derived exits."""
        row = self.range_frame(candles.iloc[max(0, i - self.config.window_bars + 1) : i + 1]).iloc[
            -1
        ]
        close = float(candles["close"].iloc[i])
        support, resistance = float(row["support"]), float(row["resistance"])
        return Setup(
            strategy=self.strategy,
            pair=pair,
            timestamp=int(candles["timestamp"].iloc[i]),
            bar_index=i,
            reference_price=close,
            entry=EntryPlan("market", (), (self.config.amount_quote,)),
            exits=self.exits_for(close, support, resistance),
            context={
                "support": support,
                "resistance": resistance,
                "width_frac": float(row["width_frac"]),
                "slope_frac": float(row["slope_frac"]),
                "touches_high": float(row["touches_high"]),
                "touches_low": float(row["touches_low"]),
            },
        )
