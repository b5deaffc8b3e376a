"""The replay's default (fast) mode gives the summary of its exhaustive mode.

Exhaustive mode does all of Hummingbot's per-tick work at every sub-tick: the script rebuilds
its executor reports at each tick and the paper exchange checks its network every 10 s
simulated. The fast mode keeps the reports while no listed executor can change and checks the
network once a simulated day, and lists terminated executors with their report computed once.
Same script and real window (a week of BTC/ETH/SOL 1h candles
in which the channel script opens executors that close by stop loss and take profit, and sits
flat in between), rules-only: the same setups, executors, close types, fills, PnL and balances.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import pytest
from replay_rows import executor_rows, setup_rows

from ml_signals.hummingbot.executor_reports import FinishedExecutor
from ml_signals.hummingbot.script_base import MlScriptBase
from training.replay.runner import ReplaySpec, run_replay

PAIRS = ("BTC-USDT", "ETH-USDT", "SOL-USDT")


def _replay(tmp: Path, exhaustive: bool):
    spec = ReplaySpec(script="ml_channel", pairs=PAIRS, start=datetime(2026, 2, 9),
                      end=datetime(2026, 2, 16), out_dir=tmp,
                      models_dir=str(tmp / "no-models"), exhaustive=exhaustive,
                      overrides={"no_model_policy": "rules_only"})
    seen = {}

    def inspect(strategy):
        listed = [e for group in strategy.executor_orchestrator.active_executors.values()
                  for e in group]
        seen.update(reuse=strategy.reuse_executor_reports,
                    finished=sum(isinstance(e, FinishedExecutor) for e in listed))

    result = run_replay(spec, log_level=logging.ERROR, inspect=inspect)
    return result, (seen["reuse"], seen["finished"])


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    return (_replay(tmp_path_factory.mktemp("exhaustive"), True),
            _replay(tmp_path_factory.mktemp("fast"), False))


def test_fast_mode_gives_the_exhaustive_summary(both):
    (exhaustive, reused_exhaustive), (fast, reused_fast) = both
    # the modes really differ: only the fast one keeps reports and wraps finished executors
    assert (reused_exhaustive[0], reused_fast[0]) == (False, True)
    assert reused_exhaustive[1] == 0 and reused_fast[1] == len(fast.executors) >= 2
    assert exhaustive.errors == fast.errors == ()
    closed = exhaustive.closed_by_type
    assert closed.get("STOP_LOSS", 0) >= 1 and closed.get("TAKE_PROFIT", 0) >= 1
    assert fast.subticks == exhaustive.subticks
    assert setup_rows(fast) == setup_rows(exhaustive)
    assert executor_rows(fast) == executor_rows(exhaustive)
    assert fast.closed_by_type == closed
    assert fast.balances_end == exhaustive.balances_end
    assert _counts(fast.journal) == _counts(exhaustive.journal)  # files differ, counts not
    assert _counts(fast.alerts) == _counts(exhaustive.alerts)


def _counts(counts):
    return {k: v for k, v in asdict(counts).items() if k != "path"}


def test_executors_archived_by_hummingbot_are_still_recorded(both, tmp_path):
    """With ``closed_executors_buffer`` 0 Hummingbot archives each executor in the tick its
    close is first reported; the replay records it before (``ExecutorWatch.watch_archiving``)."""
    _, (fast, _) = both
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MlScriptBase, "closed_executors_buffer", 0)
        listed = {}
        spec = ReplaySpec(script="ml_channel", pairs=PAIRS, start=datetime(2026, 2, 9),
                          end=datetime(2026, 2, 16), out_dir=tmp_path,
                          models_dir=str(tmp_path / "no-models"),
                          overrides={"no_model_policy": "rules_only"})
        archived = run_replay(spec, log_level=logging.ERROR, inspect=lambda s: listed.update(
            n=sum(len(g) for g in s.executor_orchestrator.active_executors.values())))
    assert listed["n"] < len(fast.executors)  # Hummingbot really archived closed executors
    assert archived.errors == ()
    assert executor_rows(archived) == executor_rows(fast)
    assert archived.closed_by_type == fast.closed_by_type
