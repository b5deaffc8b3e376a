"""Incremental features (``ml_signals.incremental``) against ``compute_features`` on real candles.

Tolerance: ``PARITY_RTOL`` / ``PARITY_ATOL`` (1e-7 relative + 1e-8 absolute), the bound the
project already holds live-window rows to against full-history rows: both compare one definition
summed in a different order (recursions vs pandas' vectorised EMA, a window's own mean / std vs
pandas' rolling sums). Measured on the sample, the largest gap is about 4e-11 absolute
(``bb_b_frac``), 0.2 % of the bound; the NaN pattern must match exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_signals.features import FEATURE_COLUMNS, compute_features, lookback_bars
from ml_signals.incremental import PARITY_ATOL, PARITY_RTOL, FeatureState, IncrementalFeatures

HOUR = 3600
LIVE = 710  # closed candles a script decides on (max_records)


def assert_rows_close(got: np.ndarray, want: np.ndarray, where: str) -> None:
    """Same NaN pattern, every other value within the parity bound."""
    nan_got, nan_want = np.isnan(got), np.isnan(want)
    if (nan_got != nan_want).any():
        cols = sorted({FEATURE_COLUMNS[j] for j in np.nonzero(nan_got != nan_want)[-1]})
        raise AssertionError(f"{where}: NaN differs in {cols}")
    ok = ~nan_want
    gap = np.abs(got[ok] - want[ok])
    bound = PARITY_ATOL + PARITY_RTOL * np.abs(want[ok])
    assert (gap <= bound).all(), f"{where}: worst gap {gap.max():.3g} over the bound"


def _push_all(frame: pd.DataFrame,
              btc_state: FeatureState | None) -> tuple[np.ndarray, FeatureState]:
    """Feed every candle of ``frame`` to a new state; returns the rows it produced and it."""
    state = FeatureState(HOUR, keep=len(frame))
    arrays = frame[["open", "high", "low", "close", "volume"]].to_numpy()
    rows = []
    for ts, candle in zip(frame["timestamp"].to_numpy(), arrays, strict=True):
        t = int(ts)
        row = (state.push_own(t, tuple(candle)) if btc_state is None
               else state.push(t, tuple(candle), btc_state.btc_point(t)))
        rows.append(row.copy())
    return np.array(rows), state


def test_every_row_of_the_whole_history_equals_compute_features(sample_binance):
    """All six shipped pairs (thousands of consecutive candles each), every row from the
    feature warm-up on, pushed one candle at a time from the first candle of the history: the
    same definition as the batch on the same frame, seeds included."""
    btc = sample_binance["BTC-USDT"].frame
    btc_rows, btc_state = _push_all(btc, None)
    assert_rows_close(btc_rows, compute_features(btc, None, HOUR).to_numpy(), "BTC-USDT")
    for pair, cs in sample_binance.items():
        if pair == "BTC-USDT":
            continue
        frame = cs.frame
        assert len(frame) > 3000
        got, _ = _push_all(frame, btc_state)
        assert_rows_close(got, compute_features(frame, btc, HOUR).to_numpy(), pair)


@pytest.mark.parametrize("pair", ["ETH-USDT", "SOL-USDT", "BTC-USDT"])
def test_sliding_live_windows_equal_compute_features_on_each_window(sample_binance, pair):
    """As a script sees them: the last 710 closed candles, one more each hour, 2,000 hours in a
    row. The state is built once and then only pushed; every 4th window the newest two rows
    (what the detectors read) are compared with ``compute_features`` on that very window."""
    frame = sample_binance[pair].frame
    btc = sample_binance["BTC-USDT"].frame
    features = IncrementalFeatures(HOUR, "BTC-USDT")
    first = 1000
    for end in range(first, first + 2000):
        window = frame.iloc[end - LIVE + 1: end + 1]
        last = int(window["timestamp"].iat[-1])
        reference = None if pair == "BTC-USDT" else btc[btc["timestamp"] <= last].iloc[-LIVE:]
        got = features.features(pair, window, reference)
        assert got.index.equals(window.index)
        assert list(got.columns) == list(FEATURE_COLUMNS)
        if (end - first) % 4 == 0:
            want = compute_features(window, reference, HOUR)
            assert_rows_close(got.to_numpy()[-2:], want.to_numpy()[-2:], f"{pair} at {last}")
    assert features.rebuilds == ({pair: 1} if pair == "BTC-USDT" else {pair: 1, "BTC-USDT": 1})
    assert features.pushes[pair] == 1999


def test_a_rebuilt_state_equals_compute_features_on_every_row_of_its_window(sample_binance):
    frame = sample_binance["ETH-USDT"].frame.iloc[2000: 2000 + LIVE]
    btc = sample_binance["BTC-USDT"].frame
    reference = btc[btc["timestamp"] <= frame["timestamp"].iat[-1]].iloc[-LIVE:]
    got = IncrementalFeatures(HOUR, "BTC-USDT").features("ETH-USDT", frame, reference)
    want = compute_features(frame, reference, HOUR)
    assert_rows_close(got.to_numpy(), want.to_numpy(), "rebuilt window")
    assert np.isnan(got.to_numpy()[:300]).all()  # the batch warm-up, kept


def _windows(frame: pd.DataFrame, end: int) -> pd.DataFrame:
    return frame.iloc[end - LIVE + 1: end + 1].reset_index(drop=True)


def _check_newest(features, frame, pair="BTC-USDT"):
    got = features.features(pair, frame, None)
    want = compute_features(frame, None, HOUR)
    assert_rows_close(got.to_numpy()[-2:], want.to_numpy()[-2:], "after sync")


def test_a_revised_candle_rebuilds_the_state(sample_binance):
    """A feed that corrects a candle already pushed (here its close, 30 candles back): the state
    no longer matches the frame, so it is rebuilt from the frame, not continued."""
    btc = sample_binance["BTC-USDT"].frame
    features = IncrementalFeatures(HOUR, "BTC-USDT")
    features.features("BTC-USDT", _windows(btc, 1500), None)
    revised = _windows(btc, 1501)
    revised.loc[len(revised) - 30, "close"] *= 1.01
    _check_newest(features, revised)
    assert features.rebuilds["BTC-USDT"] == 2
    _check_newest(features, _windows(btc, 1501))  # and back: rebuilt again
    assert features.rebuilds["BTC-USDT"] == 3


def test_new_candles_after_a_pause_are_pushed_and_a_jump_past_the_state_rebuilds(sample_binance):
    btc = sample_binance["BTC-USDT"].frame
    features = IncrementalFeatures(HOUR, "BTC-USDT")
    features.features("BTC-USDT", _windows(btc, 1500), None)
    _check_newest(features, _windows(btc, 1503))  # three decisions skipped, then three pushes
    assert (features.rebuilds["BTC-USDT"], features.pushes["BTC-USDT"]) == (1, 3)
    _check_newest(features, _windows(btc, 1503 + LIVE + 5))  # no overlap left: rebuilt
    assert features.rebuilds["BTC-USDT"] == 2


def test_a_frame_that_starts_earlier_rebuilds_the_state(sample_binance):
    """The feed's back-fill arrived: older candles in front change the batch seeds."""
    btc = sample_binance["BTC-USDT"].frame
    features = IncrementalFeatures(HOUR, "BTC-USDT")
    features.features("BTC-USDT", btc.iloc[1000:1400].reset_index(drop=True), None)
    _check_newest(features, btc.iloc[800:1401].reset_index(drop=True))
    assert features.rebuilds["BTC-USDT"] == 2


