"""The replay machinery on a tiny script of its own (``fixtures/replay_probe_scripts/probe.py``).

Real Binance 1h candles from ``data/sample``; Hummingbot's own clock, paper exchange and
executors. Checks what the candle -> order book path promises: market entries fill at the open
of the candle after the decision (plus the half spread), stop losses close below the entry and
take profits above it, limit buys fill only when a candle's low reaches them, and the feed never
shows a candle before it has closed.
"""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from training.data import load_dir
from training.replay.runner import ReplaySpec, run_replay

PAIRS = ["BTC-USDT", "ETH-USDT"]
HALF_SPREAD = 0.0005
START, END = datetime(2025, 10, 1), datetime(2025, 10, 8)


def _spec(**overrides) -> ReplaySpec:
    return ReplaySpec(script="probe", scripts_package="replay_probe_scripts", start=START,
                      end=END, half_spread_frac=HALF_SPREAD,
                      overrides={"trading_pairs": PAIRS, **overrides})


@pytest.fixture(scope="module")
def candles(repo_root):
    sets = load_dir(repo_root / "data" / "sample" / "binance", pairs=PAIRS)
    return {pair: cs.frame.set_index("timestamp") for pair, cs in sets.items()}


@pytest.fixture(scope="module")
def position_run():
    return run_replay(_spec(), log_level=logging.ERROR)


@pytest.fixture(scope="module")
def dca_run():
    return run_replay(_spec(use_dca=True), log_level=logging.ERROR)


def test_executors_open_and_close_with_several_close_types(position_run):
    r = position_run
    assert r.errors == ()
    assert r.executors_opened >= 10
    closed = r.closed_by_type
    assert sum(closed.values()) >= r.executors_opened - len(PAIRS)
    assert len(set(closed) & {"TAKE_PROFIT", "STOP_LOSS", "TIME_LIMIT"}) >= 2, closed


def test_market_entry_fills_at_next_candle_open_plus_half_spread(position_run, candles):
    filled = [e for e in position_run.executors if e.filled_quote > 0]
    assert filled
    for e in filled:
        decided_on = int(e.created_s // 3600 * 3600)  # decision at the open of this candle
        open_ = candles[e.pair].loc[decided_on, "open"]
        assert e.entry_price == pytest.approx(open_ * (1 + HALF_SPREAD), rel=1e-6), e


def test_stop_loss_below_entry_and_take_profit_above(position_run):
    by_type = {}
    for e in position_run.executors:
        by_type.setdefault(e.close_type, []).append(e)
    assert by_type.get("STOP_LOSS") and by_type.get("TAKE_PROFIT")
    assert all(e.close_price < e.entry_price and e.net_pnl_quote < 0
               for e in by_type["STOP_LOSS"])
    assert all(e.close_price > e.entry_price for e in by_type["TAKE_PROFIT"])


def test_limit_buy_fills_only_when_the_low_reaches_it(dca_run, candles):
    r = dca_run
    assert r.errors == ()
    filled = [e for e in r.executors if e.filled_quote > 0]
    unfilled = [e for e in r.executors if e.is_done and e.filled_quote == 0]
    assert filled and unfilled  # the real window has both outcomes
    for e in r.executors:
        frame = candles[e.pair]
        start = int(e.created_s // 3600 * 3600)
        end = e.closed_s if e.closed_s is not None else frame.index[-1]
        lows = frame.loc[start:int(end // 3600 * 3600), "low"]
        limit = e.entry_price if e.filled_quote > 0 else None
        if limit is not None:  # filled at its own price, which some candle's low reached
            assert (lows * (1 + HALF_SPREAD) <= limit * (1 + 1e-9)).any(), e


def test_feed_shows_only_closed_candles_and_the_forming_one():
    seen = []
    r = run_replay(_spec(every_n_candles=1000), log_level=logging.ERROR,
                   inspect=lambda strategy: seen.extend(strategy.decisions))
    assert r.executors_opened == 0
    assert len(seen) >= r.candles * len(PAIRS) - len(PAIRS)  # one decision per closed candle
    for d in seen:
        assert d.last_closed_ts + 3600 <= d.now_s  # newest closed candle has closed
        assert d.last_row_ts == d.last_closed_ts + 3600  # then the forming candle
        assert d.last_row_ts <= d.now_s < d.last_row_ts + 3600
        assert d.rows == 48
