"""The paper-trading fix (Hummingbot issue #7434) on real ``PaperTradeExchange`` objects.

Before: Hummingbot's ``PaperTradeExchange`` cannot host a V2 executor (no ``trading_rules``; no
order tracker, so fills are invisible). After: ``ExecutorPaperTradeExchange`` runs a
``PositionExecutor`` and a ``DCAExecutor`` from entry to take profit on Hummingbot's backtest
clock, prices from the shipped Kraken candles.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from hb_support import (
    CONNECTOR,
    Host,
    HostConfig,
    SampleView,
    backtest_clock,
    fixed_paper_exchange,
    install_markets_recorder,
    plain_paper_exchange,
    run,
    run_until_done,
    set_books,
    tick_through,
    usd,
)
from hummingbot.connector.test_support.mock_order_tracker import MockOrderTracker
from hummingbot.core.connector_manager import ConnectorManager
from hummingbot.core.data_type.common import OrderType, TradeType
from hummingbot.core.data_type.in_flight_order import OrderState
from hummingbot.strategy_v2.executors.dca_executor.data_types import DCAExecutorConfig
from hummingbot.strategy_v2.executors.dca_executor.dca_executor import DCAExecutor
from hummingbot.strategy_v2.executors.position_executor.data_types import (
    PositionExecutorConfig,
    TripleBarrierConfig,
)
from hummingbot.strategy_v2.executors.position_executor.position_executor import PositionExecutor
from hummingbot.strategy_v2.models.base import RunnableStatus
from hummingbot.strategy_v2.models.executor_actions import CreateExecutorAction
from hummingbot.strategy_v2.models.executors import CloseType

from ml_signals.hummingbot import paper_trading

T0 = 1_640_995_200  # 2022-01-01 00:00 UTC, inside the Kraken sample


def _btc_close(frames, ts: int) -> float:
    frame = frames["BTC-USD"]
    return float(frame.loc[frame["timestamp"] == ts, "close"].iat[0])


def _position_config(now: float, pair: str = "BTC-USD") -> PositionExecutorConfig:
    return PositionExecutorConfig(
        timestamp=now, connector_name=CONNECTOR, trading_pair=pair, side=TradeType.BUY,
        amount=Decimal("0.004"),
        triple_barrier_config=TripleBarrierConfig(
            take_profit=Decimal("0.02"), stop_loss=Decimal("0.03"), time_limit=3600,
            open_order_type=OrderType.MARKET),
    )


def test_plain_paper_exchange_cannot_carry_trading_rules():
    """The root cause: the compiled type takes no new attribute, on the instance or the type."""
    exchange = plain_paper_exchange(MockOrderTracker())
    assert not hasattr(exchange, "trading_rules")
    with pytest.raises(AttributeError):
        exchange.trading_rules = {}
    with pytest.raises(TypeError):
        type(exchange).trading_rules = {}


@pytest.mark.parametrize("fixed", [False, True], ids=["before-fix", "after-fix"])
def test_position_executor_on_paper_exchange(markets_recorder, kraken_frames, fixed):
    """Issue #7434: ``PositionExecutor.__init__`` reads ``connector.trading_rules[pair]``."""
    mid = _btc_close(kraken_frames, T0)

    async def scenario():
        install_markets_recorder(markets_recorder)
        tracker = MockOrderTracker()
        exchange = fixed_paper_exchange(tracker) if fixed else plain_paper_exchange(tracker)
        set_books(exchange, {"BTC-USD": mid})
        host = Host({CONNECTOR: exchange}, HostConfig())
        return PositionExecutor(host, _position_config(T0))

    if not fixed:
        with pytest.raises(AttributeError, match="trading_rules"):
            run(scenario)
    else:
        executor = run(scenario)
        assert executor.trading_rules.trading_pair == "BTC-USD"
        assert executor.trading_rules.min_notional_size == Decimal("1")


