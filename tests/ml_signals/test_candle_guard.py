"""The candle guard's rules on real candles (the shipped Binance sample), one edit at a time."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from ml_signals import candle_guard as guard
from ml_signals.candle_guard import flag_candles, newest_bad_in_window

HOUR = 3600
ROW = 500


@pytest.fixture
def btc(sample_binance) -> pd.DataFrame:
    """A copy of the sample's BTC-USDT canonical frame (tests edit it)."""
    return sample_binance["BTC-USDT"].frame.copy()


def test_the_real_sample_has_no_bad_candle(sample_binance):
    """Binance 1h, 2024-09 .. 2026-02: no candle breaks a rule at the plan's 50 % bound."""
    for pair, cs in sample_binance.items():
        flags = flag_candles(cs.frame, cs.interval_s)
        assert flags.n_bad == 0, (pair, flags.counts())


def _set(**values: float) -> Callable[[pd.DataFrame], None]:
    def edit(f: pd.DataFrame) -> None:
        for col, value in values.items():
            f.loc[ROW, col] = value
    return edit


def _scale(col: str, factor: float) -> Callable[[pd.DataFrame], None]:
    def edit(f: pd.DataFrame) -> None:
        f.loc[ROW, col] = f.loc[ROW, col] * factor
    return edit


def _move_close(frac: float) -> Callable[[pd.DataFrame], None]:
    """The candle opens at the previous close and closes ``frac`` away from it."""
    def edit(f: pd.DataFrame) -> None:
        prev = f.loc[ROW - 1, "close"]
        close = prev * (1 + frac)
        f.loc[ROW, ["open", "high", "low", "close"]] = [prev, max(prev, close),
                                                        min(prev, close), close]
    return edit


def _gap_open(frac: float) -> Callable[[pd.DataFrame], None]:
    """The candle opens ``frac`` from the previous close and closes back near it (+10 %)."""
    def edit(f: pd.DataFrame) -> None:
        prev = f.loc[ROW - 1, "close"]
        open_, close = prev * (1 + frac), prev * 1.1
        f.loc[ROW, ["open", "high", "low", "close"]] = [open_, max(open_, close),
                                                        min(open_, close), close]
    return edit


def _high_below_body(f: pd.DataFrame) -> None:
    body_hi = max(f.loc[ROW, "open"], f.loc[ROW, "close"])
    body_lo = min(f.loc[ROW, "open"], f.loc[ROW, "close"])
    f.loc[ROW, "high"] = (body_hi + body_lo) / 2  # above the low, below the body's top


def _low_above_body(f: pd.DataFrame) -> None:
    body_hi = max(f.loc[ROW, "open"], f.loc[ROW, "close"])
    body_lo = min(f.loc[ROW, "open"], f.loc[ROW, "close"])
    f.loc[ROW, "low"] = (body_hi + body_lo) / 2


def _timestamp(delta_s: int) -> Callable[[pd.DataFrame], None]:
    def edit(f: pd.DataFrame) -> None:
        f["timestamp"] = f["timestamp"].astype("float64")
        f.loc[ROW, "timestamp"] = f.loc[ROW, "timestamp"] + delta_s
    return edit


