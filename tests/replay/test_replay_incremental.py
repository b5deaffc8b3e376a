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
from replay_rows import executor_rows, setup_rows

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


def test_same_setups_executors_close_types_and_pnl(both):
    full, incremental = both
    assert full.errors == incremental.errors == ()
    closed = full.closed_by_type
    assert closed.get("STOP_LOSS", 0) + closed.get("TAKE_PROFIT", 0) >= 2  # the window trades
    assert setup_rows(incremental) == setup_rows(full)
    assert executor_rows(incremental) == executor_rows(full)
    assert incremental.closed_by_type == closed
    assert incremental.balances_end == full.balances_end
    assert incremental.overrides["incremental_features"] is True
    assert full.overrides["incremental_features"] is False
