"""The runtime behind the scripts, driven with the shipped Kraken candles as a feed would show them.

Executors appear as Hummingbot ``ExecutorInfo`` records (what ``StrategyV2Base`` reports);
actions are Hummingbot ``CreateExecutorAction`` / ``StopExecutorAction``.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hb_support import SampleView
from hummingbot.core.data_type.common import TradeType
from hummingbot.strategy_v2.executors.dca_executor.data_types import DCAExecutorConfig
from hummingbot.strategy_v2.models.base import RunnableStatus
from hummingbot.strategy_v2.models.executor_actions import (
    CreateExecutorAction,
    StopExecutorAction,
)
from hummingbot.strategy_v2.models.executors import CloseType
from hummingbot.strategy_v2.models.executors_info import ExecutorInfo

import hummingbot_scripts.ml_dca_grid as dca_script
import hummingbot_scripts.ml_portfolio as portfolio_script
from ml_signals.decision.events import RuntimeObserver
from ml_signals.features import compute_features
from ml_signals.setups import make_detector

HOUR = 3600
PAIRS = ["BTC-USD", "ETH-USD"]


@pytest.fixture(scope="module")
def history(kraken_frames) -> dict[str, dict[str, list]]:
    """Setups of every detector on the full sample history, per pair (training's view)."""
    btc = kraken_frames["BTC-USD"]
    found: dict[str, dict[str, list]] = defaultdict(dict)
    for pair, frame in kraken_frames.items():
        features = compute_features(frame, None if pair == "BTC-USD" else btc, HOUR)
        for name in ("dca", "swing", "channel"):
            found[pair][name] = make_detector(name).detect(pair, frame, features)
    return found


class Recorder(RuntimeObserver):
    """Collects the hooks the runtime calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def setup_skipped(self, evaluation, reason, now_s):
        self.calls.append(("skipped", (evaluation.setup.setup_id, reason)))

    def entry_placed(self, event):
        self.calls.append(("placed", event))

    def position_filled(self, event):
        self.calls.append(("filled", event))

    def executor_closed(self, event):
        self.calls.append(("closed", event))

    def guard_locked(self, lock):
        self.calls.append(("locked", lock))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.calls]


NO_MODELS = str(Path(__file__).parent / "no_models")
"""A models folder that does not exist: these tests run rules-only, whatever ``models/`` holds."""


def dca_runtime(observer: Recorder | None = None, **overrides):
    config = dca_script.MlDcaGridConfig(
        **{"trading_pairs": PAIRS, "models_dir": NO_MODELS, "no_model_policy": "rules_only",
           **overrides})
    runtime = config.build_runtime()
    if observer is not None:
        runtime.observers.append(observer)
    return runtime


def executor_info(pair: str, *, status: RunnableStatus, filled_quote: float = 0.0,
                  pnl_quote: float = 0.0, pnl_frac: float = 0.0,
                  close_type: CloseType | None = None, timestamp: float = 0.0,
                  close_ts: float | None = None, entry: float = 0.0, exit_: float = 0.0,
                  level_id: str = "dca:X:0") -> ExecutorInfo:
    config = DCAExecutorConfig(timestamp=timestamp, connector_name="kraken_paper_trade",
                               trading_pair=pair, side=TradeType.BUY,
                               amounts_quote=[Decimal(100)] * 5,
                               prices=[Decimal(100 - k) for k in range(5)], level_id=level_id,
                               controller_id="dca")
    return ExecutorInfo(
        id=config.id, timestamp=timestamp, type=config.type, status=status, config=config,
        net_pnl_pct=Decimal(str(pnl_frac)), net_pnl_quote=Decimal(str(pnl_quote)),
        cum_fees_quote=Decimal("0.5"), filled_amount_quote=Decimal(str(filled_quote)),
        is_active=status != RunnableStatus.TERMINATED, is_trading=filled_quote > 0,
        custom_info={"current_position_average_price": Decimal(str(entry)),
                     "close_price": Decimal(str(exit_))},
        close_type=close_type, close_timestamp=close_ts, controller_id="dca")


def first_live_setup(history, strategy: str, pair: str):
    """First setup with a full 720-candle window before it."""
    return next(s for s in history[pair][strategy] if s.bar_index >= 720)


def test_one_decision_per_closed_candle_never_on_the_forming_one(kraken_frames, history):
    setup = first_live_setup(history, "dca", "BTC-USD")
    # the forming candle crashes 90 %: a runtime that read it would see another market
    def crash(row: pd.Series) -> pd.Series:
        row[["low", "close"]] = row["close"] * 0.1
        row["volume"] *= 50
        return row

    view = SampleView(kraken_frames, forming=crash)
    view.now_s = setup.timestamp + HOUR + 10
    observer = Recorder()
    runtime = dca_runtime(observer)

    actions = runtime.on_tick(view.now_s, view, [])
    btc_actions = [a for a in actions if a.executor_config.trading_pair == "BTC-USD"]
    assert len(btc_actions) == 1
    action = btc_actions[0]
    assert isinstance(action, CreateExecutorAction) and action.controller_id == "dca"
    config = action.executor_config
    assert config.level_id == setup.setup_id  # the closed candle's setup, as in training
    assert [float(p) for p in config.prices] == pytest.approx(list(setup.entry.prices))
    assert config.timestamp == view.now_s
    assert "placed" in observer.kinds()

    assert runtime.on_tick(view.now_s, view, []) == []          # same candle: nothing new
    view.now_s += 600
    assert runtime.on_tick(view.now_s, view, []) == []          # still the same closed candle
    assert runtime.pairs["BTC-USD"].last_candle_ts == setup.timestamp


def test_waits_for_the_btc_candle_of_the_same_hour(kraken_frames, history):
    setup = first_live_setup(history, "dca", "ETH-USD")
    now = setup.timestamp + HOUR + 10

    class LaggingBtc(SampleView):
        """BTC's feed has not received the last two candles (the closed one and the forming)."""

        lag_s = 2 * HOUR

        def candles(self, pair):
            if pair != "BTC-USD":
                return super().candles(pair)
            saved, self.now_s = self.now_s, self.now_s - self.lag_s
            try:
                return super().candles(pair)
            finally:
                self.now_s = saved

    view = LaggingBtc(kraken_frames)
    view.now_s = now
    runtime = dca_runtime(trading_pairs=["ETH-USD"])
    assert runtime.on_tick(now, view, []) == []
    assert runtime.pairs["ETH-USD"].last_candle_ts is None  # not decided without BTC's candle
    view.lag_s = 0
    actions = runtime.on_tick(now + 1, view, [])
    assert [a.executor_config.level_id for a in actions] == [setup.setup_id]


def test_stale_candle_at_start_is_skipped(kraken_frames, history):
    setup = first_live_setup(history, "dca", "BTC-USD")
    view = SampleView(kraken_frames)
    view.now_s = setup.timestamp + HOUR + 2000  # > max_decision_delay_s (900)
    runtime = dca_runtime()
    assert runtime.on_tick(view.now_s, view, []) == []
    assert "skipped" in runtime.pairs["BTC-USD"].note


def test_risk_guard_blocks_and_is_reported(kraken_frames, history):
    setup = first_live_setup(history, "dca", "BTC-USD")
    view = SampleView(kraken_frames)
    view.now_s = setup.timestamp + HOUR + 10
    observer = Recorder()
    runtime = dca_runtime(observer, risk={"max_open_positions": 1})
    running = executor_info("SOL-USD", status=RunnableStatus.RUNNING, filled_quote=100.0,
                            timestamp=view.now_s - 5000)

    actions = runtime.on_tick(view.now_s, view, [running])
    assert not any(isinstance(a, CreateExecutorAction) for a in actions)
    skipped = [payload for kind, payload in observer.calls if kind == "skipped"]
    assert (setup.setup_id, ) == tuple(sid for sid, _ in skipped if sid == setup.setup_id)
    reason = dict(skipped)[setup.setup_id]
    assert reason.guard == "max_open_positions"
    status = runtime.format_status(view.now_s, [running])
    assert f"setup {setup.setup_id}" in status
    assert "skipped: max_open_positions" in status
    assert "rules-only" in status


def test_closed_executors_feed_the_ledger_and_guards_stop_unfilled_entries():
    observer = Recorder()
    runtime = dca_runtime(observer, risk={"consecutive_losses": 1}, capital_quote=1000)
    t = 1_650_000_000.0
    lost = executor_info("BTC-USD", status=RunnableStatus.TERMINATED, filled_quote=210.0,
                         pnl_quote=-12.5, pnl_frac=-0.125, close_type=CloseType.STOP_LOSS,
                         timestamp=t - 7200, close_ts=t - 60, entry=40_000.0, exit_=35_000.0,
                         level_id="dca:BTC-USD:1649992800")
    resting = executor_info("ETH-USD", status=RunnableStatus.RUNNING, timestamp=t - 600,
                            level_id="dca:ETH-USD:1649996400")
    state = runtime.sync(t, [lost, resting])

    ledger = runtime.planner.ledger
    assert ledger.closed_trades == 1 and ledger.consecutive_losses == 0  # streak lock resets it
    assert state.equity_quote == pytest.approx(1000 - 12.5)
    closed = next(p for k, p in observer.calls if k == "closed")
    assert closed.trade.pnl_quote == -12.5 and closed.close_type == "STOP_LOSS"
    assert closed.setup_id == "dca:BTC-USD:1649992800"
    assert closed.amount_quote == pytest.approx(100.0)  # -12.5 / -0.125
    assert "locked" in observer.kinds()
    # the lock blocks every new entry: the resting grid (nothing filled) is stopped once
    stops = runtime.stop_actions(t, [lost, resting])
    assert [(type(a), a.executor_id) for a in stops] == [(StopExecutorAction, resting.id)]
    assert runtime.stop_actions(t + 1, [lost, resting]) == []
    assert "consecutive_losses" in runtime.format_status(t, [lost, resting])
    runtime.sync(t + 1, [lost, resting])  # seen once: not recorded twice
    assert ledger.closed_trades == 1


def test_portfolio_round_settles_conflicts(kraken_frames, history):
    """Two strategies firing on one pair in one round: one entry, the other skipped."""
    by_bar = defaultdict(list)
    for setups in history["ETH-USD"].values():
        for s in setups:
            if s.bar_index >= 720:
                by_bar[s.timestamp].append(s)
    ts, clash = next((ts, group) for ts, group in sorted(by_bar.items()) if len(group) > 1)
    view = SampleView(kraken_frames)
    view.now_s = ts + HOUR + 10
    observer = Recorder()
    config = portfolio_script.MlPortfolioConfig(trading_pairs=["ETH-USD"], models_dir=NO_MODELS,
                                                no_model_policy="rules_only")
    runtime = config.build_runtime()
    runtime.observers.append(observer)

    actions = runtime.on_tick(view.now_s, view, [])
    assert len(actions) == 1
    ids = {s.setup_id for s in clash}
    assert actions[0].executor_config.level_id in ids
    skipped = [payload for kind, payload in observer.calls if kind == "skipped"]
    assert [reason.guard for _, reason in skipped] == ["same_coin"] * (len(clash) - 1)
    assert {sid for sid, _ in skipped} | {actions[0].executor_config.level_id} == ids


def test_capacity_guards_block_new_entries_but_keep_resting_ones():
    """A full book (max_open_positions) blocks new setups; the resting grid that fills it stays."""
    runtime = dca_runtime(risk={"max_open_positions": 1})
    t = 1_650_000_000.0
    resting = executor_info("ETH-USD", status=RunnableStatus.RUNNING, timestamp=t - 600,
                            level_id="dca:ETH-USD:1649996400")
    runtime.sync(t, [resting])
    status = runtime.format_status(t, [resting])
    assert "Blocking new entries:\n  max_open_positions" in status
    assert runtime.stop_actions(t, [resting]) == []
    assert runtime.stop_actions(t + 86_400 * 5, [resting]) == []  # no cancel_unfilled_after_s