@pytest.mark.parametrize("fixed", [False, True], ids=["before-fix", "after-fix"])
def test_dca_executor_min_size_check(markets_recorder, kraken_frames, fixed):
    """``DCAExecutor`` checks every level against the connector's trading rules."""
    mid = _btc_close(kraken_frames, T0)
    rules = paper_trading.PaperTradingRules(
        default=paper_trading.PairRules(min_notional_quote=Decimal("10")))

    async def scenario(amount):
        install_markets_recorder(markets_recorder)
        tracker = MockOrderTracker()
        exchange = fixed_paper_exchange(tracker, rules) if fixed else plain_paper_exchange(tracker)
        set_books(exchange, {"BTC-USD": mid})
        host = Host({CONNECTOR: exchange}, HostConfig())
        config = DCAExecutorConfig(
            timestamp=T0, connector_name=CONNECTOR, trading_pair="BTC-USD", side=TradeType.BUY,
            amounts_quote=[usd(amount)] * 2, prices=[usd(mid), usd(mid * 0.99)],
            take_profit=Decimal("0.01"), time_limit=3600)
        executor = DCAExecutor(host, config)
        return executor.is_any_amount_lower_than_min_order_size(), executor.close_type

    if not fixed:
        with pytest.raises(AttributeError, match="trading_rules"):
            run(lambda: scenario(100))
    else:
        assert run(lambda: scenario(100)) == (False, None)
        assert run(lambda: scenario(5)) == (True, CloseType.FAILED)  # below $10 notional


def test_quantization_follows_the_trading_rules():
    rules = paper_trading.PaperTradingRules(pairs={"BTC-USD": paper_trading.PairRules(
        min_order_size_base=Decimal("0.0001"), price_increment_quote=Decimal("0.1"),
        size_increment_base=Decimal("0.00001"))})

    async def scenario():
        exchange = fixed_paper_exchange(MockOrderTracker(), rules)
        return (exchange.quantize_order_amount("BTC-USD", Decimal("0.123456789")),
                exchange.quantize_order_amount("BTC-USD", Decimal("0.00009")),
                exchange.quantize_order_price("BTC-USD", Decimal("46216.17")),
                exchange.get_order_price_quantum("BTC-USD", Decimal("46216")),
                exchange.quantize_order_amount("ETH-USD", Decimal("1.123456789")))

    amount, too_small, price, quantum, default_pair = run(scenario)
    assert amount == Decimal("0.12345")
    assert too_small == Decimal("0")  # below min_order_size_base
    assert price == Decimal("46216.1")
    assert quantum == Decimal("0.1")
    assert default_pair == Decimal("1.12345678")  # default rules: 1e-8 steps


def test_position_executor_trades_to_take_profit(markets_recorder, kraken_frames):
    """Entry fill seen through the order tracker, take profit on a +3 % book, pnl booked."""
    mid = _btc_close(kraken_frames, T0)

    async def scenario():
        install_markets_recorder(markets_recorder)
        tracker = MockOrderTracker()
        exchange = fixed_paper_exchange(tracker)
        exchange.set_balance("USD", usd(10_000))
        set_books(exchange, {"BTC-USD": mid})
        host = Host({CONNECTOR: exchange}, HostConfig())
        host.executor_orchestrator.executors_update_interval = 0.05
        clock = backtest_clock(T0, T0 + 3600)
        clock.add_iterator(exchange)
        clock.add_iterator(host)
        with clock:
            await tick_through(clock, T0 + 2)
            config = _position_config(clock.current_timestamp)
            host.executor_orchestrator.execute_actions(
                [CreateExecutorAction(controller_id="test", executor_config=config)])
            await tick_through(clock, T0 + 30)
            host.update_executors_info()
            entered = host.get_all_executors()[0]
            set_books(exchange, {"BTC-USD": mid * 1.03})
            await run_until_done(clock, host)
            return entered, host.get_all_executors()[0], exchange.get_all_balances()

    entered, done, balances = run(scenario)
    assert float(entered.filled_amount_quote) == pytest.approx(0.004 * mid, rel=0.001)
    assert entered.status == RunnableStatus.RUNNING
    assert done.status == RunnableStatus.TERMINATED
    assert done.close_type == CloseType.TAKE_PROFIT
    entry = float(done.custom_info["current_position_average_price"])
    exit_ = float(done.custom_info["close_price"])
    assert exit_ / entry - 1 == pytest.approx(0.03, abs=0.001)  # the book moved +3 %
    fees = float(done.cum_fees_quote)
    assert fees > 0
    assert float(done.net_pnl_quote) == pytest.approx(0.004 * (exit_ - entry) - fees, rel=1e-6)
    # The paper account holds no BTC any more and gained from the round trip. (Hummingbot's
    # paper exchange debits the fee of the sell only, so the balance gain exceeds the
    # executor's net PnL, which counts both fees.)
    assert float(balances["BTC"]) == pytest.approx(0.0, abs=1e-7)
    assert float(balances["USD"]) - 10_000 >= float(done.net_pnl_quote)


