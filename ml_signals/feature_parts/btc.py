"""BTC reference features: regime, 24h return, 7-day drawdown, trend, return correlation.

They are computed on the BTC frame itself (which may hold more or less history than the pair)
and then carried to the pair's rows by timestamp, using only BTC candles that opened at or before
the pair's candle (both have closed by then: same interval, same close time).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from ml_signals.feature_parts import windows as p
from ml_signals.feature_parts.pair import Arrays, FloatArray, ema, lag_ratio
from ml_signals.feature_parts.windows import FeatureWindows
from ml_signals.regime import BtcRegime

IntArray = npt.NDArray[np.int64]

BTC_OWN_COLUMNS = (
    "btc_regime",
    "btc_ret_24h_frac",
    "btc_drawdown_7d_frac",
    "btc_close_vs_ema200_frac",
)


def regime_codes(
    close: FloatArray,
    ema_fast: FloatArray,
    ema_slow: FloatArray,
    ret_24h: FloatArray,
    drawdown_7d: FloatArray,
) -> FloatArray:
    """:class:`~ml_signals.regime.BtcRegime` codes as float64 (NaN where an input is NaN).

    CRASH when the 24h return <= ``CRASH_RETURN_24H_FRAC`` (-10 %) or the drawdown from the
    7-day high <= ``CRASH_DRAWDOWN_7D_FRAC`` (-15 %); otherwise BULL when close > EMA200 and
    EMA50 > EMA200, BEAR when close < EMA200 and EMA50 < EMA200, NEUTRAL in between. The
    thresholds are this project's choice: the original plan (DCA ``setup_detection``) only asks
    for BTC "not_crashing" and lists the four names (``market_regimes.btc_regime``).
    """
    crash = (ret_24h <= p.CRASH_RETURN_24H_FRAC) | (drawdown_7d <= p.CRASH_DRAWDOWN_7D_FRAC)
    bull = (close > ema_slow) & (ema_fast > ema_slow)
    bear = (close < ema_slow) & (ema_fast < ema_slow)
    codes = np.select(
        [crash, bull, bear],
        [float(BtcRegime.CRASH), float(BtcRegime.BULL), float(BtcRegime.BEAR)],
        default=float(BtcRegime.NEUTRAL),
    )
    missing = np.isnan(close) | np.isnan(ema_fast) | np.isnan(ema_slow)
    missing |= np.isnan(ret_24h) | np.isnan(drawdown_7d)
    codes[missing] = np.nan
    return codes


def btc_own_features(btc: pd.DataFrame, w: FeatureWindows) -> Arrays:
    """Regime inputs and code on the BTC frame's own rows; NaN inside its warm-up."""
    if len(btc) <= w.warmup_bars:
        return {name: np.full(len(btc), np.nan) for name in BTC_OWN_COLUMNS}
    close = btc["close"]
    c = close.to_numpy()
    fast_bars, slow_bars = p.REGIME_EMA_BARS
    ema_fast = ema(close, fast_bars)
    ema_slow = ema(close, slow_bars)
    ret_24h = lag_ratio(c, w.btc_return_bars)
    drawdown_7d = c / btc["high"].rolling(w.btc_high_bars).max().to_numpy() - 1.0
    out = {
        "btc_regime": regime_codes(c, ema_fast, ema_slow, ret_24h, drawdown_7d),
        "btc_ret_24h_frac": ret_24h,
        "btc_drawdown_7d_frac": drawdown_7d,
        "btc_close_vs_ema200_frac": c / ema_slow - 1.0,
    }
    for values in out.values():
        values[: w.warmup_bars] = np.nan
    return out


def align_rows(pair_ts: IntArray, btc_ts: IntArray, interval_s: int) -> IntArray:
    """For each pair timestamp, the row of the newest BTC candle at or before it, or -1.

    -1 also when that BTC candle is more than ``BTC_MAX_STALENESS_BARS`` (1) candle older
    than the pair's: a lagging BTC feed may be one candle behind, a dead one yields NaN.
    Same rule as ``pandas.merge_asof(direction="backward", tolerance=...)``.
    """
    rows = np.searchsorted(btc_ts, pair_ts, side="right") - 1
    found = rows >= 0
    age = pair_ts - btc_ts[np.where(found, rows, 0)]
    return np.where(found & (age <= p.BTC_MAX_STALENESS_BARS * interval_s), rows, -1)


def take(values: FloatArray, rows: IntArray) -> FloatArray:
    """``values[rows]`` with NaN where ``rows == -1``."""
    out: FloatArray = values[np.where(rows >= 0, rows, 0)]
    out[rows < 0] = np.nan
    return out


def btc_correlation(pair_close: FloatArray, btc_close_aligned: FloatArray) -> FloatArray:
    """Pearson correlation of 1-candle simple returns over the last ``BTC_CORR_BARS`` (72).

    Each window is computed from its own 72 values (no running sums), so the value does not
    depend on where the series starts; a NaN in the window (missing BTC candle) gives NaN, and
    so does a window where either return series is constant.
    """
    n = p.BTC_CORR_BARS
    out = np.full(pair_close.shape, np.nan)
    if pair_close.size <= n:
        return out
    x = sliding_window_view(lag_ratio(pair_close, 1), n)
    y = sliding_window_view(lag_ratio(btc_close_aligned, 1), n)
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    cov = np.einsum("ij,ij->i", x, y)
    scale = np.sqrt(np.einsum("ij,ij->i", x, x) * np.einsum("ij,ij->i", y, y))
    out[n - 1 :] = np.clip(cov / scale, -1.0, 1.0)
    return out


def btc_features(pair: pd.DataFrame, btc: pd.DataFrame, w: FeatureWindows) -> Arrays:
    """BTC feature columns carried onto the pair's rows (see :func:`align_rows`)."""
    rows = align_rows(pair["timestamp"].to_numpy(), btc["timestamp"].to_numpy(), w.interval_s)
    out = {name: take(values, rows) for name, values in btc_own_features(btc, w).items()}
    btc_close = take(btc["close"].to_numpy(dtype=np.float64), rows)
    out["btc_corr_72_bars"] = btc_correlation(pair["close"].to_numpy(), btc_close)
    return out
