"""The canonical candle frame (:mod:`ml_signals.candles`): the closed candles of a feed's frame."""

from __future__ import annotations

import numpy as np
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


def _per_column(candles: pd.DataFrame, interval_s: int, now_s: float) -> pd.DataFrame:
    """The canonical frame spelled column by column (the reference for the one-conversion read
    of a numeric feed frame)."""
    ts = np.rint(candles["timestamp"].to_numpy(dtype=np.float64)).astype(np.int64)
    closed = ts + interval_s <= now_s
    return pd.DataFrame({"timestamp": ts[closed], **{
        c: candles[c].to_numpy(dtype=np.float64)[closed]
        for c in ("open", "high", "low", "close", "volume")}})


def test_closed_frame_reads_a_feed_frame_as_its_columns_one_by_one(sample_binance):
    """Real candles in Hummingbot's ``candles_df`` shape (float timestamp, ten numeric columns,
    the forming candle last), in another column order, or with a non-numeric extra column:
    the same canonical frame (values and dtypes) as reading the canonical columns one by one."""
    eth = sample_binance["ETH-USDT"].frame.iloc[-800:].reset_index(drop=True)
    hb = eth.astype({"timestamp": "float64"}).assign(
        quote_asset_volume=eth["volume"] * eth["close"], n_trades=np.nan,
        taker_buy_base_volume=np.nan, taker_buy_quote_volume=np.nan)
    now_s = float(eth["timestamp"].iat[-1]) + 1800  # the newest candle is still forming
    expected = _per_column(hb, 3600, now_s)
    assert len(expected) == len(eth) - 1
    variants = {
        "hummingbot": hb,
        "reordered": hb[list(hb.columns[::-1])],
        "text column": hb.assign(note="x"),
    }
    for name, frame in variants.items():
        got = closed_frame(frame, 3600, now_s)
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=name)
    with pytest.raises(ValueError, match="lack column"):
        closed_frame(hb.drop(columns="low"), 3600, now_s)
