"""The replay with incremental features gives the summary of the full-recomputation path.

Same script, same real window (two weeks of BTC/ETH/SOL 1h candles in which the channel script
opens executors that close by stop loss and take profit), rules-only, once with
``incremental_features: false`` (``compute_features`` on the 710-candle window at each decision)
and once with the default: the same setups decided the same way, the same executors with the same
close types, fills and PnL.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pytest

from training.replay.runner import ReplaySpec, run_replay

PAIRS = ("BTC-USDT", "ETH-USDT", "SOL-USDT")


def _replay(tmp: Path, incremental: bool):
    spec = ReplaySpec(script="ml_channel", pairs=PAIRS, start=datetime(2026, 2, 5),
                      end=datetime(2026, 2, 19), out_dir=tmp,
                      models_dir=str(tmp / "no-models"),
                      overrides={"no_model_policy": "rules_only",
                                 "incremental_features": incremental})
    return run_replay(spec, log_level=logging.ERROR)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    return (_replay(tmp_path_factory.mktemp("full"), False),
            _replay(tmp_path_factory.mktemp("incremental"), True))


def _executors(result):
    return sorted((e.level_id, e.pair, e.side, e.created_s, e.closed_s, e.close_type,
                   round(e.filled_quote, 9), round(e.net_pnl_quote, 9), round(e.fees_quote, 9),
                   e.entry_price, e.close_price) for e in result.executors)


def _setups(result):
    return sorted((s.setup_id, s.decided_s, s.taken, s.skip_guard, s.skip_reason)
                  for s in result.setups)


def test_same_setups_executors_close_types_and_pnl(both):
    full, incremental = both
    assert full.errors == incremental.errors == ()
    closed = full.closed_by_type
    assert closed.get("STOP_LOSS", 0) + closed.get("TAKE_PROFIT", 0) >= 2  # the window trades
    assert _setups(incremental) == _setups(full)
    assert _executors(incremental) == _executors(full)
    assert incremental.closed_by_type == closed
    assert incremental.balances_end == full.balances_end
    assert incremental.overrides["incremental_features"] is True
    assert full.overrides["incremental_features"] is False