def test_a_gap_or_duplicate_is_refused_as_compute_features_refuses_it(sample_binance):
    btc = sample_binance["BTC-USDT"].frame
    features = IncrementalFeatures(HOUR, "BTC-USDT")
    features.features("BTC-USDT", _windows(btc, 1500), None)
    gap = _windows(btc, 1502).drop(index=700).reset_index(drop=True)
    with pytest.raises(ValueError, match=r"candles: row 700 has timestamp .* step of 3600s"):
        features.features("BTC-USDT", gap, None)
    with pytest.raises(ValueError, match="row 700"):
        compute_features(gap, None, HOUR)
    duplicate = pd.concat([_windows(btc, 1501), _windows(btc, 1501).tail(1)], ignore_index=True)
    with pytest.raises(ValueError, match=r"candles: row 710"):
        features.features("BTC-USDT", duplicate, None)
    _check_newest(features, _windows(btc, 1502))  # the refused frame dropped the state
    assert features.rebuilds["BTC-USDT"] == 2


def test_reset_drops_the_state_and_the_next_frame_rebuilds_it(sample_binance):
    btc = sample_binance["BTC-USDT"].frame
    eth = sample_binance["ETH-USDT"].frame
    features = IncrementalFeatures(HOUR, "BTC-USDT")
    end = 1500
    ref = _windows(btc, end)
    features.features("ETH-USDT", _windows(eth, end), ref)
    features.reset("ETH-USDT")
    features.features("ETH-USDT", _windows(eth, end + 1), _windows(btc, end + 1))
    assert (features.rebuilds["ETH-USDT"], features.rebuilds["BTC-USDT"]) == (2, 1)