def test_dca_executor_fills_levels_and_takes_profit(markets_recorder, kraken_frames):
    """Maker levels fill as the book falls through them; the average entry sets the exit."""
    mid = _btc_close(kraken_frames, T0)
    prices = [mid * (1 - 0.01 * k) for k in range(3)]

    async def scenario():
        install_markets_recorder(markets_recorder)
        tracker = MockOrderTracker()
        exchange = fixed_paper_exchange(tracker)
        exchange.set_balance("USD", usd(10_000))
        set_books(exchange, {"BTC-USD": mid * 1.001})
        host = Host({CONNECTOR: exchange}, HostConfig())
        host.executor_orchestrator.executors_update_interval = 0.05
        clock = backtest_clock(T0, T0 + 7200)
        clock.add_iterator(exchange)
        clock.add_iterator(host)
        with clock:
            await tick_through(clock, T0 + 2)
            config = DCAExecutorConfig(
                timestamp=clock.current_timestamp, connector_name=CONNECTOR,
                trading_pair="BTC-USD", side=TradeType.BUY, amounts_quote=[usd(100)] * 3,
                prices=[usd(round(p, 1)) for p in prices], take_profit=Decimal("0.01"),
                stop_loss=Decimal("0.05"), time_limit=7000)
            host.executor_orchestrator.execute_actions(
                [CreateExecutorAction(controller_id="test", executor_config=config)])
            await tick_through(clock, T0 + 20)
            set_books(exchange, {"BTC-USD": mid * 0.985})  # crosses levels 1 and 2, not 3
            await tick_through(clock, T0 + 60)
            host.update_executors_info()
            filled_two = host.get_all_executors()[0]
            set_books(exchange, {"BTC-USD": mid * 1.01})
            await run_until_done(clock, host)
            return filled_two, host.get_all_executors()[0]

    filled_two, done = run(scenario)
    assert float(filled_two.filled_amount_quote) == pytest.approx(200, rel=0.01)
    average = filled_two.custom_info["current_position_average_price"]
    assert float(average) == pytest.approx(2 / (1 / prices[0] + 1 / prices[1]), rel=1e-4)
    assert done.close_type == CloseType.TAKE_PROFIT
    assert done.status == RunnableStatus.TERMINATED
    assert float(done.net_pnl_quote) > 0


def test_order_tracker_handles_a_fill_before_the_created_event(kraken_frames):
    """On a clock that runs without yielding to the event loop, the paper exchange fills a market
    order before its (asynchronous) created event: the order is still tracked and complete."""
    mid = _btc_close(kraken_frames, T0)

    async def scenario():
        exchange = fixed_paper_exchange(MockOrderTracker())
        exchange.set_balance("USD", usd(10_000))
        set_books(exchange, {"BTC-USD": mid})
        clock = backtest_clock(T0, T0 + 60)
        clock.add_iterator(exchange)
        with clock:
            clock.backtest_til(T0 + 1)
            order_id = exchange.buy("BTC-USD", Decimal("0.01"), OrderType.MARKET)
            queued = exchange._order_tracker.fetch_order(client_order_id=order_id)
            state_queued = queued.current_state
            clock.backtest_til(T0 + 10)  # executes after TRADE_EXECUTION_DELAY, no loop turn
            filled = exchange._order_tracker.fetch_order(client_order_id=order_id)
            snapshot = (filled.current_state, filled.executed_amount_base, filled.amount)
            await asyncio.sleep(0.05)  # now the created event arrives; it must change nothing
            after = exchange._order_tracker.fetch_order(client_order_id=order_id)
            return state_queued, snapshot, (after.current_state, after.executed_amount_base)

    state_queued, (state, executed, amount), after = run(scenario)
    assert state_queued == OrderState.OPEN
    assert state == OrderState.FILLED
    assert executed == amount  # the order knows its full size although it was never announced
    assert float(executed) == pytest.approx(0.01, rel=1e-12)  # fills go through float rows
    assert after == (OrderState.FILLED, executed)


