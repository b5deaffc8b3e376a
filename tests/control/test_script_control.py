"""``ml_dca_grid`` on the paper exchange and Hummingbot's backtest clock, operated from Slack.

The script is the one Hummingbot runs, with ``control: {enabled: true}``: its ``start`` opens
the Socket Mode connection (the loopback server), its ``on_tick`` drains the commands. A grid
opened before ``/pause`` fills and closes at its own take profit while paused; a later setup
that every guard would allow gets no executor; ``/resume`` lifts the pause.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from control_support import HOUR, OPERATOR
from hummingbot.connector.test_support.mock_order_tracker import MockOrderTracker
from hummingbot.core.clock import Clock
from hummingbot.core.clock_mode import ClockMode
from servers.socket_mode_like import APP_TOKEN

import hummingbot_scripts.ml_dca_grid as dca_script
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend

sys.path.append(str(Path(__file__).resolve().parents[1] / "hummingbot"))
from hb_support import (  # noqa: E402 - the Hummingbot adapter tests' helpers
    CONNECTOR,
    SampleView,
    fixed_paper_exchange,
    install_markets_recorder,
    run,
    set_books,
    tick_through,
    usd,
)

TICK_S = 15.0
"""Clock step (s): decisions still come within 15 s of a candle's close (the runtime allows
``max_decision_delay_s`` = 900)."""


class ClockView(SampleView):
    """The sample feed at the strategy's clock time."""

    def __init__(self, frames, strategy) -> None:
        super().__init__(frames)
        self.strategy = strategy

    def candles(self, pair):
        self.now_s = self.strategy.current_timestamp
        return super().candles(pair)

    def price(self, pair):
        self.now_s = self.strategy.current_timestamp
        return super().price(pair)


async def until_acked(server, clock, envelope_id: str, wall_limit_s: float = 30.0) -> object:
    """Tick the clock (the strategy drains commands each tick) until the client acked; fails
    after ``wall_limit_s`` of wall time (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + wall_limit_s
    while time.monotonic() < deadline:
        await tick_through(clock, clock.current_timestamp + 1)
        ack = server.wait_ack(envelope_id, 0.0)
        if ack is not None:
            return ack
    raise AssertionError(f"{envelope_id} not answered within {wall_limit_s} s")


def test_paused_script_keeps_its_grid_to_the_take_profit_and_opens_nothing_new(
        kraken_frames, dca_setups, markets_recorder, socket_mode_server, tmp_path, monkeypatch):
    server = socket_mode_server
    for name in ("SUPABASE_URL", "SUPABASE_SERVICE_KEY", "SUPABASE_KEY", "JOURNAL_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("SLACK_BASE_URL", server.api_url)
    first = dca_setups[0]
    second = next(s for s in dca_setups if s.timestamp >= first.timestamp + 2 * HOUR)
    ref = first.reference_price
    start = first.timestamp + HOUR + 1

    async def scenario():
        install_markets_recorder(markets_recorder)
        exchange = fixed_paper_exchange(MockOrderTracker(), pairs=("BTC-USD",))
        exchange.set_balance("USD", usd(10_000))
        set_books(exchange, {"BTC-USD": ref * 1.002})
        config = dca_script.MlDcaGridConfig(
            trading_pairs=["BTC-USD"], paper_trading_rules={"fetch_from_exchange": False},
            models_dir=str(tmp_path / "no-models"), no_model_policy="rules_only",
            # room for a second grid on the pair: only the pause can stop the second setup
            risk={"max_positions_per_pair": 2, "max_exposure_quote": 5000.0},
            journal={"enabled": True, "backend": "sqlite",
                     "sqlite_path": str(tmp_path / "journal.sqlite"),
                     "spool_path": str(tmp_path / "spool.sqlite")},
            control={"enabled": True, "operators": [OPERATOR], "ping_interval_s": 0.5,
                     "state_path": str(tmp_path / "control_state.json")})
        strategy = dca_script.MlDcaGrid({CONNECTOR: exchange}, config)
        strategy.market_data_provider.stop()  # no network: the sample stands in for the feeds
        strategy.market_view = ClockView(kraken_frames, strategy)
        strategy.executor_orchestrator.executors_update_interval = 0.05
        # 15 s ticks: the 15 hours to the second setup's candle are 3,600 ticks
        clock = Clock(ClockMode.BACKTEST, tick_size=TICK_S, start_time=start,
                      end_time=second.timestamp + 2 * HOUR)
        clock.add_iterator(exchange)
        clock.add_iterator(strategy)
        with clock:
            await tick_through(clock, start + 20)  # starts the strategy: Socket Mode connects
            assert server.wait_hellos(1)
            set_books(exchange, {"BTC-USD": ref * 0.985})  # grid levels 1 and 2 fill
            await tick_through(clock, start + 80)
            paused = await until_acked(server, clock, server.slash_command("/pause"))
            # above the grid's take profit (ATR-scaled), measured from its average entry
            set_books(exchange, {"BTC-USD": ref * (1.0 + first.exits.take_profit_frac)})
            ledger = strategy.runtime.planner.ledger
            while not ledger.closed_trades and clock.current_timestamp < start + 1500:
                await tick_through(clock, clock.current_timestamp + 1)
            # on to the second setup's candle, still paused
            clock.backtest_til(second.timestamp + HOUR + 1)
            await tick_through(clock, second.timestamp + HOUR + 20)
            status = await until_acked(server, clock, server.slash_command("/ml-status"))
            resumed = await until_acked(server, clock, server.slash_command("/resume"))
            strategy.update_executors_info()
            executors = list(strategy.get_all_executors())
            blocks_after = strategy.runtime.entry_blocks()
            await strategy.on_stop()
            return paused, status, resumed, executors, ledger, blocks_after

    paused, status, resumed, executors, ledger, blocks_after = run(scenario)
    assert paused.payload["blocks"][0]["text"]["text"] == "New entries PAUSED."
    assert [e.config.level_id for e in executors] == [first.setup_id]  # nothing new
    grid = executors[0]
    assert grid.close_type.name == "TAKE_PROFIT" and float(grid.net_pnl_quote) > 0
    assert ledger.closed_trades == 1
    assert status.payload["blocks"][0]["text"]["text"] == \
        "ML status: new entries PAUSED by an operator"
    assert f"{second.pair} " in status.payload["text"] and "skipped: paused" in \
        status.payload["text"]
    assert resumed.payload["blocks"][0]["text"]["text"] == "New entries RESUMED."
    assert blocks_after == []

    journal = SQLiteJournalBackend(tmp_path / "journal.sqlite", create_schema=False)
    setups = {r["setup_id"]: r for r in journal.fetch_rows("strategy_setups", "recorded_s")}
    commands = [r["command"] for r in journal.fetch_rows("control_commands", "requested_s")]
    journal.close()
    assert setups[first.setup_id]["taken"] is True
    assert setups[second.setup_id]["taken"] is False
    assert setups[second.setup_id]["skip_reason"].startswith("paused: paused by operator")
    assert commands == ["/pause", "/ml-status", "/resume"]
