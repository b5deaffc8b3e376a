"""The canonical candle frame (:mod:`ml_signals.candles`): the closed candles of a feed's frame."""

from __future__ import annotations

import pandas as pd
import pytest

from ml_signals.candles import closed_frame


def test_closed_frame_drops_the_forming_candle_and_fills_gaps():
    hb = pd.DataFrame({
        "timestamp": [0.0, 3600.0, 10800.0, 14400.0],  # 7200 missing, 14400 still forming
        "open": [1.0, 2.0, 4.0, 5.0], "high": [1.5, 2.5, 4.5, 5.5],
        "low": [0.5, 1.5, 3.5, 4.5], "close": [1.2, 2.2, 4.2, 5.2],
        "volume": [10.0, 20.0, 40.0, 50.0], "n_trades": [1, 2, 4, 5],
    })
    frame = closed_frame(hb, 3600, now_s=14400 + 1800)
    assert frame["timestamp"].tolist() == [0, 3600, 7200, 10800]
    assert frame["timestamp"].dtype == "int64"
    assert frame.iloc[2][["open", "high", "low", "close", "volume"]].tolist() == [2.2] * 4 + [0.0]
    with pytest.raises(ValueError, match="not on the 3600 s grid"):
        closed_frame(hb.assign(timestamp=hb["timestamp"] + 5), 3600, now_s=20_000)