def test_installed_factory_makes_hummingbot_create_the_fixed_exchange(no_paper_factory):
    """``ConnectorManager.create_connector`` (what ``start --v2`` calls) builds our subclass with
    the configured rules once the factory is installed, and Hummingbot's own class after."""
    from hummingbot.client.config.client_config_map import ClientConfigMap
    from hummingbot.client.config.config_helpers import ClientConfigAdapter

    rules = paper_trading.PaperTradingRules(pairs={"ETH-USD": paper_trading.PairRules(
        min_notional_quote=Decimal("7"))})

    async def scenario():
        manager = ConnectorManager(ClientConfigAdapter(ClientConfigMap()))
        paper_trading.install_paper_trade_factory(rules)
        fixed = manager.create_connector(CONNECTOR, ["BTC-USD", "ETH-USD"])
        paper_trading.uninstall_paper_trade_factory()
        manager.remove_connector(CONNECTOR)
        plain = manager.create_connector(CONNECTOR, ["BTC-USD"])
        return fixed, plain

    fixed, plain = run(scenario)
    assert isinstance(fixed, paper_trading.ExecutorPaperTradeExchange)
    assert paper_trading.supports_executors(fixed)
    assert fixed.trading_rules["ETH-USD"].min_notional_size == Decimal("7")
    assert fixed.trading_rules["BTC-USD"].min_notional_size == Decimal("1")
    assert fixed.get_balance("USDT") > 0  # Hummingbot applied the paper balances as usual
    assert not paper_trading.supports_executors(plain)


# --- scope: installed by our script, removed when it stops --------------------------------------

def test_factory_is_scoped_to_the_script_and_removed_when_it_stops(no_paper_factory, tmp_path,
                                                                   markets_recorder):
    """``init_markets`` installs the factory for the script's exchange only; after the script's
    ``on_stop`` Hummingbot's ``create_paper_trade_market`` builds its own class again."""
    from hummingbot.client.config.client_config_map import ClientConfigMap
    from hummingbot.client.config.config_helpers import ClientConfigAdapter
    from hummingbot.connector.exchange.paper_trade.paper_trade_exchange import PaperTradeExchange
    from hummingbot.core import connector_manager

    import hummingbot_scripts.ml_swing as swing_script

    original = connector_manager.create_paper_trade_market
    config = swing_script.MlSwingConfig(
        trading_pairs=["BTC-USD"], models_dir=str(tmp_path / "no-models"),
        no_model_policy="rules_only", paper_trading_rules={"fetch_from_exchange": False})

    async def scenario():
        install_markets_recorder(markets_recorder)
        swing_script.MlSwing.init_markets(config)
        installed = connector_manager.create_paper_trade_market is not original
        manager = ConnectorManager(ClientConfigAdapter(ClientConfigMap()))
        ours = manager.create_connector(CONNECTOR, ["BTC-USD"])
        other = connector_manager.create_paper_trade_market("binance", ["BTC-USDT"])
        strategy = swing_script.MlSwing({CONNECTOR: ours}, config)
        strategy.market_data_provider.stop()  # no network: nothing to feed
        clock = backtest_clock(T0, T0 + 60)
        clock.add_iterator(strategy)
        with clock:
            await tick_through(clock, T0 + 2)
            await strategy.on_stop()  # what Hummingbot's ``stop`` calls
        after = connector_manager.create_paper_trade_market("kraken", ["BTC-USD"])
        await ours.stop_network()
        return installed, ours, other, after

    installed, ours, other, after = run(scenario)
    assert installed
    assert isinstance(ours, paper_trading.ExecutorPaperTradeExchange)
    assert type(other) is PaperTradeExchange  # not the script's exchange: Hummingbot's own
    assert type(after) is PaperTradeExchange  # the script stopped: Hummingbot's own again
    assert connector_manager.create_paper_trade_market is original


