"""``ml_dca_grid`` end to end on the paper exchange, on Hummingbot's backtest clock.

The script object is the one Hummingbot would run (``MlDcaGrid`` with its config); its
candles come from the shipped Kraken sample as a feed would show them (the live Kraken feeds
are stopped: no network here), the order book is moved by hand through the grid and up to the
take profit. Checks the whole chain: closed candle -> setup -> ``DCAExecutor`` -> fills seen ->
take profit -> ``ClosedTrade`` in the risk ledger -> journal rows (SQLite) and Slack alerts (the
outbox; no Slack secrets, so delivery goes to the log) -> status text -> Hummingbot's stop.
"""

from __future__ import annotations

import asyncio

import pytest
from hb_support import (
    CONNECTOR,
    SampleView,
    backtest_clock,
    fixed_paper_exchange,
    install_markets_recorder,
    run,
    set_books,
    tick_through,
    usd,
)
from hummingbot.client.hummingbot_application import HummingbotApplication
from hummingbot.connector.test_support.mock_order_tracker import MockOrderTracker
from hummingbot.strategy_v2.models.base import RunnableStatus

import hummingbot_scripts.ml_dca_grid as dca_script
from ml_signals.alerts.outbox import Outbox
from ml_signals.features import compute_features
from ml_signals.journal import JournalConfig
from ml_signals.journal.readback import load_closed_trades
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend
from ml_signals.setups import make_detector

HOUR = 3600


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


async def keep_ticking(clock) -> None:
    """The clock keeps running while Hummingbot stops the strategy (as it does live)."""
    while True:
        await tick_through(clock, clock.current_timestamp + 1)


