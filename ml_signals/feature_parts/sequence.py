"""The candle window a sequence model reads: the last ``n_bars`` candles closed at or before a
setup's candle, normalised to the setup's close.

One function, :func:`candle_windows`, serves both sides: training's dataset
(:mod:`training.models.torch_family.windows`, many setups of one pair at once) and the live scorer
(:meth:`ml_signals.scoring.scorer.Scorer.score`, the pair's candle frame the script already
holds, one setup). Rows after the setup's candle are never read: the window of the candle
opened at ``t`` is rows ``timestamp <= t`` only, so changing later candles cannot change it.

Channels, per window row ``j`` (all natural-log ratios, so the quote currency's scale does not
matter; ``c_t`` is the setup candle's close):

====================  ==========================================================
``close_rel``         ``log(close_j / c_t)``: the path relative to the setup close
``high_rel``          ``log(high_j / close_j)``: upper wick and body, >= 0
``low_rel``           ``log(low_j / close_j)``: lower wick and body, <= 0
``body``              ``log(close_j / open_j)``: the candle's own return
``volume_rel``        ``log1p(volume_j) - mean over the window of log1p(volume)``
====================  ==========================================================

A non-positive price gives a non-finite value; the candle guard drops such windows in training
(the 301-candle feature window contains this one) and skips them live, and the model maps a
non-finite input to 0 (:mod:`training.models.torch_family.net`).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

SEQUENCE_CHANNELS: Final[tuple[str, ...]] = (
    "close_rel", "high_rel", "low_rel", "body", "volume_rel")
"""Channel order of a window's last axis."""
MAX_WINDOW_BARS: Final = 301
"""Longest window: the feature warm-up at 1h (301 candles), so every setup that has features
also has its full window and the candle guard's feature window covers it."""


def candle_windows(candles: pd.DataFrame, timestamps_s: npt.ArrayLike,
                   n_bars: int) -> npt.NDArray[np.float32]:
    """Normalised windows of the last ``n_bars`` candles up to and including each setup candle.

    Args:
        candles: the pair's canonical candle frame (:mod:`ml_signals.candles`: ``timestamp``
            open time in seconds, sorted ascending, OHLCV float64); may run past the setups.
        timestamps_s: open times (UTC seconds) of the setup candles, shape (k,); each must be a
            row of ``candles``.
        n_bars: window length in candles, 1 .. :data:`MAX_WINDOW_BARS`.

    Returns:
        float32 array, shape (k, n_bars, len(SEQUENCE_CHANNELS)), oldest candle first; the
        last row is the setup candle (``close_rel`` 0 there).

    Raises:
        ValueError: ``n_bars`` out of range, a timestamp that is not a candle of the frame, or
            fewer than ``n_bars`` candles up to it (the message names the timestamp and rule).
    """
    if not 1 <= n_bars <= MAX_WINDOW_BARS:
        raise ValueError(f"window n_bars must be in 1..{MAX_WINDOW_BARS}, got {n_bars}")
    ts = candles["timestamp"].to_numpy(dtype="int64")
    wanted = np.atleast_1d(np.asarray(timestamps_s, dtype="int64"))
    end = np.searchsorted(ts, wanted, side="right") - 1
    for t, e in zip(wanted, end, strict=True):
        if e < 0 or ts[e] != t:
            raise ValueError(f"candle window: no candle opened at timestamp {t} in the frame "
                             "(rule: the setup candle must be a row of the pair's candles)")
        if e + 1 < n_bars:
            raise ValueError(f"candle window at timestamp {t}: {e + 1} candles up to it, "
                             f"need {n_bars} (rule: full window, no padding)")
    rows = end[:, None] + np.arange(1 - n_bars, 1)[None, :]
    o, h, lo, c, v = (candles[col].to_numpy(dtype="float64")[rows]
                      for col in ("open", "high", "low", "close", "volume"))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_v = np.log1p(np.maximum(v, 0.0))
        out = np.stack([
            np.log(c / c[:, -1:]),
            np.log(h / c),
            np.log(lo / c),
            np.log(c / o),
            log_v - log_v.mean(axis=1, keepdims=True),
        ], axis=-1)
    return out.astype(np.float32)