def test_rules_come_from_the_connector_behind_the_order_books(no_paper_factory):
    """No second connector for the rules: the paper exchange keeps the non-trading connector
    whose order book tracker it uses, and stops it with itself."""

    async def scenario():
        exchange = paper_trading.create_executor_paper_trade_market("kraken", ["BTC-USD"])
        source = exchange.rules_source
        same_tracker = source.order_book_tracker is exchange.order_book_tracker
        await exchange.stop_network()
        return source, same_tracker

    source, same_tracker = run(scenario)
    assert type(source).__name__ == "KrakenExchange"
    assert same_tracker


# --- fills obey the trading rules --------------------------------------------------------------

COARSE = paper_trading.PaperTradingRules(pairs={"BTC-USD": paper_trading.PairRules(
    min_order_size_base=Decimal("0.002"), size_increment_base=Decimal("0.0001"),
    price_increment_quote=Decimal("0.1"), min_notional_quote=Decimal("10"))})
"""A pair whose amount step (1e-4) is coarser than the paper exchange's own 1e-7 rounding."""


def _swing_entry(kraken_frames, amount_quote: float):
    from ml_signals.decision.sizing import SizingConfig, size_entry
    from ml_signals.features import compute_features
    from ml_signals.scoring.scorer import Scorer
    from ml_signals.setups import SwingConfig, make_detector

    btc = kraken_frames["BTC-USD"]
    detector = make_detector("swing", SwingConfig(amount_quote=amount_quote), 3600)
    setup = detector.detect("BTC-USD", btc, compute_features(btc, None, 3600))[0]
    score = Scorer.rules_only_scorer("swing").score(setup, {})
    return size_entry(setup, score, SizingConfig())


@pytest.mark.parametrize("quantized", [False, True], ids=["config-as-is", "config-quantized"])
def test_position_entry_fill_obeys_the_amount_step(markets_recorder, kraken_frames, quantized):
    """The compiled paper exchange fills whatever amount it gets (1e-7 rounding), whatever the
    trading rules say; a config quantized on the rule fills a whole number of steps."""
    from ml_signals.hummingbot import executor_configs

    mid = _btc_close(kraken_frames, T0)
    sized = _swing_entry(kraken_frames, 201.2345)

    async def scenario():
        install_markets_recorder(markets_recorder)
        exchange = fixed_paper_exchange(MockOrderTracker(), COARSE, pairs=("BTC-USD",))
        exchange.set_balance("USD", usd(10_000))
        set_books(exchange, {"BTC-USD": mid})
        host = Host({CONNECTOR: exchange}, HostConfig())
        host.executor_orchestrator.executors_update_interval = 0.05
        rule = exchange.trading_rules["BTC-USD"] if quantized else None
        clock = backtest_clock(T0, T0 + 3600)
        clock.add_iterator(exchange)
        clock.add_iterator(host)
        with clock:
            await tick_through(clock, T0 + 2)
            config = executor_configs.position_executor_config(
                sized, CONNECTOR, clock.current_timestamp, mid, rule)
            host.executor_orchestrator.execute_actions(
                [CreateExecutorAction(controller_id="test", executor_config=config)])
            await tick_through(clock, T0 + 30)
        buys = [o for o in exchange._order_tracker.all_orders.values()
                if o.trade_type == TradeType.BUY]
        return config.amount, buys

    amount, buys = run(scenario)
    assert len(buys) == 1 and buys[0].is_filled
    filled = Decimal(repr(float(buys[0].executed_amount_base)))
    on_step = filled % Decimal("0.0001") == 0
    assert filled == pytest.approx(amount, abs=Decimal("1e-7"))
    assert on_step is quantized  # as-is: 0.00434...; quantized: 0.0043


