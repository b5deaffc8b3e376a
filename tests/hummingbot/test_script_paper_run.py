"""``ml_dca_grid`` end to end on the paper exchange, on Hummingbot's backtest clock.

The script object is the one Hummingbot would run (``MlDcaGrid`` with its config); its
candles come from the shipped Kraken sample as a feed would show them (the live Kraken feeds
are stopped: no network here), the order book is moved by hand through the grid and up to the
take profit. Checks the whole chain: closed candle -> setup -> ``DCAExecutor`` -> fills seen ->
take profit -> ``ClosedTrade`` in the risk ledger -> status text.
"""

from __future__ import annotations

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

from hummingbot.connector.test_support.mock_order_tracker import MockOrderTracker
from hummingbot.strategy_v2.models.base import RunnableStatus
from hummingbot.strategy_v2.models.executors import CloseType

import hummingbot_scripts.ml_dca_grid as dca_script
from ml_signals.features import compute_features
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


def test_dca_grid_script_trades_a_setup_to_take_profit(kraken_frames, markets_recorder):
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
            trading_pairs=["BTC-USD"], paper_trading_rules={"fetch_from_exchange": False})
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
            print("BLOCKED", strategy.runtime._blocked, strategy.runtime._halt, strategy.runtime._state)
            set_books(exchange, {"BTC-USD": ref * 0.985})  # through levels 1 and 2
            await tick_through(clock, start + 80)
            strategy.update_executors_info()
            entered = strategy.get_all_executors()[0]
            set_books(exchange, {"BTC-USD": ref * 1.12})  # above the 10 % take profit
            loop_deadline = clock.current_timestamp + 1200
            while clock.current_timestamp < loop_deadline:
                await tick_through(clock, clock.current_timestamp + 1)
                if strategy.runtime.planner.ledger.closed_trades:
                    break
            status = strategy.runtime.format_status(clock.current_timestamp,
                                                   strategy.get_all_executors())
            return created, entered, strategy.get_all_executors()[0], strategy.runtime, status

    created, entered, done, runtime, status = run(scenario)
    assert [c.config.level_id for c in created] == [setup.setup_id]
    assert created[0].type == "dca_executor" and created[0].controller_id == "dca"
    assert float(entered.filled_amount_quote) > 150  # two $100 levels filled
    assert done.status == RunnableStatus.TERMINATED
    assert done.close_type == CloseType.TAKE_PROFIT
    ledger = runtime.planner.ledger
    assert ledger.closed_trades == 1 and ledger.recent_hit_rate_frac == 1.0
    assert runtime.realised_pnl_quote() == float(done.net_pnl_quote) > 0
    assert f"setup {setup.setup_id}" in status and "entry placed" in status