EDITS: list[tuple[str, Callable[[pd.DataFrame], None], str]] = [
    ("nan_close", _set(close=np.nan), "nan"),
    ("inf_volume", _set(volume=np.inf), "nan"),
    ("nan_timestamp", lambda f: (_timestamp(0)(f), _set(timestamp=np.nan)(f)), "nan"),
    ("zero_open", _set(open=0.0), "non_positive_price"),
    ("negative_low", _scale("low", -1.0), "non_positive_price"),
    ("negative_volume", _set(volume=-1.0), "negative_volume"),
    ("high_below_low", lambda f: _set(high=f.loc[ROW, "low"] * 0.99)(f), "high_below_low"),
    ("high_below_body", _high_below_body, "high_below_open_close"),
    ("low_above_body", _low_above_body, "low_above_open_close"),
    ("half_hour_off", _timestamp(1800), "off_grid"),
    ("one_second_off", _timestamp(1), "off_grid"),
    ("duplicate", _timestamp(-HOUR), "duplicate_timestamp"),
    ("unsorted", _timestamp(-2 * HOUR), "unsorted_timestamp"),
    ("up_60_pct", _move_close(0.60), "close_move"),
    ("down_60_pct", _move_close(-0.60), "close_move"),
    ("up_500_pct", _move_close(5.0), "close_move"),
    ("down_80_pct", _move_close(-0.80), "close_move"),
    ("open_gap_up_60_pct", _gap_open(0.60), "open_gap"),
]


@pytest.mark.parametrize(("edit", "rule"), [e[1:] for e in EDITS], ids=[e[0] for e in EDITS])
def test_each_rule_flags_the_edited_candle(btc, edit, rule):
    edit(btc)
    flags = flag_candles(btc, HOUR)
    rules = flags.rules()
    assert rules[ROW] == rule
    others = np.flatnonzero(flags.bad)
    # a move also flags the next candle, whose move is measured from the edited close
    allowed = {ROW, ROW + 1} if rule in guard.MOVE_RULES else {ROW}
    assert set(others.tolist()) <= allowed
    (bad,) = [b for b in flags.bad_candles(btc) if b.row == ROW]
    assert bad.rule == rule and bad.detail
    ts = btc["timestamp"].iat[ROW]
    assert bad.timestamp_s == (int(ts) if np.isfinite(ts) else None)


def test_first_rule_wins_in_the_documented_order(btc):
    btc.loc[ROW, ["close", "volume"]] = [np.nan, -1.0]          # nan before negative_volume
    btc.loc[ROW + 10, ["open", "volume"]] = [0.0, -1.0]         # non_positive before volume
    btc.loc[ROW + 20, "timestamp"] = btc.loc[ROW + 20, "timestamp"] + 1
    btc.loc[ROW + 20, "close"] = btc.loc[ROW + 19, "close"] * 3  # off_grid before close_move
    btc.loc[ROW + 20, "high"] = btc.loc[ROW + 20, "close"]
    rules = flag_candles(btc, HOUR).rules()
    assert (rules[ROW], rules[ROW + 10], rules[ROW + 20]) == (
        "nan", "non_positive_price", "off_grid")
    assert list(guard.RULES) == [
        "nan", "non_positive_price", "negative_volume", "high_below_low",
        "high_below_open_close", "low_above_open_close", "off_grid", "duplicate_timestamp",
        "unsorted_timestamp", "close_move", "open_gap"]


def test_the_move_bound_is_configurable_and_strict(btc):
    _move_close(0.40)(btc)
    assert flag_candles(btc, HOUR).n_bad == 0                   # plan's 50 %: a real pump
    assert flag_candles(btc, HOUR, 0.30).rules()[ROW] == "close_move"
    btc.loc[ROW - 1, "close"] = 100.0
    btc.loc[ROW, ["open", "high", "low", "close"]] = [100.0, 150.0, 100.0, 150.0]
    assert flag_candles(btc, HOUR, 0.5).rules()[ROW] == ""      # exactly +50 %: not beyond
    btc.loc[ROW, ["high", "close"]] = 150.01
    assert flag_candles(btc, HOUR, 0.5).rules()[ROW] == "close_move"
    btc.loc[ROW, ["open", "high", "low", "close"]] = [50.0, 50.0, 50.0, 50.0]
    assert flag_candles(btc, HOUR, 0.5).rules()[ROW] == ""      # exactly -50 %
    btc.loc[ROW, ["open", "high", "low", "close"]] = [49.99, 100.0, 49.99, 100.0]
    assert flag_candles(btc, HOUR, 0.5).rules()[ROW] == "open_gap"


