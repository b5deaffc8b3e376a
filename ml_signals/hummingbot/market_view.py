"""What a :class:`~.strategy_runtime.StrategyRuntime` reads from the market each tick.

:class:`MarketView` is the contract: Hummingbot-format candles per pair (``candles_df``, the
forming candle included) and a mid price. :class:`ProviderMarketView` serves it from a running
strategy's Hummingbot ``MarketDataProvider``; tests and the replay pass their own views.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Protocol

import pandas as pd
from hummingbot.connector.trading_rule import TradingRule
from hummingbot.core.data_type.common import PriceType

from ml_signals.hummingbot.runtime_settings import RuntimeSettings

log = logging.getLogger(__name__)


class MarketView(Protocol):
    """What the runtime reads from the market each tick."""

    def candles(self, pair: str) -> pd.DataFrame:
        """Hummingbot ``candles_df`` of ``pair`` (timestamp seconds, newest last, forming incl.)."""

    def price(self, pair: str) -> float:
        """Current mid price of ``pair`` on the trading connector; NaN when unknown."""


class ProviderMarketView:
    """:class:`MarketView` over a Hummingbot ``MarketDataProvider``.

    Args:
        provider: the strategy's ``market_data_provider`` (Hummingbot's ``MarketDataProvider``,
            which has no type hints: typed ``Any`` here).
        settings: connectors, interval and feed length.
    """

    def __init__(self, provider: Any, settings: RuntimeSettings) -> None:
        self._provider = provider
        self._settings = settings

    def candles(self, pair: str) -> pd.DataFrame:
        """The feed's candles (``MarketDataProvider.get_candles_df``)."""
        s = self._settings
        frame: pd.DataFrame = self._provider.get_candles_df(s.candles_connector, pair,
                                                            s.interval, s.max_records)
        return frame

    def price(self, pair: str) -> float:
        """Mid price on the trading connector, NaN when the book is not available."""
        try:
            value = self._provider.get_price_by_type(
                self._settings.connector_name, pair, PriceType.MidPrice)
        except Exception as exc:  # noqa: BLE001 - no book yet: the caller falls back
            log.debug("%s: no mid price (%s)", pair, exc)
            return math.nan
        return float(value)

    def trading_rule(self, pair: str) -> TradingRule | None:
        """The trading connector's ``TradingRule`` of ``pair``; ``None`` when it has none."""
        try:
            rule: TradingRule | None = self._provider.get_trading_rules(
                self._settings.connector_name, pair)
            return rule
        except (AttributeError, KeyError):
            return None
