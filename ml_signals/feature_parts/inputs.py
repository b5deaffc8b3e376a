"""Cheap checks that a frame is a canonical candle frame before features are computed.

Values are not re-validated here (the loaders and the Hummingbot adapter do that); only what
would silently corrupt candle-counted windows: missing columns, unsorted, duplicate or missing
candles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml_signals.candles import CANDLE_COLUMNS


def check_candle_frame(frame: pd.DataFrame, interval_s: int, name: str) -> None:
    """Raise ``ValueError`` unless ``frame`` has the canonical columns and a gap-free grid.

    Args:
        frame: candle frame (see :mod:`ml_signals.candles`).
        interval_s: expected step between consecutive ``timestamp`` values, in seconds.
        name: how the error message names the frame (``"candles"``, ``"btc_candles"``).

    Raises:
        ValueError: naming the frame, the missing columns, or the first bad row (0-based
            position) with its timestamp and the previous one.
    """
    missing = [col for col in CANDLE_COLUMNS if col not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {missing}; expected {list(CANDLE_COLUMNS)}")
    ts = frame["timestamp"].to_numpy()
    if ts.size < 2:
        return
    bad = np.flatnonzero(np.diff(ts) != interval_s)
    if bad.size:
        row = int(bad[0]) + 1
        raise ValueError(
            f"{name}: row {row} has timestamp {ts[row]} after {ts[row - 1]}; expected a step "
            f"of {interval_s}s (canonical frames are sorted, unique and gap-free)"
        )