def test_no_move_is_measured_from_an_unusable_close(btc):
    btc.loc[ROW, ["close", "low"]] = [0.0, 0.0]
    rules = flag_candles(btc, HOUR).rules()
    assert rules[ROW] == "non_positive_price" and rules[ROW + 1] == ""
    assert flag_candles(btc.iloc[:1], HOUR).n_bad == 0          # the first row has no move


def test_counts_and_rule_names(btc):
    btc.loc[[10, 20], "close"] = np.nan
    btc.loc[30, "volume"] = -5.0
    flags = flag_candles(btc, HOUR)
    assert flags.counts() == {"nan": 2, "negative_volume": 1}
    assert flags.codes.dtype == np.uint8 and len(flags.codes) == len(btc)


def test_newest_bad_in_window_reads_only_the_window(btc):
    n = len(btc)
    btc.loc[n - 400, "close"] = np.nan                          # outside a 301-candle window
    assert newest_bad_in_window(btc, HOUR, 301) == (None, 0)
    btc.loc[n - 301, "volume"] = -1.0                           # the window's oldest candle
    btc.loc[n - 50, "close"] = np.nan
    found, count = newest_bad_in_window(btc, HOUR, 301)
    assert count == 2 and (found.row, found.rule) == (n - 50, "nan")
    assert found.timestamp_s == int(btc["timestamp"].iat[n - 50])


def test_window_move_uses_the_close_before_the_window(btc):
    n = len(btc)
    first = n - 301
    prices = ["open", "high", "low", "close"]
    btc.loc[first:, prices] = btc.loc[first:, prices] * 3      # a x3 redenomination
    found, count = newest_bad_in_window(btc, HOUR, 301)
    assert (found.row, found.rule, count) == (first, "close_move", 1)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"interval_s": 0}, "interval_s"),
    ({"max_move_frac": 0.0}, "max_move_frac"),
    ({"max_move_frac": float("nan")}, "max_move_frac"),
])
def test_bad_arguments_are_refused(btc, kwargs, match):
    with pytest.raises(ValueError, match=match):
        flag_candles(btc, **{"interval_s": HOUR, **kwargs})


def test_missing_column_is_refused(btc):
    with pytest.raises(ValueError, match="volume"):
        flag_candles(btc.drop(columns="volume"), HOUR)


def _slide(frame: pd.DataFrame, ends: range, check: guard.WindowCheck, key: str = "BTC-USDT"):
    """(incremental answer, whole-window answer) for each feed frame ending at ``ends``."""
    for end in ends:
        part = frame.iloc[max(0, end - 710):end]
        yield (check.newest_bad(key, part),
               newest_bad_in_window(part, HOUR, check.window_bars, check.max_move_frac))


def test_window_check_flags_each_candle_once_and_answers_as_the_whole_check(btc):
    """A feed frame sliding one candle at a time over real candles with bad ones in it (a NaN,
    a spike and the candle after it): the same answer as the whole-window check at every
    candle, while only the new candle and the window's first row are flagged again."""
    btc.loc[ROW, "close"] = np.nan
    btc.loc[ROW + 300, ["high", "close"]] = btc.loc[ROW + 300, "close"] * 3
    check = guard.WindowCheck(HOUR, 704)
    answers = list(_slide(btc, range(ROW - 100, ROW + 1100), check))
    assert all(fast == whole for fast, whole in answers)
    assert sum(whole[0] is not None for _, whole in answers) >= 700  # bad candles were in view
    assert {whole[0].rule for _, whole in answers if whole[0] is not None} == {
        "nan", "close_move"}
    assert check.rows_flagged <= 705 + 2 * (len(answers) - 1)


