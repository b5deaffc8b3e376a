"""How many candles a script's feeds keep (``max_records``): enough for the models, few enough
for Kraken.

A Hummingbot candles feed keeps ``max_records`` candles, the newest one usually still forming,
so the scripts decide on ``max_records - 1`` closed candles (``ml_signals.candles.closed_frame``).

Lower bound, what the strategies need on the newest closed candle:

- every feature defined: more closed candles than :func:`ml_signals.features.warmup_bars`
  (300 at 1h: the EMA200 warm-up);
- every feature equal to the one training computed on the whole history: each EMA weighs the
  newest :data:`~ml_signals.feature_parts.windows.EMA_WINDOW_BARS` (700) closes, and the EMA
  slopes read the EMA 4 candles back at 1h (16 at 15m), so 704 closed candles at 1h. With
  fewer the newest row drifts from training: on the shipped Binance sample, 700 closed
  candles moved ``ema200_slope_4_bars_frac`` by up to 32 % of its value (-3.2e-5 instead of
  -4.7e-5, ETH-USDT), about 1,500 times the documented live-window tolerance, while 704 and
  more agree to float rounding;
- the detectors' own windows: the channel detector needs ``window_bars`` closed candles.

Upper bound on Kraken, :data:`KRAKEN_MAX_RECORDS` = 718: Hummingbot's ``KrakenSpotCandles``
refuses a history request that starts more than 720 candles ago (Kraken's OHLC endpoint keeps
720). Its fill loop asks for ``max_records - 1`` candles before the first websocket candle and
one more (``_is_first_candle_not_included_in_rest_request``); when that first websocket candle
is the one that just closed, the request starts ``max_records + 1`` candles ago, so 720 raises
``ValueError`` and the fill loop stops for good with an empty feed (Hummingbot PR #8259, open,
clamps instead). 718 leaves one candle close between the websocket message and the request.
:data:`DEFAULT_MAX_RECORDS` = 710 sits inside both bounds at 1h (709 closed candles).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from ml_signals.feature_parts.windows import EMA_SLOPE_BARS, EMA_WINDOW_BARS, windows_for
from ml_signals.setups import ChannelConfig, DetectorConfig

KRAKEN_MAX_RECORDS: Final[int] = 718
"""Largest ``max_records`` a Kraken candles feed fills reliably (module docstring)."""

DEFAULT_MAX_RECORDS: Final[int] = 710
"""Default ``max_records`` of every script: inside Kraken's range, above the 705 the models
need at 1h."""

KRAKEN_CANDLES: Final[str] = "kraken"
"""Hummingbot's name of the Kraken candles feed (``CandlesFactory``)."""


@dataclass(frozen=True, slots=True)
class HistoryNeed:
    """Closed candles the newest decision needs, and why.

    Attributes:
        warmup_bars: rows whose features are NaN (:func:`ml_signals.features.warmup_bars`).
        ema_window_bars: closes every EMA weighs (``EMA_WINDOW_BARS``, 700).
        slope_lag_bars: candles back an EMA slope reads (4 at 1h, 16 at 15m).
        detector_bars: closed candles the detectors' own windows need (0: features only).
    """

    warmup_bars: int
    ema_window_bars: int
    slope_lag_bars: int
    detector_bars: int

    @property
    def ema_bars(self) -> int:
        """Closed candles for training-equal EMAs and slopes: window + lag."""
        return self.ema_window_bars + self.slope_lag_bars

    @property
    def closed_bars(self) -> int:
        """Closed candles needed on the newest decision."""
        return max(self.warmup_bars + 1, self.ema_bars, self.detector_bars)

    @property
    def min_max_records(self) -> int:
        """Smallest ``max_records``: the closed candles plus the forming one."""
        return self.closed_bars + 1


def history_need(interval_s: int, detectors: Iterable[DetectorConfig]) -> HistoryNeed:
    """Closed candles the features and ``detectors`` need at ``interval_s``-second candles.

    Returns ``HistoryNeed(300, 700, 4, 48)`` at 1h with the default channel detector
    (``min_max_records`` 705).

    Raises:
        ValueError: an interval the features refuse (:func:`ml_signals.features.warmup_bars`).
    """
    windows = windows_for(interval_s)
    lag_bars = max(EMA_SLOPE_BARS, windows.htf_slope_bars)
    detector_bars = max((c.window_bars for c in detectors if isinstance(c, ChannelConfig)),
                        default=0)
    return HistoryNeed(warmup_bars=windows.warmup_bars, ema_window_bars=EMA_WINDOW_BARS,
                       slope_lag_bars=lag_bars, detector_bars=detector_bars)


def check_max_records(max_records: int, interval: str, interval_s: int, candles_connector: str,
                      detectors: Iterable[DetectorConfig], max_live_bars: int) -> None:
    """Refuse a ``max_records`` outside what the strategies need and the feed can fill.

    Args:
        max_records: candles per feed, the forming one included.
        interval: interval name for messages (``"1h"``); interval_s: its length in seconds.
        candles_connector: Hummingbot candles feed name; ``"kraken"`` caps at
            :data:`KRAKEN_MAX_RECORDS`.
        detectors: the detector configs the script runs.
        max_live_bars: the features' live-window limit (``MAX_LIVE_BARS``, 720).

    Raises:
        ValueError: one line naming ``max_records``, the bound and the rule behind it.
    """
    need = history_need(interval_s, detectors)
    upper = KRAKEN_MAX_RECORDS if candles_connector == KRAKEN_CANDLES else max_live_bars
    if max_records < need.min_max_records:
        channel = (f", the channel detector's {need.detector_bars}-candle window"
                   if need.detector_bars else "")
        raise ValueError(
            f"max_records {max_records} is too small at {interval}: the newest candle's "
            f"features equal training's only on {need.closed_bars} closed candles (the "
            f"{need.warmup_bars}-candle feature warm-up, the {need.ema_window_bars}-candle "
            f"EMA window plus its {need.slope_lag_bars}-candle slope lag{channel}) and the "
            f"feed's newest candle is still forming; use {need.min_max_records}..{upper}")
    if candles_connector == KRAKEN_CANDLES and max_records > KRAKEN_MAX_RECORDS:
        raise ValueError(
            f"max_records {max_records} exceeds {KRAKEN_MAX_RECORDS} on Kraken candles: "
            f"Hummingbot's KrakenSpotCandles refuses history beyond {max_live_bars} candles "
            f"and its fill loop then stops with an empty feed (Hummingbot PR #8259); use "
            f"{need.min_max_records}..{KRAKEN_MAX_RECORDS}")
