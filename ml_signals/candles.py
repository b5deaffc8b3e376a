"""The canonical candle frame every part of the package speaks.

Shape: a ``pandas.DataFrame`` with exactly the columns :data:`CANDLE_COLUMNS`:

- ``timestamp``: ``int64``, the candle's **open** time in seconds since the epoch, UTC
  (Hummingbot's ``CandlesBase`` convention). A candle at ``timestamp`` closes at
  ``timestamp + interval_s``; a decision taken on it can act no earlier than the next candle.
- ``open high low close``: ``float64`` prices in quote currency.
- ``volume``: ``float64`` traded amount in **base** currency.

Rows are sorted ascending, unique, and lie on the interval grid (no gaps).

The training loaders build it from candle files; the live scripts and the replay build it from
Hummingbot's ``candles_df`` with :func:`closed_frame` (closed candles only) before every
decision (:mod:`ml_signals.decision`). Both fill gaps with :func:`fill_gaps`.
"""

from __future__ import annotations

import logging
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

log = logging.getLogger(__name__)

CANDLE_COLUMNS: Final[tuple[str, ...]] = ("timestamp", "open", "high", "low", "close", "volume")

INTERVAL_SECONDS: Final[dict[str, int]] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "4h": 14400,
    "1d": 86400,
}
"""Candle interval names (Hummingbot / freqtrade spelling) to their length in seconds."""

_CANONICAL_INDEX = pd.Index(CANDLE_COLUMNS)
"""The column index of every frame :func:`closed_frame` builds (pandas indexes are immutable):
a column read by name builds the index's lookup table once, not once per frame."""


def interval_seconds(interval: str) -> int:
    """Return the length of a candle interval in seconds.

    Args:
        interval: Hummingbot / freqtrade interval name such as ``"1h"`` or ``"15m"``.

    Raises:
        ValueError: if the name is not one of :data:`INTERVAL_SECONDS`.
    """
    try:
        return INTERVAL_SECONDS[interval]
    except KeyError:
        known = ", ".join(INTERVAL_SECONDS)
        raise ValueError(f"unknown candle interval {interval!r}; known: {known}") from None


def fill_gaps(frame: pd.DataFrame, interval_s: int) -> tuple[pd.DataFrame, int]:
    """Insert the bars missing from the grid between the first and last timestamp.

    A filled bar has ``open = high = low = close =`` the previous bar's close and ``volume = 0``
    (Kraken's "no trade in this interval"). ``frame`` must be canonical apart from the gaps
    (sorted, unique, on the grid). The training loaders and the live scripts' candle frames
    both fill through this function.

    Returns:
        ``(frame, filled_bars)``: the input itself when nothing is missing, else a new canonical
        frame with ``(last - first) / interval_s + 1`` rows.
    """
    ts = frame["timestamp"].to_numpy()
    slots = (ts - ts[0]) // interval_s
    n_full = int(slots[-1]) + 1
    filled = n_full - len(ts)
    if filled == 0:
        return frame, 0
    present = np.zeros(n_full, dtype=bool)
    present[slots] = True
    # Row of the latest real bar at or before each slot (slot 0 is always real): its close
    # carries forward into the filled slots.
    latest_real = np.cumsum(present) - 1
    close = frame["close"].to_numpy()[latest_real]
    out = {"timestamp": ts[0] + np.arange(n_full, dtype="int64") * interval_s}
    for col in ("open", "high", "low", "close", "volume"):
        col_values = np.empty(n_full)
        col_values[slots] = frame[col].to_numpy()
        fill_value = np.zeros(n_full) if col == "volume" else close
        col_values[~present] = fill_value[~present]
        out[col] = col_values
    return pd.DataFrame(out), filled


def closed_frame(candles: pd.DataFrame, interval_s: int, now_s: float) -> pd.DataFrame:
    """Canonical frame (module docstring) of the candles closed at ``now_s``.

    Hummingbot's ``candles_df`` ends with the candle still forming; a candle is closed when
    ``timestamp + interval_s <= now_s``. Accepts Hummingbot's columns (extra ones dropped,
    ``timestamp`` float seconds) or a canonical frame. Duplicated timestamps keep the last row
    (a feed's update of the same candle); missing candles inside the frame are filled as the
    loaders fill exchange gaps (open = high = low = close = previous close, volume 0) and logged.

    Raises:
        ValueError: a canonical column is missing, a timestamp is missing (NaN) or off the
            interval grid.
    """
    values, positions = _numeric_values(candles)
    raw_ts = values[:, positions[0]]
    bad = np.flatnonzero(~np.isfinite(raw_ts))
    if bad.size:
        raise ValueError(f"candle row {int(bad[0])} has no timestamp ({raw_ts[bad[0]]})")
    ts = np.rint(raw_ts).astype(np.int64)
    closed = ts + interval_s <= now_s
    ts = ts[closed]
    if ts.size > 1 and not bool((np.diff(ts) > 0).all()):  # duplicates or out of order
        frame = candles.loc[closed, list(CANDLE_COLUMNS)].copy()
        frame["timestamp"] = ts
        frame = frame.drop_duplicates("timestamp", keep="last").sort_values("timestamp")
        ts = frame["timestamp"].to_numpy()
        columns: dict[str, npt.NDArray[np.float64]] = {
            c: frame[c].to_numpy(dtype=np.float64) for c in CANDLE_COLUMNS[1:]}
    else:
        rows = values[closed]
        columns = {c: np.ascontiguousarray(rows[:, k])
                   for c, k in zip(CANDLE_COLUMNS[1:], positions[1:], strict=True)}
    off_grid = np.flatnonzero(ts % interval_s != 0)
    if off_grid.size:
        raise ValueError(f"candle timestamp {int(ts[off_grid[0]])} is not on the "
                         f"{interval_s} s grid")
    frame = pd.DataFrame({"timestamp": ts, **columns}, copy=False)
    frame.columns = _CANONICAL_INDEX  # same labels, one shared index: its lookup built once
    if len(frame) > 1 and bool((np.diff(ts) != interval_s).any()):
        frame, filled = fill_gaps(frame, interval_s)
        if filled:
            log.warning("filled %d missing candle(s) between %d and %d", filled,
                        int(frame["timestamp"].iloc[0]), int(frame["timestamp"].iloc[-1]))
    return frame


def _numeric_values(candles: pd.DataFrame) -> tuple[npt.NDArray[np.float64], list[int]]:
    """``candles`` as one float64 array (rows x columns) and the positions of
    :data:`CANDLE_COLUMNS` in it: one conversion of the whole frame when every column is numeric
    (Hummingbot's ``candles_df``, a canonical frame), else the canonical columns one by one.

    Raises:
        ValueError: a canonical column is missing, or one is not numeric.
    """
    missing = [c for c in CANDLE_COLUMNS if c not in candles.columns]
    if missing:
        raise ValueError(f"candles lack column(s) {missing}; have {list(candles.columns)}")
    if candles.columns.is_unique:
        try:
            values = candles.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            pass  # a non-numeric extra column: read the canonical ones alone
        else:
            names = candles.columns.to_list()
            return values, [names.index(c) for c in CANDLE_COLUMNS]
    stacked: npt.NDArray[np.float64] = np.column_stack(
        [candles[c].to_numpy(dtype=np.float64) for c in CANDLE_COLUMNS])
    return stacked, list(range(len(CANDLE_COLUMNS)))