def test_window_check_with_a_duplicate_timestamp_answers_as_the_whole_check(btc):
    """A duplicated open time (two rows, one timestamp) in the sliding window: still the
    whole-window answer at every candle."""
    btc.loc[ROW + 100, "timestamp"] = btc.loc[ROW + 99, "timestamp"]
    check = guard.WindowCheck(HOUR, 704)
    answers = list(_slide(btc, range(ROW, ROW + 900), check))
    assert all(fast == whole for fast, whole in answers)
    assert {whole[0].rule for _, whole in answers if whole[0] is not None} == {
        "duplicate_timestamp"}


def test_window_check_flags_a_revised_candle_again(btc):
    """A candle already checked clean and then revised by the feed (same timestamp, new
    values) is flagged: the guard never keeps a code for values it did not check."""
    check = guard.WindowCheck(HOUR, 704)
    end = ROW + 800
    assert check.newest_bad("BTC-USDT", btc.iloc[end - 710:end]) == (None, 0)
    revised = btc.iloc[end - 709:end + 1].copy()
    revised.loc[end - 100, "volume"] = -1.0
    found, count = check.newest_bad("BTC-USDT", revised)
    assert (found.rule, found.timestamp_s, count) == (
        "negative_volume", int(btc["timestamp"].iat[end - 100]), 1)
    assert (found, count) == newest_bad_in_window(revised, HOUR, 704)


def test_window_check_keys_do_not_share_candles(sample_binance):
    """Two pairs checked alternately keep their own memory."""
    check = guard.WindowCheck(HOUR, 704)
    eth = sample_binance["ETH-USDT"].frame.copy()
    eth.loc[len(eth) - 3, "low"] = eth.loc[len(eth) - 3, "high"] * 2
    btc = sample_binance["BTC-USDT"].frame
    for end in range(len(eth) - 5, len(eth) + 1):
        assert check.newest_bad("BTC-USDT", btc.iloc[end - 710:end]) == (None, 0)
        assert check.newest_bad("ETH-USDT", eth.iloc[end - 710:end]) == newest_bad_in_window(
            eth.iloc[end - 710:end], HOUR, 704)


def test_canonical_frame_reads_as_a_frame_with_other_columns(btc):
    """The canonical frame's values are read without column selection; a frame with the same
    candles in Hummingbot's column order plus extra columns gives the same flags and answer."""
    btc.loc[ROW + 800, "close"] = np.nan
    btc.loc[ROW + 810, "volume"] = -2.0
    part = btc.iloc[ROW + 100:ROW + 820]
    wide = part.assign(quote_asset_volume=np.nan, n_trades=7.0)[
        ["timestamp", "quote_asset_volume", "open", "high", "low", "close", "volume",
         "n_trades"]]
    assert np.array_equal(guard._matrix(part, 3), guard._matrix(wide, 3), equal_nan=True)
    assert np.array_equal(flag_candles(part, HOUR).codes, flag_candles(wide, HOUR).codes)
    assert newest_bad_in_window(part, HOUR, 704) == newest_bad_in_window(wide, HOUR, 704)
    assert newest_bad_in_window(part, HOUR, 704)[1] == 2


def test_window_check_answers_the_same_frame_again_without_a_pass(btc):
    """The BTC reference read by several pairs' decisions on one candle: the same frame object
    under the same key answers as its first check without flagging a row again; another frame
    (the next candle's) is checked."""
    btc.loc[ROW + 600, ["high", "close"]] = btc.loc[ROW + 600, "close"] * 3
    check = guard.WindowCheck(HOUR, 704)
    frame = btc.iloc[ROW:ROW + 710]
    first = check.newest_bad("BTC-USDT", frame)
    flagged = check.rows_flagged
    assert first[0] is not None and first == newest_bad_in_window(frame, HOUR, 704)
    assert check.newest_bad("BTC-USDT", frame) == first
    assert check.rows_flagged == flagged
    following = btc.iloc[ROW + 1:ROW + 711]
    assert check.newest_bad("BTC-USDT", following) == newest_bad_in_window(following, HOUR, 704)
    assert check.rows_flagged > flagged