@pytest.mark.parametrize("ending", ["take_profit", "bot_stopped"])
def test_dca_grid_script_trades_a_setup(kraken_frames, markets_recorder, tmp_path, monkeypatch,
                                        ending):
    """``take_profit``: the book rises past the setup's take profit (scaled by the pair's ATR)
    and the grid closes on it.
    ``bot_stopped``: Hummingbot stops the bot with the grid open; the executor closes at market
    and that close still reaches the ledger, the journal and the alerts."""
    for name in ("SUPABASE_URL", "SUPABASE_SERVICE_KEY", "SUPABASE_KEY", "JOURNAL_BACKEND",
                 "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SLACK_WEBHOOK_URL_TRADES",
                 "SLACK_WEBHOOK_URL_REPORTS", "SLACK_WEBHOOK_URL_SYSTEM"):
        monkeypatch.delenv(name, raising=False)  # local SQLite journal, alerts to the log only
    btc = kraken_frames["BTC-USD"]
    features = compute_features(btc, None, HOUR)
    setup = next(s for s in make_detector("dca").detect("BTC-USD", btc, features)
                 if s.bar_index >= 720)
    ref = setup.reference_price
    start = setup.timestamp + HOUR + 1  # one second after the setup candle closed

    async def scenario():
        install_markets_recorder(markets_recorder)
        exchange = fixed_paper_exchange(MockOrderTracker(), pairs=("BTC-USD",))
        exchange.set_balance("USD", usd(10_000))
        set_books(exchange, {"BTC-USD": ref * 1.002})
        config = dca_script.MlDcaGridConfig(
            trading_pairs=["BTC-USD"], paper_trading_rules={"fetch_from_exchange": False},
            models_dir=str(tmp_path / "no-models"), no_model_policy="rules_only",
            # rules-only: the setup is taken whatever a locally trained model would say
            journal={"enabled": True, "sqlite_path": str(tmp_path / "journal.sqlite"),
                     "spool_path": str(tmp_path / "spool.sqlite")},
            alerts={"enabled": True, "outbox_path": str(tmp_path / "outbox.sqlite")})
        strategy = dca_script.MlDcaGrid({CONNECTOR: exchange}, config)
        strategy.market_data_provider.stop()  # no network: the sample stands in for the feeds
        strategy.market_view = ClockView(kraken_frames, strategy)
        strategy.executor_orchestrator.executors_update_interval = 0.05
        clock = backtest_clock(start, start + 6 * HOUR)
        clock.add_iterator(exchange)
        clock.add_iterator(strategy)
        with clock:
            await tick_through(clock, start + 20)
            created = list(strategy.get_all_executors())
            set_books(exchange, {"BTC-USD": ref * 0.985})  # through levels 1 and 2
            await tick_through(clock, start + 80)
            strategy.update_executors_info()
            entered = strategy.get_all_executors()[0]
            if ending == "take_profit":
                # above the take profit, measured from the grid's average entry (below ref)
                set_books(exchange, {"BTC-USD": ref * (1.0 + setup.exits.take_profit_frac)})
                loop_deadline = clock.current_timestamp + 1200
                while clock.current_timestamp < loop_deadline:
                    await tick_through(clock, clock.current_timestamp + 1)
                    if strategy.runtime.planner.ledger.closed_trades:
                        break
            status = strategy.runtime.format_status(clock.current_timestamp,
                                                   strategy.get_all_executors())
            core = HummingbotApplication.main_application().trading_core
            notified = [type(n).__name__ for n in core.notifiers]
            executor = strategy.executor_orchestrator.active_executors["dca"][0]
            ticker = asyncio.create_task(keep_ticking(clock))
            await strategy.on_stop()  # Hummingbot's stop: executors, feeds, journal, alerts
            ticker.cancel()
            notified_after = [type(n).__name__ for n in core.notifiers]
            return (created, entered, executor.executor_info, strategy.runtime, status,
                    (notified, notified_after))

    created, entered, done, runtime, status, notifiers = run(scenario)
    assert [c.config.level_id for c in created] == [setup.setup_id]
    assert created[0].type == "dca_executor" and created[0].controller_id == "dca"
    assert float(entered.filled_amount_quote) > 150  # two $100 levels filled
    assert done.status == RunnableStatus.TERMINATED
    close_type = {"take_profit": "TAKE_PROFIT", "bot_stopped": "EARLY_STOP"}[ending]
    assert done.close_type.name == close_type
    ledger = runtime.planner.ledger
    assert ledger.closed_trades == 1
    assert runtime.realised_pnl_quote() == float(done.net_pnl_quote) != 0
    if ending == "take_profit":
        assert ledger.recent_hit_rate_frac == 1.0 and float(done.net_pnl_quote) > 0
    assert f"setup {setup.setup_id}" in status and "entry placed" in status

    journal = SQLiteJournalBackend(tmp_path / "journal.sqlite", create_schema=False)
    setups = journal.fetch_rows("strategy_setups", "setup_id")
    predictions = journal.fetch_rows("ml_predictions", "prediction_id")
    trades = load_closed_trades(JournalConfig(sqlite_path=tmp_path / "journal.sqlite"),
                                backend=journal)
    journal.close()
    assert [(r["setup_id"], r["taken"]) for r in setups] == [(setup.setup_id, True)]
    assert [r["model_version"] for r in predictions] == ["rules-only"]
    assert trades["trade_id"].tolist() == [done.id]
    assert trades["close_type"].tolist() == [close_type]
    assert trades["pnl_quote"].iat[0] == pytest.approx(float(done.net_pnl_quote))
    assert trades["amount_quote"].iat[0] == pytest.approx(float(entered.filled_amount_quote))

    outbox = Outbox(tmp_path / "outbox.sqlite")
    keys = [row.key for row in outbox.rows()]
    outbox.close()
    # the rules-only mode is announced at start (system alert), then the trade alerts
    assert keys == [f"notice:model-mode:dca:{int(start)}", f"trade-opened:{done.id}",
                    f"trade-closed:{done.id}"]
    assert notifiers == (["SlackNotifier"], [])  # Hummingbot's notify() -> Slack while running
