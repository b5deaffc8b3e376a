"""Paper trading that Hummingbot's V2 executors can run on (Hummingbot issue #7434 and after).

Why this module exists: ``PaperTradeExchange`` (the ``*_paper_trade`` connectors) lacks three
things the V2 executors read from every connector (``hummingbot/strategy_v2/executors/``):

1. ``connector.trading_rules[pair]`` - ``ExecutorBase.get_trading_rules``, read in
   ``PositionExecutor.__init__`` and ``DCAExecutor`` (min order size, min notional). Missing, the
   executor dies with ``AttributeError: ... has no attribute 'trading_rules'`` (issue #7434).
2. ``connector._order_tracker.fetch_order(client_order_id=...)`` - ``ExecutorBase.
   get_in_flight_order``, called on every order event. Missing, executors never see their fills:
   a filled entry is reported as 0 filled and the position is never managed.
3. ``_update_orders_with_error_handler`` and ``_handle_update_error_for_*`` - awaited by the
   Position and DCA executors while closing.

``PaperTradeExchange`` is a compiled Cython type without an instance ``__dict__``: neither an
instance nor the type accepts a new attribute (``connector.trading_rules = {...}`` raises
``AttributeError``; ``type(connector).trading_rules = ...`` raises ``TypeError``). The fix is
therefore a Python subclass, :class:`ExecutorPaperTradeExchange`, that adds the three members
and behaves exactly like ``PaperTradeExchange`` otherwise (order matching, balances and events
are the parent's compiled code). It is built in two ways:

- :func:`create_executor_paper_trade_market` - drop-in for Hummingbot's
  ``create_paper_trade_market`` (same arguments plus the rules), for replay drivers and tests;
- :func:`install_paper_trade_factory` - makes ``hummingbot.core.connector_manager`` (the module
  ``start --v2`` uses to create connectors) build this subclass for the script's own
  ``<exchange>_paper_trade`` connector, and Hummingbot's own class for any other. The scripts
  call it from ``init_markets``, which Hummingbot runs after loading the config and before
  creating connectors, and :func:`uninstall_paper_trade_factory` from ``on_stop``: a strategy
  started after ours gets Hummingbot's unmodified ``PaperTradeExchange``. No Hummingbot file is
  edited; the change lives in the running process, for the life of our strategy.

The compiled order path quantizes with its own private parameters (7 significant digits,
1e-7 amounts), out of reach of a Python subclass: orders obey the trading rules because the
scripts quantize the executor configs they create (:mod:`.executor_configs`).
``docs/upstream-7434.md`` describes the change to ``PaperTradeExchange`` that would make this
module unnecessary.

Trading rules come from :class:`PaperTradingRules` (config; generic permissive defaults plus
per-pair overrides). With network access, :func:`refresh_rules_from_exchange` replaces them with
the real exchange's rules, as Hummingbot's own ``BacktestingDataProvider`` does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from hummingbot.client.config.config_helpers import get_connector_class
from hummingbot.client.settings import AllConnectorSettings
from hummingbot.connector.exchange.paper_trade.paper_trade_exchange import PaperTradeExchange
from hummingbot.connector.trading_rule import TradingRule
from hummingbot.core.data_type.order_book_tracker import OrderBookTracker
from pydantic import BaseModel, ConfigDict, Field

from ml_signals.hummingbot.paper_orders import PaperOrderTracker

__all__ = ["PaperOrderTracker"]  # re-exported: importers of this module find it here too

log = logging.getLogger(__name__)

PAPER_TRADE_SUFFIX = "_paper_trade"


class PairRules(BaseModel):
    """Exchange limits of one trading pair, in the units Hummingbot's ``TradingRule`` uses.

    Attributes:
        min_order_size_base: smallest order, base currency.
        min_notional_quote: smallest order value, quote currency
            (``TradingRule.min_notional_size``).
        price_increment_quote: price tick, quote currency.
        size_increment_base: amount step, base currency.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_order_size_base: Decimal = Field(default=Decimal("0.00000001"), gt=0)
    min_notional_quote: Decimal = Field(default=Decimal("1"), ge=0)
    price_increment_quote: Decimal = Field(default=Decimal("0.00001"), gt=0)
    size_increment_base: Decimal = Field(default=Decimal("0.00000001"), gt=0)

    def trading_rule(self, pair: str) -> TradingRule:
        """The Hummingbot ``TradingRule`` of ``pair`` with these limits."""
        return TradingRule(
            trading_pair=pair,
            min_order_size=self.min_order_size_base,
            min_price_increment=self.price_increment_quote,
            min_base_amount_increment=self.size_increment_base,
            min_notional_size=self.min_notional_quote,
        )


