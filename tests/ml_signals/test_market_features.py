"""Market-state features: causal, and the same on a live window as on the whole history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_signals.market_features import MARKET_COLUMNS, MIN_UNIVERSE, MarketState

LIVE_BARS = 709  # closed candles of a feed with max_records 710
TOLERANCE = 1e-9  # EMA start forgotten within the window: (49/51)^650 ~ 5e-12


@pytest.fixture(scope="module")
def closes(sample_binance) -> dict[str, pd.DataFrame]:
    return {p: cs.frame[["timestamp", "close"]] for p, cs in sample_binance.items()}


@pytest.fixture(scope="module")
def batch(closes) -> MarketState:
    return MarketState(closes)


def test_live_window_equals_the_whole_history(closes, batch):
    """At many decision times, the state built from each pair's last 709 closed candles (what
    a script's feeds hold) gives the features the whole-history state gives."""
    ts_all = closes["BTC-USDT"]["timestamp"].to_numpy()
    times = ts_all[np.linspace(2 * LIVE_BARS, len(ts_all) - 1, 60).astype(int)]
    compared = 0
    for t in times:
        window = {p: f[f["timestamp"] <= t].tail(LIVE_BARS) for p, f in closes.items()}
        live = MarketState(window)
        for pair in closes:
            a = batch.features(pair, np.array([t])).to_numpy()
            b = live.features(pair, np.array([t])).to_numpy()
            np.testing.assert_allclose(b, a, atol=TOLERANCE, rtol=0, equal_nan=True)
            compared += int(np.isfinite(a).sum())
    assert compared > 60 * len(closes) * 5  # most values defined, not NaN against NaN


def test_features_use_no_later_candle(closes, batch):
    """Changing every candle after t leaves the features at t unchanged."""
    t = int(closes["ETH-USDT"]["timestamp"].iat[5000])
    moved = {p: f.assign(close=np.where(f["timestamp"] > t, f["close"] * 3.0, f["close"]))
             for p, f in closes.items()}
    later = MarketState(moved)
    for pair in closes:
        np.testing.assert_array_equal(later.features(pair, np.array([t])).to_numpy(),
                                      batch.features(pair, np.array([t])).to_numpy())


def test_values_are_what_they_say(closes, batch):
    t = int(closes["SOL-USDT"]["timestamp"].iat[3000])
    f = batch.features("SOL-USDT", np.array([t])).iloc[0]
    assert list(f.index) == list(MARKET_COLUMNS)
    rets = {}
    for pair, frame in closes.items():
        c = frame.set_index("timestamp")["close"]
        rets[pair] = c.loc[t] / c.shift(4).loc[t] - 1
    assert f["mkt_ret_4_bars_frac"] == pytest.approx(np.mean(list(rets.values())))
    rank = pd.Series(rets).rank(pct=True)["SOL-USDT"]
    assert f["mkt_rank_ret_4_bars"] == pytest.approx(rank)
    assert 0 <= f["mkt_breadth_ema50_frac"] <= 1


def test_too_small_a_universe_is_refused(closes):
    with pytest.raises(ValueError, match=f">= {MIN_UNIVERSE} pairs"):
        MarketState(dict(list(closes.items())[:MIN_UNIVERSE - 1]))
