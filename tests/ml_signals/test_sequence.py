"""ml_signals.feature_parts.sequence on the real candle sample: no look-ahead, the setup
candle anchors the window, normalisation, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from ml_signals.feature_parts.sequence import SEQUENCE_CHANNELS, candle_windows
from training.data import CandleSet


@pytest.fixture(scope="module")
def eth(sample_binance: dict[str, CandleSet]):
    return sample_binance["ETH-USDT"].frame


def test_changing_candles_after_t_does_not_change_the_window_at_t(eth):
    stamps = eth["timestamp"].to_numpy()[[400, 1000, 2000]]
    before = candle_windows(eth, stamps, 48)
    later = eth.copy()
    after_t = later["timestamp"] > stamps[0]
    later.loc[after_t, ["open", "high", "low", "close"]] *= 3.0
    later.loc[after_t, "volume"] *= 10.0
    np.testing.assert_array_equal(candle_windows(later, stamps[:1], 48), before[:1])
    # the later timestamps' windows do see the change: the comparison can fail
    assert not np.array_equal(candle_windows(later, stamps[1:], 48), before[1:])
    # and so does the window at t when a candle inside it changes
    inside = later.copy()
    inside.loc[inside["timestamp"] == stamps[0] - 3600 * 5, "close"] *= 1.01
    assert not np.array_equal(candle_windows(inside, stamps[:1], 48), before[:1])


def test_window_is_the_last_n_candles_up_to_the_setup_candle(eth):
    i = 700
    t = int(eth["timestamp"].iat[i])
    (window,) = candle_windows(eth, [t], 10)
    assert window.shape == (10, len(SEQUENCE_CHANNELS))
    close = eth["close"].to_numpy()[i - 9: i + 1]
    np.testing.assert_allclose(window[:, 0], np.log(close / close[-1]), rtol=1e-6, atol=1e-7)
    assert window[-1, 0] == 0.0
    assert (window[:, 1] >= 0).all() and (window[:, 2] <= 0).all()  # wicks around the close
    assert abs(float(window[:, 4].mean())) < 1e-5  # volume relative to the window's mean
    # a frame cut at the setup candle (what a live script holds) gives the same window
    np.testing.assert_array_equal(candle_windows(eth.iloc[: i + 1], [t], 10)[0], window)


def test_errors_name_the_timestamp_and_rule(eth):
    t0 = int(eth["timestamp"].iat[5])
    with pytest.raises(ValueError, match=f"timestamp {t0}: 6 candles up to it, need 10"):
        candle_windows(eth, [t0], 10)
    with pytest.raises(ValueError, match="no candle opened at timestamp 123"):
        candle_windows(eth, [123], 10)
    with pytest.raises(ValueError, match="n_bars must be in 1..301"):
        candle_windows(eth, [t0], 0)
