"""Feature parameters, and the conversion of hour windows into candle counts.

Indicator lengths (RSI 14, MACD 12/26/9, Bollinger 20, ATR 14, EMA 20/50/200, the 20-candle volume
mean, the 72-candle correlation) count **candles** of the series' own interval, as on any chart.
Windows the original plan states in time ("4h window", "uptrend on 4h", "24h", "7-day") are given
here in **hours** and turned into candles with :func:`windows_for`: the 4h high is 4 candles at
1h and 16 at 15m. An hour window that is not a whole number of candles is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

MAX_LIVE_BARS: Final[int] = 720
"""Most candles a Hummingbot Kraken candle feed keeps; every feature must fit in them."""

EMA_WINDOW_BARS: Final[int] = 700
"""Every EMA weighs at most this many of the newest closes (see ``pair.ema``); the 20 candles
left in a live feed cover the lags that slopes read."""

# --- Indicators counted in candles (pandas-ta defaults where the plan names the indicator).
RSI_BARS: Final[int] = 14
MACD_FAST_BARS: Final[int] = 12
MACD_SLOW_BARS: Final[int] = 26
MACD_SIGNAL_BARS: Final[int] = 9
BB_BARS: Final[int] = 20
BB_STD: Final[float] = 2.0
BB_DDOF: Final[int] = 0  # population std, as TA-Lib and TradingView (pandas-ta's own default is 1)
ATR_BARS: Final[int] = 14
EMA_BARS: Final[tuple[int, int, int]] = (20, 50, 200)
EMA_SLOPE_BARS: Final[int] = 4
RETURN_BARS: Final[tuple[int, int, int]] = (1, 4, 24)
VOLUME_MEAN_BARS: Final[int] = 20
BTC_CORR_BARS: Final[int] = 72
REGIME_EMA_BARS: Final[tuple[int, int]] = (50, 200)

# --- Windows stated in hours.
DROP_HIGH_H: Final[int] = 4  # original plan, DCA: "5% drop from recent high", "4-hour window"
SUPPORT_RESISTANCE_H: Final[int] = 48
REALISED_VOL_H: Final[int] = 24
LIQUIDITY_H: Final[int] = 24
BTC_RETURN_H: Final[int] = 24
BTC_HIGH_H: Final[int] = 7 * 24
HTF_EMA_H: Final[int] = 4 * 20  # a 4h chart's EMA20 spans 80 hours
HTF_SLOPE_H: Final[int] = 4  # one 4h candle

# --- Thresholds: this project's choices (the original plan only says "not_crashing" for BTC
# and names large / mid / small caps without numbers).
CRASH_RETURN_24H_FRAC: Final[float] = -0.10
CRASH_DRAWDOWN_7D_FRAC: Final[float] = -0.15
LIQUIDITY_MID_QUOTE: Final[float] = 5e6
LIQUIDITY_LARGE_QUOTE: Final[float] = 100e6
BTC_MAX_STALENESS_BARS: Final[int] = 1

EMA_WARMUP_SPANS: Final[float] = 1.5
"""An EMA row counts as warm once 1.5 spans of candles feed it: the candles before the series
start then carry at most (1 - 2/(n+1))**(1.5 n) ~ 5 % of the full-history weight."""


@dataclass(frozen=True, slots=True)
class FeatureWindows:
    """Candle counts of every hour window for one interval (see :func:`windows_for`)."""

    interval_s: int
    drop_high_bars: int
    support_resistance_bars: int
    realised_vol_bars: int
    liquidity_bars: int
    btc_return_bars: int
    btc_high_bars: int
    htf_ema_bars: int
    htf_slope_bars: int
    warmup_bars: int


def hours_to_bars(hours: int, interval_s: int) -> int:
    """Number of candles of ``interval_s`` seconds in ``hours`` hours.

    Raises:
        ValueError: if ``interval_s`` is not positive or does not divide the window exactly.
    """
    if interval_s <= 0:
        raise ValueError(f"interval_s must be > 0 seconds, got {interval_s}")
    if (hours * 3600) % interval_s:
        raise ValueError(f"a {hours}h window is not a whole number of {interval_s}s candles")
    return hours * 3600 // interval_s


def _warmup(w: dict[str, int]) -> int:
    """Index of the first row where every feature is defined (and EMAs are warm)."""
    ema_rows = math.ceil(EMA_WARMUP_SPANS * max(*EMA_BARS, *REGIME_EMA_BARS, w["htf_ema_bars"]))
    first_valid = (
        ema_rows,
        MACD_SLOW_BARS + MACD_SIGNAL_BARS - 2,
        max(RETURN_BARS),
        VOLUME_MEAN_BARS,
        BTC_CORR_BARS,  # returns start at row 1, then a full window
        w["support_resistance_bars"],  # prior window excludes the current candle
        w["realised_vol_bars"],
        w["liquidity_bars"] - 1,
        w["btc_return_bars"],
        w["btc_high_bars"] - 1,
        w["drop_high_bars"] - 1,
    )
    return max(first_valid)


def windows_for(interval_s: int) -> FeatureWindows:
    """Candle counts of the hour windows, and the warm-up, for candles of ``interval_s`` seconds.

    Raises:
        ValueError: the interval does not divide every hour window (e.g. 1d), or its warm-up
            exceeds :data:`MAX_LIVE_BARS` so a live feed could never compute the features
            (e.g. 5m: the 7-day BTC high alone needs 2016 candles).
    """
    w = {
        "drop_high_bars": hours_to_bars(DROP_HIGH_H, interval_s),
        "support_resistance_bars": hours_to_bars(SUPPORT_RESISTANCE_H, interval_s),
        "realised_vol_bars": hours_to_bars(REALISED_VOL_H, interval_s),
        "liquidity_bars": hours_to_bars(LIQUIDITY_H, interval_s),
        "btc_return_bars": hours_to_bars(BTC_RETURN_H, interval_s),
        "btc_high_bars": hours_to_bars(BTC_HIGH_H, interval_s),
        "htf_ema_bars": hours_to_bars(HTF_EMA_H, interval_s),
        "htf_slope_bars": hours_to_bars(HTF_SLOPE_H, interval_s),
    }
    warmup = _warmup(w)
    longest_lag = max(EMA_SLOPE_BARS, w["htf_slope_bars"])
    if EMA_WINDOW_BARS + longest_lag > MAX_LIVE_BARS:
        raise ValueError(
            f"{interval_s}s candles: an EMA slope looks back {longest_lag} candles, "
            f"beyond the {MAX_LIVE_BARS} a live feed keeps"
        )
    if warmup >= MAX_LIVE_BARS:
        raise ValueError(
            f"{interval_s}s candles need {warmup} warm-up candles, more than the "
            f"{MAX_LIVE_BARS} a live feed keeps"
        )
    return FeatureWindows(interval_s=interval_s, warmup_bars=warmup, **w)
