"""Features of one pair's own candles (no BTC reference).

Named indicators come from pandas-ta with ``talib=False`` so the same pure-pandas code runs in
training and in the live scripts whether or not TA-Lib happens to be installed. Simple rolling
windows and ratios are plain numpy / pandas: same definitions, a fraction of the cost.
Every value at row ``t`` uses rows ``<= t`` only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pandas_ta as ta

from ml_signals.feature_parts import windows as p
from ml_signals.feature_parts.windows import FeatureWindows

FloatArray = npt.NDArray[np.float64]
Arrays = dict[str, FloatArray]

_EMA_KWARGS: dict[str, Any] = {"adjust": True}  # passed through to pandas ewm


def ema(close: pd.Series, length: int) -> FloatArray:
    """EMA of span ``length`` over at most the last ``EMA_WINDOW_BARS`` (700) closes.

    Row ``t`` is ``sum(w**i * close[t-i]) / sum(w**i)`` for ``i < min(t+1, 700)``, with
    ``w = 1 - 2/(length+1)``: pandas-ta's ``ema(presma=False, adjust=True)`` (the exact weighted
    mean of every close so far) with the weight of closes 700 or more candles old removed.
    The live scripts only ever see 720 candles, so this keeps a full-history row equal to the
    live one (to float rounding) instead of off by the weight of the missing history
    (``w**720`` = 7.7e-4 for EMA200, which moved close / EMA200 by up to 5e-4 on real data).
    700 rather than 720 leaves room for the EMA ``t - lag`` a slope reads, in the same window.
    Needs a NaN-free ``close`` (canonical frames are).
    """
    full = ta.ema(close, length=length, talib=False, presma=False, **_EMA_KWARGS)
    out: FloatArray = full.to_numpy(dtype=np.float64)
    window = p.EMA_WINDOW_BARS
    if out.size <= window:
        return out
    decay = 1.0 - 2.0 / (length + 1)
    # Undo the normalisation to get sum(w**i * close[t-i]) over all i <= t, then drop i >= 700.
    weight_sums = (1.0 - decay ** np.arange(1, out.size + 1)) / (1.0 - decay)
    numerators = out * weight_sums
    windowed: FloatArray = out.copy()
    windowed[window:] = (numerators[window:] - decay**window * numerators[:-window]) / (
        (1.0 - decay**window) / (1.0 - decay)
    )
    return windowed


def lag_ratio(x: FloatArray, lag: int) -> FloatArray:
    """``x[t] / x[t-lag] - 1``; NaN for the first ``lag`` rows."""
    out: FloatArray = np.full(x.shape, np.nan)
    out[lag:] = x[lag:] / x[:-lag] - 1.0
    return out


def _oscillators(close: pd.Series, high: pd.Series, low: pd.Series) -> Arrays:
    c = close.to_numpy()
    rsi = ta.rsi(close, length=p.RSI_BARS, talib=False)
    macd = ta.macd(
        close, fast=p.MACD_FAST_BARS, slow=p.MACD_SLOW_BARS, signal=p.MACD_SIGNAL_BARS, talib=False
    )
    hist = macd[f"MACDh_{p.MACD_FAST_BARS}_{p.MACD_SLOW_BARS}_{p.MACD_SIGNAL_BARS}"]
    bb = ta.bbands(
        close, length=p.BB_BARS, lower_std=p.BB_STD, upper_std=p.BB_STD, ddof=p.BB_DDOF, talib=False
    )
    # Positional: pandas-ta returns lower, mid, upper, bandwidth, percent in this order.
    bands = bb.to_numpy(dtype=np.float64)
    lower, mid, upper = bands[:, 0], bands[:, 1], bands[:, 2]
    # pandas-ta adds float epsilon to every high - low range once any candle of the series has
    # high == low (gap-filled Kraken bars): ATR then moves by ~2e-16 quote, nothing more.
    atr = ta.atr(high, low, close, length=p.ATR_BARS, talib=False)
    width = upper - lower
    return {
        "rsi_14": rsi.to_numpy(dtype=np.float64),
        "macd_hist_frac": hist.to_numpy() / c,
        "bb_width_frac": width / mid,
        # pandas-ta's own %B adds float epsilon to a zero band width; a flat band gives NaN here.
        "bb_b_frac": (c - lower) / width,
        "atr_14_frac": atr.to_numpy() / c,
    }


def _price_levels(high: pd.Series, low: pd.Series, c: FloatArray, w: FeatureWindows) -> Arrays:
    high_4h = high.rolling(w.drop_high_bars).max().to_numpy()
    sr = w.support_resistance_bars
    support = low.rolling(sr).min().shift(1).to_numpy()
    resistance = high.rolling(sr).max().shift(1).to_numpy()
    return {
        "drop_from_4h_high_frac": c / high_4h - 1.0,
        "support_dist_48h_frac": c / support - 1.0,
        "resistance_dist_48h_frac": c / resistance - 1.0,
    }


def _trend(close: pd.Series, c: FloatArray, w: FeatureWindows) -> Arrays:
    out: Arrays = {}
    signs = []
    names = (
        ("close_vs_ema20_frac", "ema20_slope_4_bars_frac"),
        ("close_vs_ema50_frac", "ema50_slope_4_bars_frac"),
        ("close_vs_ema200_frac", "ema200_slope_4_bars_frac"),
    )
    for n, (vs_name, slope_name) in zip(p.EMA_BARS, names, strict=True):
        e = ema(close, n)
        out[vs_name] = c / e - 1.0
        out[slope_name] = lag_ratio(e, p.EMA_SLOPE_BARS)
        signs.append(np.sign(c - e))
    htf = ema(close, w.htf_ema_bars)
    htf_slope = lag_ratio(htf, w.htf_slope_bars)
    out["close_vs_ema_80h_frac"] = c / htf - 1.0
    out["ema_80h_slope_4h_frac"] = htf_slope
    uptrend = (c > htf) & (htf_slope > 0)
    out["htf_uptrend"] = np.where(np.isnan(htf_slope), np.nan, uptrend.astype(np.float64))
    signs += [np.sign(c - htf), np.sign(htf_slope)]
    out["trend_alignment_score"] = np.mean(signs, axis=0)
    return out


def _activity(c: FloatArray, volume: pd.Series, w: FeatureWindows) -> Arrays:
    v = volume.to_numpy()
    prior_mean = volume.rolling(p.VOLUME_MEAN_BARS).mean().shift(1).to_numpy()
    log_ret = pd.Series(np.log(c)).diff()
    bars_per_day = 86400 / w.interval_s
    rvol = log_ret.rolling(w.realised_vol_bars).std(ddof=1).to_numpy() * np.sqrt(bars_per_day)
    quote_24h = pd.Series(c * v).rolling(w.liquidity_bars).sum().to_numpy()
    tier = np.where(
        quote_24h >= p.LIQUIDITY_LARGE_QUOTE,
        2.0,
        np.where(quote_24h >= p.LIQUIDITY_MID_QUOTE, 1.0, 0.0),
    )
    return {
        "volume_ratio_20": v / prior_mean,
        "rvol_24h_frac": rvol,
        "liquidity_tier": np.where(np.isnan(quote_24h), np.nan, tier),
        # A day without trades gives log10(0) = -inf, turned into NaN by the caller.
        "log10_volume_24h_quote": np.log10(quote_24h),
    }


def pair_features(candles: pd.DataFrame, w: FeatureWindows) -> Arrays:
    """Every pair-only feature column, as float64 arrays aligned with ``candles`` rows.

    Divisions by zero are left as inf / NaN here; the caller turns every non-finite value
    into NaN.
    """
    close = candles["close"]
    high = candles["high"]
    low = candles["low"]
    c = close.to_numpy()
    out = _oscillators(close, high, low)
    names = ("ret_1_bar_frac", "ret_4_bars_frac", "ret_24_bars_frac")
    for n, name in zip(p.RETURN_BARS, names, strict=True):
        out[name] = lag_ratio(c, n)
    out.update(_price_levels(high, low, c, w))
    out.update(_trend(close, c, w))
    out.update(_activity(c, candles["volume"], w))
    return out
