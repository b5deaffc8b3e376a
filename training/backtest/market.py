"""Candle arrays of every pair and the BTC regime, as the backtester reads them.

Everything here is numpy, built once per run: the event loop and the equity curve index these
arrays by position, never a pandas row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_signals.regime import BtcRegime
from training.backtest.config import SlippageConfig
from training.data import CandleSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class PairCandles:
    """One pair's candles as arrays (row ``k`` = the ``k``-th candle, gap-free).

    Attributes:
        pair: trading pair.
        timestamp: ``(N,) int64`` open times, seconds UTC.
        open, high, low, close: ``(N,) float64`` prices in quote.
        slippage_frac: ``(N,) float64`` slippage of a market fill on each candle
            (:class:`~training.backtest.config.SlippageConfig`).
    """

    pair: str
    timestamp: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    slippage_frac: FloatArray

    def mark_index(self, t_s: npt.ArrayLike) -> IntArray:
        """Row of the newest candle closed at time(s) ``t_s`` (clipped to the data; before the
        first close it is row 0, after the last row the last row)."""
        t = np.asarray(t_s, dtype=np.int64)
        interval = int(self.timestamp[1] - self.timestamp[0]) if self.timestamp.size > 1 else 1
        idx = (t - int(self.timestamp[0])) // interval - 1
        return np.clip(idx, 0, self.timestamp.size - 1).astype(np.int64)

    def mark_price(self, t_s: npt.ArrayLike) -> FloatArray:
        """Close of the newest candle closed at ``t_s`` (mark-to-market price)."""
        return self.close[self.mark_index(t_s)]


@dataclass(frozen=True, slots=True)
class Market:
    """Candles of all pairs plus the BTC regime by decision time.

    Attributes:
        pairs: per-pair arrays.
        interval_s: candle length shared by every pair.
        regime_ts: ``(R,) int64`` decision times (candle close times) where the BTC regime is
            known; regime_code: ``(R,) int64`` :class:`~ml_signals.regime.BtcRegime` codes.
        data_end_s: close time of the newest candle over all pairs.
    """

    pairs: Mapping[str, PairCandles]
    interval_s: int
    regime_ts: IntArray
    regime_code: IntArray
    data_end_s: int

    @classmethod
    def build(cls, candle_sets: Mapping[str, CandleSet], btc_regime: pd.Series | None,
              btc_timestamps: npt.ArrayLike | None, slippage: SlippageConfig) -> Market:
        """Arrays of ``candle_sets`` with the slippage model applied per candle.

        Args:
            btc_regime: the ``btc_regime`` feature column of the BTC pair (codes, NaN in the
                warm-up) aligned with ``btc_timestamps`` (candle open times); ``None``: no
                regime (every decision sees NEUTRAL).
            slippage: fixed bps plus a share of each candle's ``(high - low) / open``.

        Raises:
            ValueError: no pairs, or pairs on different intervals.
        """
        if not candle_sets:
            raise ValueError("no candles to backtest on")
        intervals = {cs.interval_s for cs in candle_sets.values()}
        if len(intervals) != 1:
            raise ValueError(f"pairs have different candle intervals: {sorted(intervals)}")
        interval_s = intervals.pop()
        pairs = {}
        for pair, cs in candle_sets.items():
            f = cs.frame
            o, h, lo, c = (f[col].to_numpy(dtype=np.float64) for col in
                           ("open", "high", "low", "close"))
            slip = slippage.fixed_bps / 10_000.0 + slippage.range_frac * (h - lo) / o
            pairs[pair] = PairCandles(pair, f["timestamp"].to_numpy(dtype=np.int64), o, h, lo,
                                      c, slip)
        data_end = max(int(p.timestamp[-1]) + interval_s for p in pairs.values())
        if btc_regime is None or btc_timestamps is None:
            regime_ts: IntArray = np.zeros(0, dtype=np.int64)
            codes: IntArray = np.zeros(0, dtype=np.int64)
        else:
            values = pd.Series(np.asarray(btc_regime, dtype="float64")).ffill()
            known = values.notna().to_numpy()
            regime_ts = np.asarray(btc_timestamps, dtype=np.int64)[known] + interval_s
            codes = values.to_numpy()[known].astype(np.int64)
        return cls(pairs, interval_s, regime_ts, codes, data_end)

    def regime_at(self, decision_s: int) -> BtcRegime:
        """BTC regime of the newest candle closed at ``decision_s`` (what the live scripts
        read from the features of that candle); NEUTRAL before the first known value."""
        i = int(np.searchsorted(self.regime_ts, decision_s, side="right")) - 1
        return BtcRegime.NEUTRAL if i < 0 else BtcRegime(int(self.regime_code[i]))