def test_a_lagging_btc_feed_gives_the_batch_btc_columns(sample_binance):
    """BTC one candle behind (the batch takes the newest BTC row at most one candle older), then
    two behind (BTC columns NaN, as the batch)."""
    btc = sample_binance["BTC-USDT"].frame
    eth = sample_binance["ETH-USDT"].frame
    for lag in (1, 2):
        features = IncrementalFeatures(HOUR, "BTC-USDT")
        frame = _windows(eth, 1500)
        reference = _windows(btc, 1500 - lag)
        got = features.features("ETH-USDT", frame, reference).to_numpy()[-1:]
        want = compute_features(frame, reference, HOUR).to_numpy()[-1:]
        assert_rows_close(got, want, f"BTC {lag} behind")
        assert np.isnan(want[0, FEATURE_COLUMNS.index("btc_regime")]) == (lag == 2)


def test_lookback_of_the_parity_claim():
    """The claim 'newest rows equal' needs frames of at least lookback_bars candles, which the
    scripts' 710 closed candles are."""
    assert lookback_bars(HOUR) <= LIVE - 1


def test_one_btc_frame_read_by_every_pair_equals_a_fresh_frame_per_pair(sample_binance):
    """A runtime passes one BTC frame object to every pair's decision on a candle; the tracker
    syncs BTC's state with it once. Over 300 real candles and three pairs, the features equal,
    value for value, those of a tracker given a fresh copy of the BTC frame at every call, and
    a reset of BTC's state between two reads of the same frame rebuilds it as the copy's."""
    frames = {p: sample_binance[p].frame for p in ("BTC-USDT", "ETH-USDT", "SOL-USDT")}
    shared, fresh = IncrementalFeatures(3600, "BTC-USDT"), IncrementalFeatures(3600, "BTC-USDT")
    end0 = len(frames["BTC-USDT"]) - 300
    for end in range(end0, end0 + 300):
        window = {p: f.iloc[end - 710:end].reset_index(drop=True) for p, f in frames.items()}
        btc = window["BTC-USDT"]
        for pair, frame in window.items():
            if pair == "SOL-USDT" and end % 50 == 0:
                shared.reset("BTC-USDT")
                fresh.reset("BTC-USDT")
            reference = None if pair == "BTC-USDT" else btc
            got = shared.features(pair, frame, reference)
            want = fresh.features(pair, frame.copy(), None if reference is None else btc.copy())
            pd.testing.assert_frame_equal(got, want, check_exact=True, obj=f"{pair} {end}")
    assert shared.rebuilds == fresh.rebuilds and shared.rebuilds["BTC-USDT"] == 7
    assert shared.pushes == fresh.pushes
