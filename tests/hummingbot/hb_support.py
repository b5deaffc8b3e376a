"""Helpers of the Hummingbot adapter tests (imported by the test modules of this folder)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

import pandas as pd
from hummingbot.client.config.client_config_map import ClientConfigMap
from hummingbot.client.config.config_helpers import ClientConfigAdapter, get_connector_class
from hummingbot.connector.exchange.paper_trade.paper_trade_exchange import PaperTradeExchange
from hummingbot.connector.markets_recorder import MarketsRecorder
from hummingbot.connector.test_support.mock_order_tracker import MockOrderTracker
from hummingbot.core.clock import Clock
from hummingbot.core.clock_mode import ClockMode
from hummingbot.core.data_type.composite_order_book import CompositeOrderBook
from hummingbot.core.data_type.order_book_row import OrderBookRow
from hummingbot.model.sql_connection_manager import SQLConnectionManager, SQLConnectionType
from hummingbot.strategy.strategy_v2_base import StrategyV2Base, StrategyV2ConfigBase

from ml_signals.hummingbot import paper_trading

HB_CANDLE_EXTRA = ("quote_asset_volume", "n_trades", "taker_buy_base_volume",
                   "taker_buy_quote_volume")
"""``CandlesBase.columns`` beyond the canonical six."""

CONNECTOR = "kraken_paper_trade"


def order_book(mid: float, step_frac: float = 0.0002, levels: int = 60,
               size_base: float = 5.0) -> CompositeOrderBook:
    """A Hummingbot order book around ``mid``: bid and ask levels every ``step_frac`` of it."""
    book = CompositeOrderBook()
    step = mid * step_frac
    bids = [OrderBookRow(mid - step * (i + 0.5), size_base, 1) for i in range(levels)]
    asks = [OrderBookRow(mid + step * (i + 0.5), size_base, 1) for i in range(levels)]
    book.apply_snapshot(bids, asks, 1)
    return book


def plain_paper_exchange(tracker: MockOrderTracker) -> PaperTradeExchange:
    """Hummingbot's own ``PaperTradeExchange`` for Kraken, as ``create_paper_trade_market``
    builds it, on an offline tracker."""
    return PaperTradeExchange(tracker, get_connector_class("kraken"), exchange_name="kraken")


def fixed_paper_exchange(tracker: MockOrderTracker, rules: paper_trading.PaperTradingRules | None
                         = None, pairs: tuple[str, ...] = ("BTC-USD", "ETH-USD"),
                         ) -> paper_trading.ExecutorPaperTradeExchange:
    """The executor-capable paper exchange on an offline tracker."""
    return paper_trading.create_executor_paper_trade_market(
        "kraken", list(pairs), rules, order_book_tracker=tracker)


def set_books(exchange: PaperTradeExchange, mids: dict[str, float]) -> None:
    """Replace each pair's order book by one around its mid price (as a tracker update would)
    and let the paper exchange register the pairs (``init_paper_trade_market``)."""
    for pair, mid in mids.items():
        exchange.order_book_tracker._order_books[pair] = order_book(mid)
    exchange.init_paper_trade_market()


def install_markets_recorder(db_path: Any) -> MarketsRecorder:
    """Hummingbot's trade recorder on ``db_path``, as the shared instance; call it on the
    running event loop (the recorder keeps that loop)."""
    client_config = ClientConfigAdapter(ClientConfigMap())
    sql = SQLConnectionManager(client_config, SQLConnectionType.TRADE_FILLS, db_path=str(db_path))
    recorder = MarketsRecorder(sql, [], "test.yml", "test", client_config.market_data_collection)
    MarketsRecorder._shared_instance = recorder
    return recorder


class HostConfig(StrategyV2ConfigBase):
    """Config of :class:`Host`."""


class Host(StrategyV2Base):
    """A bare V2 strategy: the object executors run inside (connectors, clock, buy/sell)."""


class SampleView:
    """A ``MarketView`` over sample frames (what a Hummingbot candles feed holds at ``now_s``).

    ``candles(pair)`` returns the last ``max_records`` candles opened at or before ``now_s`` -
    the newest one still forming, replaced by ``forming(row)`` when given - in
    ``CandlesBase.columns`` layout with float timestamps. ``price(pair)`` is the forming
    candle's open.
    """

    def __init__(self, frames: dict[str, pd.DataFrame], max_records: int = 720,
                 forming: Callable[[pd.Series], pd.Series] | None = None) -> None:
        self.frames = frames
        self.max_records = max_records
        self.forming = forming
        self.now_s = 0.0

    def candles(self, pair: str) -> pd.DataFrame:
        frame = self.frames[pair]
        window = frame[frame["timestamp"] <= self.now_s].tail(self.max_records).copy()
        window = window.astype({"timestamp": "float64"})
        if self.forming is not None and len(window):
            window.iloc[-1] = self.forming(window.iloc[-1].copy())
        for col in HB_CANDLE_EXTRA:
            window[col] = 0.0
        return window.reset_index(drop=True)

    def price(self, pair: str) -> float:
        frame = self.frames[pair]
        return float(frame[frame["timestamp"] <= self.now_s]["open"].iat[-1])


def run(scenario: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run an async scenario on a fresh event loop (Hummingbot objects need a running loop)."""
    return asyncio.run(scenario())


def backtest_clock(start_s: float, end_s: float) -> Clock:
    """Hummingbot's clock in backtest mode, 1 s ticks."""
    return Clock(ClockMode.BACKTEST, tick_size=1.0, start_time=start_s, end_time=end_s)


async def tick_through(clock: Clock, until_s: float) -> None:
    """Advance ``clock`` second by second to ``until_s``, letting the event loop run in between
    (executors and the paper exchange deliver events and run control loops as tasks)."""
    now = clock.current_timestamp
    while now < until_s:
        now += 1
        clock.backtest_til(now)
        await asyncio.sleep(0)
        await asyncio.sleep(0.011)  # the paper exchange delays order-created events by 0.01 s


async def run_until_done(clock: Clock, host: StrategyV2Base, wall_limit_s: float = 30.0) -> None:
    """Tick until every executor of ``host`` has terminated, or ``wall_limit_s`` of wall time.

    Executors pause in real seconds while closing (``PositionExecutor`` sleeps 5 s after each
    shutdown step), so this waits on the wall clock as Hummingbot would.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wall_limit_s
    while loop.time() < deadline:
        await tick_through(clock, clock.current_timestamp + 1)
        host.update_executors_info()
        if all(info.is_done for info in host.get_all_executors()):
            return


def usd(value: float) -> Decimal:
    """Decimal of a quote amount."""
    return Decimal(str(value))
