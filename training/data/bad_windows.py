"""Which setups' windows touch a bad candle, so the dataset can leave them out.

A setup on the candle opening at ``t`` (seconds, UTC) reads, and is labelled from:

- its **feature window**: the candles opening in ``[t - (lookback - 1) * interval, t]``, the
  decision candle and every candle its features read (:func:`ml_signals.features.lookback_bars`:
  704 at 1h; a ÷900 redenomination still moved ``close_vs_ema200_frac`` by 0.9 550 candles
  later, inside the EMA's 700-close window). The live scripts guard exactly this window
  (:class:`ml_signals.candle_guard_live.LiveCandleGuard`);
- the BTC reference's candles over the same feature window (regime and BTC features);
- its **label window**: the candles opening in ``[t + interval, label_end]``, from the decision
  (the decision candle's close) to the time its labels resolved (``label_end_s`` of
  :func:`training.labels.dataset.build_dataset`; the last candle the label replay read opens at or
  before it).

The pair's own windows are contiguous, ``[t - (lookback - 1) * interval, label_end]``. The candles
themselves are never altered; only the setups are left out.
"""

from __future__ import annotations

import numpy as np

from ml_signals.features import lookback_bars
from training.data.candleset import CandleSet


def _bad_times(candles: CandleSet | None) -> np.ndarray:
    if candles is None:
        return np.empty(0, dtype="int64")
    return np.sort(np.array([b.timestamp_s for b in candles.bad_candles
                             if b.timestamp_s is not None], dtype="int64"))


def _any_between(bad_s: np.ndarray, start_s: np.ndarray, end_s: np.ndarray) -> np.ndarray:
    """Per window: does a bad time fall in ``[start_s, end_s]`` (inclusive)?"""
    if len(bad_s) == 0:
        return np.zeros(len(start_s), dtype=bool)
    return np.searchsorted(bad_s, end_s, side="right") > np.searchsorted(bad_s, start_s,
                                                                          side="left")


def touches_bad_candles(
    timestamps_s: np.ndarray, label_end_s: np.ndarray, candles: CandleSet,
    reference: CandleSet | None = None,
) -> np.ndarray:
    """Boolean per setup: True when its feature or label window (module docstring) holds a
    candle ``candles`` flags, or its feature window a candle ``reference`` (the BTC pair, when
    ``candles`` is another pair) flags.

    Args:
        timestamps_s: decision candles' open times (s, UTC), shape (setups,).
        label_end_s: when each setup's labels resolved (s, UTC), shape (setups,).
        candles: the pair's candle set, with its ``bad_candles``.
        reference: the BTC reference's candle set; ``None`` for BTC itself.

    Raises:
        ValueError: the arrays differ in length, or the interval has no feature warm-up.
    """
    ts = np.asarray(timestamps_s, dtype="int64")
    end = np.asarray(label_end_s, dtype="int64")
    if ts.shape != end.shape:
        raise ValueError(f"{len(ts)} setup times but {len(end)} label ends")
    start = ts - (lookback_bars(candles.interval_s) - 1) * candles.interval_s
    touched = _any_between(_bad_times(candles), start, np.maximum(end, ts))
    if reference is not None and reference is not candles:
        touched |= _any_between(_bad_times(reference), start, ts)
    return touched