def test_quantizing_refuses_entries_below_the_rules(kraken_frames):
    from ml_signals.hummingbot import executor_configs

    rule = COARSE.trading_rules(["BTC-USD"])["BTC-USD"]
    mid = _btc_close(kraken_frames, T0)
    small = _swing_entry(kraken_frames, 50.0)  # 50 / ~46,000 = 0.0011 BTC < 0.002 minimum
    with pytest.raises(executor_configs.BelowTradingRules, match="minimum order size 0.002"):
        executor_configs.position_executor_config(small, CONNECTOR, T0, mid, rule)
    prices, amounts = executor_configs.quantize_grid(
        "BTC-USD", [Decimal("46216.17"), Decimal("45753.99")], [Decimal("100"), Decimal("100")],
        rule)
    assert prices == [Decimal("46216.1"), Decimal("45753.9")]  # down to the 0.1 tick
    for price, amount in zip(prices, amounts, strict=True):
        base = amount / price  # what DCAExecutor orders
        assert base % Decimal("0.0001") == 0 and base >= Decimal("0.002")
        assert Decimal("100") - price * Decimal("0.0001") < amount <= Decimal("100")  # 1 step
    with pytest.raises(executor_configs.BelowTradingRules, match="minimum notional 10"):
        executor_configs.quantize_amount("BTC-USD", Decimal("0.002"), Decimal("4000"), rule)


class RuledView(SampleView):
    """The sample feed plus the connector's trading rule per pair (``ProviderMarketView`` asks
    the connector through Hummingbot's ``MarketDataProvider.get_trading_rules``)."""

    def __init__(self, frames, rules: paper_trading.PaperTradingRules) -> None:
        super().__init__(frames)
        self.rules = rules

    def trading_rule(self, pair: str):
        return self.rules.trading_rules([pair])[pair]


@pytest.mark.parametrize("level_quote", [150.0, 100.0], ids=["quantized", "below-minimum"])
def test_runtime_quantizes_entries_or_skips_them(kraken_frames, tmp_path, level_quote):
    """The DCA script's runtime builds its grid on the connector's rules; a grid whose levels
    fall below the minimum order size is skipped with the rule as the reason, never sent."""
    import hummingbot_scripts.ml_dca_grid as dca_script
    from ml_signals.decision.events import RuntimeObserver
    from ml_signals.features import compute_features
    from ml_signals.setups import DcaConfig, make_detector

    btc = kraken_frames["BTC-USD"]
    dca = DcaConfig(amount_per_level_quote=level_quote)
    setup = next(s for s in make_detector("dca", dca, 3600).detect(
        "BTC-USD", btc, compute_features(btc, None, 3600)) if s.bar_index >= 720)
    config = dca_script.MlDcaGridConfig(trading_pairs=["BTC-USD"], dca=dca.model_dump(),
                                        models_dir=str(tmp_path / "no-models"),
                                        no_model_policy="rules_only",
                                        risk={"max_exposure_quote": 1000})
    runtime = config.build_runtime()
    skipped = []

    class Skips(RuntimeObserver):
        def setup_skipped(self, evaluation, reason, now_s):
            skipped.append((evaluation.setup.setup_id, reason))

    runtime.observers.append(Skips())
    view = RuledView(kraken_frames, COARSE)
    view.now_s = setup.timestamp + 3600 + 10
    actions = runtime.create_actions(view.now_s, view, [])
    if level_quote == 150.0:  # ~ 0.0029 BTC per level at ~52,000: above the 0.002 minimum
        assert len(actions) == 1 and not skipped
        grid = actions[0].executor_config
        for price, amount in zip(grid.prices, grid.amounts_quote, strict=True):
            assert price % Decimal("0.1") == 0
            assert (amount / price) % Decimal("0.0001") == 0
            assert amount / price >= Decimal("0.002")
    else:  # ~ 0.0019 BTC per level: below the minimum
        assert actions == []
        assert [(sid, r.guard) for sid, r in skipped] == [(setup.setup_id, "trading_rules")]
        assert "minimum order size 0.002" in skipped[0][1].reason
