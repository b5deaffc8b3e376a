"""The paper exchange a replay trades on: Hummingbot's paper exchange with a candle-driven book.

:class:`ReplayExchange` subclasses :class:`ml_signals.hummingbot.paper_trading.
ExecutorPaperTradeExchange` (itself Hummingbot's ``PaperTradeExchange`` plus the trading rules,
in-flight order tracking and refresh hooks the V2 executors need, Hummingbot issue #7434). Order
matching, balances, fees and events are therefore Hummingbot's compiled paper-trade code, the
same the bot runs with a ``*_paper_trade`` connector. Only the order book source differs:

- the live paper connector mirrors the real exchange's order book over the network;
- the replay's book is Hummingbot's test-support ``MockOrderTracker`` holding one
  ``CompositeOrderBook`` per pair, reset at every sub-tick by :meth:`ReplayExchange.set_mid` to a
  single bid level ``mid * (1 - half_spread)`` and a single ask level ``mid * (1 + half_spread)``
  with unlimited depth. ``mid`` is the candle path price of the sub-tick (:mod:`.path`).

What that means for fills (``PaperTradeExchange.c_tick``):

- a market buy placed at time t fills at the first tick >= t + 5 s at the ask (``mid + half
  spread``), a market sell at the bid; no depth slippage beyond the half spread;
- a resting limit buy fills, at its own price, on the first tick whose ask is <= the limit
  (the low of the candle reaches it); a limit sell when the bid is >= the limit;
- fees: the trading connector's Hummingbot fee schema (``kraken_paper_trade`` -> Kraken's
  maker/taker percentages), exactly as live paper trading applies them.

The exchange's ``name`` is the real exchange (``"kraken"``), as Hummingbot names paper
connectors; the strategy reaches it under its connector key (``"kraken_paper_trade"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final

from hummingbot.connector.test_support.mock_order_tracker import MockOrderTracker
from hummingbot.connector.trading_rule import TradingRule
from hummingbot.core.data_type.composite_order_book import CompositeOrderBook
from hummingbot.core.data_type.order_book_row import OrderBookRow

from ml_signals.hummingbot.paper_trading import (
    PAPER_TRADE_SUFFIX,
    ExecutorPaperTradeExchange,
    PaperTradingRules,
)

NETWORK_CHECK_INTERVAL_S: Final[float] = 86_400.0
"""Simulated seconds between the exchange's network checks. Hummingbot's ``NetworkIterator``
checks every 10 s; the paper exchange's ``check_network`` always answers ``CONNECTED`` (it
has no network), so in the replay each check only costs event-loop rounds (72 per 1h
sub-tick at 10 s). The first check still runs when the clock starts the exchange."""

BOOK_DEPTH_BASE: Final[float] = 1e12
"""Base amount at each book level: large enough that no replay order walks the book."""

DEFAULT_HALF_SPREAD_FRAC: Final[float] = 0.0005
"""Half the bid/ask spread around the candle price (0.05 %): a market order pays this on top
of the candle price. Real 1h-liquid USD(T) pairs quote tighter; the margin is deliberate."""


class _HummingbotPairs:
    """Pair conversions ``PaperTradeExchange`` asks its target market for (Hummingbot form
    ``BASE-QUOTE`` on both sides: the replay has no exchange symbols)."""

    @staticmethod
    def split_trading_pair(trading_pair: str) -> tuple[str, str]:
        base, quote = trading_pair.split("-")
        return base, quote

    @staticmethod
    def convert_from_exchange_trading_pair(trading_pair: str) -> str:
        return trading_pair

    @staticmethod
    def convert_to_exchange_trading_pair(trading_pair: str) -> str:
        return trading_pair


def exchange_name_of(connector_name: str) -> str:
    """``"kraken_paper_trade" -> "kraken"``; other names unchanged."""
    return connector_name.removesuffix(PAPER_TRADE_SUFFIX)


class ReplayExchange(ExecutorPaperTradeExchange):
    """Executor-capable paper exchange whose book is set from candles (see module docstring).

    Args:
        connector_name: the strategy's connector key, e.g. ``"kraken_paper_trade"``; the fee
            schema is that of ``exchange_name_of(connector_name)``, which must be a Hummingbot
            connector.
        trading_pairs: Hummingbot pairs traded (``"BTC-USDT"``).
        trading_rules: ``TradingRule`` per pair (default: ``PaperTradingRules()`` defaults).
        half_spread_frac: half spread around the mid, fraction (0.0005 = 0.05 %), >= 0 and < 0.1.

    Raises:
        ValueError: bad half spread or malformed pair.
    """

    def __init__(
        self,
        connector_name: str,
        trading_pairs: Iterable[str],
        trading_rules: Mapping[str, TradingRule] | None = None,
        half_spread_frac: float = DEFAULT_HALF_SPREAD_FRAC,
    ) -> None:
        if not 0 <= half_spread_frac < 0.1:
            raise ValueError(f"half_spread_frac must be in [0, 0.1), got {half_spread_frac}")
        pairs = list(trading_pairs)
        for pair in pairs:
            if pair.count("-") != 1:
                raise ValueError(f"trading pair {pair!r} is not BASE-QUOTE")
        tracker = MockOrderTracker()
        for pair in pairs:
            tracker._order_books[pair] = CompositeOrderBook()
        rules = dict(trading_rules or PaperTradingRules().trading_rules(pairs))
        super().__init__(tracker, _HummingbotPairs, exchange_name_of(connector_name),
                         trading_rules=rules)
        self.connector_key = connector_name
        self.half_spread_frac = half_spread_frac
        self._book_update_id = 0
        self.check_network_interval = NETWORK_CHECK_INTERVAL_S
        # PaperTradeExchange builds its pair table on the first ``ready``; do it now so orders
        # and prices work before the clock's first tick.
        if not self.ready:
            raise RuntimeError(f"{connector_name}: paper exchange did not initialise")

    def set_mid(self, trading_pair: str, mid: float) -> None:
        """Show ``mid`` (quote) as the pair's price: one bid and one ask level around it.

        Raises:
            KeyError: unknown pair. ValueError: ``mid`` not > 0.
        """
        if not mid > 0:
            raise ValueError(f"{trading_pair}: price must be > 0, got {mid}")
        book = self.order_book_tracker.order_books[trading_pair]
        self._book_update_id += 1
        uid = self._book_update_id
        bid = mid * (1.0 - self.half_spread_frac)
        ask = mid * (1.0 + self.half_spread_frac)
        book.apply_snapshot([OrderBookRow(bid, BOOK_DEPTH_BASE, uid)],
                            [OrderBookRow(ask, BOOK_DEPTH_BASE, uid)], uid)

    def fund(self, balances: Mapping[str, Decimal]) -> None:
        """Set the paper account's balances (asset -> amount)."""
        for asset, amount in balances.items():
            self.set_balance(asset, Decimal(amount))