class PaperTradingRules(BaseModel):
    """Trading rules a paper exchange reports, used until (or unless) real ones are fetched.

    The defaults are deliberately permissive (1e-8 base, 1 quote minimum) so that a paper run
    or a replay is never refused for size; they are not any exchange's published limits. Put the
    real limits of a pair in ``pairs`` to rehearse rejections, or let
    :func:`refresh_rules_from_exchange` fetch them when the network is available.

    Attributes:
        default: limits of every pair not listed in ``pairs``.
        pairs: per-pair limits, keyed by Hummingbot pair (``"BTC-USD"``).
        fetch_from_exchange: on start, try to replace these with the real exchange's rules.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: PairRules = Field(default_factory=PairRules)
    pairs: dict[str, PairRules] = Field(default_factory=dict)
    fetch_from_exchange: bool = True

    def for_pair(self, pair: str) -> PairRules:
        """Limits of ``pair`` (its override, else the default)."""
        return self.pairs.get(pair, self.default)

    def trading_rules(self, pairs: Iterable[str]) -> dict[str, TradingRule]:
        """``TradingRule`` per pair of ``pairs``."""
        return {pair: self.for_pair(pair).trading_rule(pair) for pair in pairs}


class ExecutorPaperTradeExchange(PaperTradeExchange):
    """``PaperTradeExchange`` with the members Hummingbot's V2 executors read.

    Adds ``trading_rules`` (dict pair -> ``TradingRule``), ``_order_tracker``
    (:class:`~.paper_orders.PaperOrderTracker`) and the order-refresh hooks. Matching, balances
    and events are ``PaperTradeExchange``'s compiled code.

    Quantization: the Python-level ``quantize_order_amount`` / ``quantize_order_price`` below
    follow the trading rules, and that is what executors and the budget checker call (e.g.
    ``PositionExecutor.open_filled_amount``, so close orders use the rule's step). The compiled
    ``buy`` / ``sell`` path calls the parent's C-level quantizers, which a Python subclass cannot
    override (7 significant digits for prices, 1e-7 for amounts): the amounts and prices an order
    starts with must already obey the rules. The scripts make sure of that in the executor
    configs they create (:mod:`.executor_configs`).

    Args:
        order_book_tracker: the order book source (Hummingbot builds one per exchange with the
            exchange's non-trading connector; a replay passes its own).
        target_market: the real exchange's connector class (pair conversions).
        exchange_name: the real exchange's name, e.g. ``"kraken"``.
        trading_rules: ``TradingRule`` per Hummingbot pair.
        rules_source: the non-trading connector that owns ``order_book_tracker``, if any: the
            trading rules are fetched with it and it is stopped with this exchange.
        balance_asset_limit, rate_limits_share_pct: as for ``PaperTradeExchange``.
    """

    def __init__(
        self,
        order_book_tracker: OrderBookTracker,
        target_market: Any,
        exchange_name: str,
        trading_rules: Mapping[str, TradingRule] | None = None,
        rules_source: Any = None,
        balance_asset_limit: dict[str, dict[str, Decimal]] | None = None,
        rate_limits_share_pct: Decimal = Decimal("100"),
    ) -> None:
        super().__init__(
            order_book_tracker, target_market, exchange_name,
            balance_asset_limit=balance_asset_limit, rate_limits_share_pct=rate_limits_share_pct,
        )
        self.trading_rules: dict[str, TradingRule] = dict(trading_rules or {})
        self._order_tracker = PaperOrderTracker(self)
        self.rules_source = rules_source

    async def stop_network(self) -> None:
        """Stop the order book tracker (parent) and the connector the rules come from."""
        await super().stop_network()
        if self.rules_source is not None:
            await self.rules_source.stop_network()

    # --- order refresh hooks: paper orders change state only through events ---------------------

    async def _update_orders_with_error_handler(self, orders: list[Any],
                                                error_handler: Any) -> None:
        """Nothing to poll: the paper exchange pushes every state change as an event."""

    async def _handle_update_error_for_lost_order(self, order: Any, error: Exception) -> None:
        """Never called (no polling); present because executors pass it as the error handler."""

    async def _handle_update_error_for_active_order(self, order: Any, error: Exception) -> None:
        """Never called (no polling); present because executors pass it as the error handler."""

    # --- quantization on the trading rules (Python callers; see the class docstring) -------------

    def get_order_price_quantum(self, trading_pair: str, price: Decimal) -> Decimal:
        """Price tick from the pair's trading rule, else the parent's default."""
        rule = self.trading_rules.get(trading_pair)
        if rule is None:
            quantum: Decimal = super().get_order_price_quantum(trading_pair, price)
            return quantum
        return Decimal(rule.min_price_increment)

    def get_order_size_quantum(self, trading_pair: str, order_size: Decimal) -> Decimal:
        """Amount step from the pair's trading rule, else 1e-7 (the parent's default)."""
        rule = self.trading_rules.get(trading_pair)
        return Decimal("1e-7") if rule is None else Decimal(rule.min_base_amount_increment)

    def quantize_order_price(self, trading_pair: str, price: Decimal) -> Decimal:
        """Round ``price`` down to the pair's tick."""
        if trading_pair not in self.trading_rules or not price.is_finite():
            parent_price: Decimal = super().quantize_order_price(trading_pair, price)
            return parent_price
        quantum = self.get_order_price_quantum(trading_pair, price)
        return (price // quantum) * quantum

    def quantize_order_amount(
        self, trading_pair: str, amount: Decimal, price: Decimal = Decimal("0")
    ) -> Decimal:
        """Round ``amount`` down to the pair's step; 0 below the minimum order size."""
        rule = self.trading_rules.get(trading_pair)
        if rule is None:
            parent_amount: Decimal = super().quantize_order_amount(trading_pair, amount)
            return parent_amount
        quantum = Decimal(rule.min_base_amount_increment)
        quantized = (amount // quantum) * quantum
        return quantized if quantized >= Decimal(rule.min_order_size) else Decimal("0")


def is_paper_trade(connector_name: str) -> bool:
    """True for Hummingbot's paper connector names, ``<exchange>_paper_trade``."""
    return connector_name.endswith(PAPER_TRADE_SUFFIX)


def supports_executors(connector: Any) -> bool:
    """True when ``connector`` has what the V2 executors read (a live connector or our subclass)."""
    return hasattr(connector, "trading_rules") and hasattr(connector, "_order_tracker")


def create_executor_paper_trade_market(
    exchange_name: str,
    trading_pairs: list[str],
    rules: PaperTradingRules | None = None,
    order_book_tracker: OrderBookTracker | None = None,
) -> ExecutorPaperTradeExchange:
    """Drop-in for ``hummingbot.connector.exchange.paper_trade.create_paper_trade_market``.

    Without ``order_book_tracker`` it builds the real exchange's non-trading connector (no keys)
    as Hummingbot's ``get_order_book_tracker`` does, uses its tracker and keeps the connector as
    the source of the real trading rules (:func:`refresh_rules_from_exchange`); it is stopped
    with the paper exchange, so no second connector is ever built for the rules.

    Args:
        exchange_name: real exchange, e.g. ``"kraken"`` (without ``_paper_trade``).
        trading_pairs: Hummingbot pairs.
        rules: trading rules to report until real ones are fetched; ``PaperTradingRules()``
            defaults when omitted.
        order_book_tracker: order book source; the real exchange's tracker (network) when omitted.

    Raises:
        KeyError: unknown exchange name (from Hummingbot's connector settings).
    """
    rules = rules or PaperTradingRules()
    source = None
    if order_book_tracker is None:
        setting = AllConnectorSettings.get_connector_settings()[exchange_name]
        source = setting.non_trading_connector_instance_with_default_configuration(
            trading_pairs=trading_pairs)
        order_book_tracker = source.order_book_tracker
    return ExecutorPaperTradeExchange(
        order_book_tracker,
        get_connector_class(exchange_name),
        exchange_name=exchange_name,
        trading_rules=rules.trading_rules(trading_pairs),
        rules_source=source,
    )


def ensure_rules(connector: ExecutorPaperTradeExchange, pairs: Iterable[str],
                 rules: PaperTradingRules) -> list[str]:
    """Give ``connector`` a trading rule for each of ``pairs`` it lacks; returns the pairs added."""
    added = [pair for pair in pairs if pair not in connector.trading_rules]
    connector.trading_rules.update(rules.trading_rules(added))
    return added


_ORIGINAL_ATTR = "_ml_signals_original_factory"


def install_paper_trade_factory(rules: PaperTradingRules,
                                exchanges: Iterable[str] | None = None) -> None:
    """Make Hummingbot build :class:`ExecutorPaperTradeExchange` for our paper connectors.

    Replaces ``create_paper_trade_market`` in ``hummingbot.core.connector_manager`` (the name
    ``ConnectorManager.create_connector`` calls) with a factory that builds the executor-capable
    exchange, with ``rules``, for the exchanges in ``exchanges`` (e.g. ``{"kraken"}`` for
    ``kraken_paper_trade``; ``None``: every exchange) and calls Hummingbot's own function for
    any other. The scripts call it from ``init_markets`` (after the config is loaded, before
    Hummingbot creates the connectors) and :func:`uninstall_paper_trade_factory` from
    ``on_stop``, so a strategy started after ours gets Hummingbot's own ``PaperTradeExchange``.
    Idempotent; calling it again replaces the rules and the exchanges. A connector created
    earlier in the same process stays what it is (see :func:`supports_executors`).
    """
    from hummingbot.core import connector_manager  # the module, so the patch is visible to it

    original = getattr(connector_manager, _ORIGINAL_ATTR, None)
    if original is None:
        original = connector_manager.create_paper_trade_market
        setattr(connector_manager, _ORIGINAL_ATTR, original)
    scope = None if exchanges is None else frozenset(exchanges)

    def factory(exchange_name: str, trading_pairs: list[str]) -> PaperTradeExchange:
        """``create_paper_trade_market`` with executor support for the scripts' exchanges."""
        if scope is not None and exchange_name not in scope:
            return original(exchange_name, trading_pairs)
        return create_executor_paper_trade_market(exchange_name, trading_pairs, rules)

    connector_manager.create_paper_trade_market = factory
    log.info("%s paper trade connectors will be created with executor support "
             "(Hummingbot issue #7434) until this strategy stops",
             "all" if scope is None else ", ".join(sorted(scope)))


def uninstall_paper_trade_factory() -> bool:
    """Undo :func:`install_paper_trade_factory`; True if it was installed (else a no-op)."""
    from hummingbot.core import connector_manager

    original = getattr(connector_manager, _ORIGINAL_ATTR, None)
    if original is None:
        return False
    connector_manager.create_paper_trade_market = original
    delattr(connector_manager, _ORIGINAL_ATTR)
    log.info("paper trade connectors are Hummingbot's own again")
    return True


async def fetch_exchange_trading_rules(exchange_name: str, pairs: Iterable[str],
                                       source: Any = None) -> dict[str, TradingRule]:
    """The real exchange's ``TradingRule`` per pair, over its public REST API.

    Runs ``_update_trading_rules`` of ``source`` (a non-trading connector of the exchange, e.g.
    the one behind a paper exchange's order books), as Hummingbot's
    ``BacktestingDataProvider.initialize_trading_rules`` does. Without ``source`` a non-trading
    connector (no keys) is built for the call and stopped afterwards, failed or not.

    Raises:
        Exception: whatever the connector raises without network (callers log and keep the
            configured rules).
    """
    wanted = list(pairs)
    connector = source
    if connector is None:
        setting = AllConnectorSettings.get_connector_settings()[exchange_name]
        connector = setting.non_trading_connector_instance_with_default_configuration(
            trading_pairs=wanted)
    try:
        await connector._update_trading_rules()
        return {pair: connector.trading_rules[pair] for pair in wanted
                if pair in connector.trading_rules}
    finally:
        if source is None:
            await connector.stop_network()


async def refresh_rules_from_exchange(connector: ExecutorPaperTradeExchange,
                                      pairs: Iterable[str]) -> bool:
    """Replace ``connector``'s rules for ``pairs`` by the real exchange's; False if unreachable.

    Uses the connector's own rules source when it has one. Failure (no network, exchange down)
    is logged at WARNING and leaves the configured rules.
    """
    wanted = list(pairs)
    try:
        fetched = await fetch_exchange_trading_rules(connector.name, wanted,
                                                     getattr(connector, "rules_source", None))
    except Exception as exc:  # noqa: BLE001 - any failure means "keep the configured rules"
        log.warning("%s: could not fetch trading rules (%s); keeping the configured paper rules",
                    connector.name, exc)
        return False
    connector.trading_rules.update(fetched)
    missing = sorted(set(wanted) - set(fetched))
    if missing:
        log.warning("%s: no exchange trading rules for %s; keeping the configured paper rules",
                    connector.name, ", ".join(missing))
    log.info("%s: trading rules fetched for %s", connector.name, ", ".join(sorted(fetched)))
    return bool(fetched)
