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
  ``start --v2`` uses to create connectors) build this subclass for every ``*_paper_trade``
  connector. The scripts call it from ``init_markets``, which Hummingbot runs after loading the
  config and before creating connectors. No Hummingbot file is edited; the change lives in the
  running process only and :func:`uninstall_paper_trade_factory` undoes it.

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
from hummingbot.connector.exchange.paper_trade import get_order_book_tracker
from hummingbot.connector.exchange.paper_trade.paper_trade_exchange import PaperTradeExchange
from hummingbot.connector.trading_rule import TradingRule
from hummingbot.core.data_type.common import OrderType, TradeType
from hummingbot.core.data_type.in_flight_order import (
    InFlightOrder,
    OrderState,
    OrderUpdate,
    TradeUpdate,
)
from hummingbot.core.data_type.order_book_tracker import OrderBookTracker
from hummingbot.core.event.event_forwarder import EventForwarder
from hummingbot.core.event.events import (
    BuyOrderCompletedEvent,
    BuyOrderCreatedEvent,
    MarketEvent,
    MarketOrderFailureEvent,
    OrderCancelledEvent,
    OrderFilledEvent,
    SellOrderCompletedEvent,
    SellOrderCreatedEvent,
)
from pydantic import BaseModel, ConfigDict, Field

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


class PaperOrderTracker:
    """In-flight orders of a paper exchange, rebuilt from the exchange's own events.

    Provides the one call the executors make on ``connector._order_tracker``:
    :meth:`fetch_order`. Orders are ``InFlightOrder`` objects (Hummingbot's own class) updated in
    place, so a ``TrackedOrder`` that holds one sees later fills without fetching again.

    Order of events: the paper exchange announces an order's creation asynchronously (after
    0.01 s) but may fill it on a clock tick first when the event loop has not run in between, and
    listeners of one event are called in no fixed order. So an order unknown at a fill or a
    fetch is built from the exchange's resting limit orders or market-order queue, or from the
    fill itself; a later creation event then only confirms it.

    Args:
        exchange: the paper exchange whose events to follow.
    """

    def __init__(self, exchange: PaperTradeExchange) -> None:
        self._exchange = exchange
        self._orders: dict[str, InFlightOrder] = {}
        # PubSub keeps listeners by weak reference: hold the forwarders here.
        self._forwarders: list[tuple[MarketEvent, EventForwarder]] = [
            (MarketEvent.BuyOrderCreated, EventForwarder(self._on_created)),
            (MarketEvent.SellOrderCreated, EventForwarder(self._on_created)),
            (MarketEvent.OrderFilled, EventForwarder(self._on_filled)),
            (MarketEvent.BuyOrderCompleted, EventForwarder(self._on_completed)),
            (MarketEvent.SellOrderCompleted, EventForwarder(self._on_completed)),
            (MarketEvent.OrderCancelled, EventForwarder(self._on_cancelled)),
            (MarketEvent.OrderFailure, EventForwarder(self._on_failed)),
        ]
        for event, forwarder in self._forwarders:
            exchange.add_listener(event, forwarder)

    # --- what the executors call ---------------------------------------------------------------

    def fetch_order(
        self, client_order_id: str | None = None, exchange_order_id: str | None = None
    ) -> InFlightOrder | None:
        """The order with that id (paper orders use one id for both), or ``None`` if unknown."""
        order_id = client_order_id or exchange_order_id
        if order_id is None:
            return None
        return self._orders.get(order_id) or self._from_exchange_books(order_id)

    @property
    def active_orders(self) -> dict[str, InFlightOrder]:
        """Orders not done yet, by client order id."""
        return {oid: o for oid, o in self._orders.items() if not o.is_done}

    @property
    def all_orders(self) -> dict[str, InFlightOrder]:
        """Every order seen since start, by client order id."""
        return dict(self._orders)

    # --- building orders -----------------------------------------------------------------------

    def _track(self, order: InFlightOrder) -> InFlightOrder:
        self._orders[order.client_order_id] = order
        return order

    def _from_exchange_books(self, order_id: str) -> InFlightOrder | None:
        """Build an order still resting on the paper exchange (limit) or queued (market)."""
        for limit in self._exchange.limit_orders:
            if limit.client_order_id == order_id:
                return self._track(InFlightOrder(
                    client_order_id=order_id,
                    trading_pair=limit.trading_pair,
                    order_type=OrderType.LIMIT,
                    trade_type=TradeType.BUY if limit.is_buy else TradeType.SELL,
                    amount=Decimal(limit.quantity),
                    creation_timestamp=limit.creation_timestamp / 1e6,  # stored in microseconds
                    price=Decimal(limit.price),
                    exchange_order_id=order_id,
                    initial_state=OrderState.OPEN,
                ))
        for queued in self._exchange.queued_orders:
            if queued.order_id == order_id:
                return self._track(InFlightOrder(
                    client_order_id=order_id,
                    trading_pair=queued.trading_pair,
                    order_type=OrderType.MARKET,
                    trade_type=TradeType.BUY if queued.is_buy else TradeType.SELL,
                    amount=Decimal(queued.amount),
                    creation_timestamp=queued.timestamp,
                    exchange_order_id=order_id,
                    initial_state=OrderState.OPEN,
                ))
        return None

    # --- event handlers ------------------------------------------------------------------------

    def _on_created(self, event: BuyOrderCreatedEvent | SellOrderCreatedEvent) -> None:
        if event.order_id in self._orders:
            return
        is_buy = isinstance(event, BuyOrderCreatedEvent)
        self._track(InFlightOrder(
            client_order_id=event.order_id,
            trading_pair=event.trading_pair,
            order_type=event.type,
            trade_type=TradeType.BUY if is_buy else TradeType.SELL,
            amount=Decimal(event.amount),
            creation_timestamp=event.creation_timestamp,
            price=Decimal(event.price) if event.type != OrderType.MARKET else None,
            exchange_order_id=event.order_id,
            initial_state=OrderState.OPEN,
        ))

    def _on_filled(self, event: OrderFilledEvent) -> None:
        order = self.fetch_order(event.order_id)
        if order is None:  # a market order filled before its creation event was delivered
            order = self._track(InFlightOrder(
                client_order_id=event.order_id,
                trading_pair=event.trading_pair,
                order_type=event.order_type,
                trade_type=event.trade_type,
                amount=Decimal(event.amount),
                creation_timestamp=event.timestamp,
                exchange_order_id=event.order_id,
                initial_state=OrderState.OPEN,
            ))
        trade_id = event.exchange_trade_id or f"{event.order_id}-fill"
        if trade_id in order.order_fills:  # paper limit fills are ids by wall-clock microsecond
            trade_id = f"{trade_id}-{len(order.order_fills)}"
        order.update_with_trade_update(TradeUpdate(
            trade_id=trade_id,
            client_order_id=event.order_id,
            exchange_order_id=event.order_id,
            trading_pair=event.trading_pair,
            fill_timestamp=event.timestamp,
            fill_price=Decimal(event.price),
            fill_base_amount=Decimal(event.amount),
            fill_quote_amount=Decimal(event.price) * Decimal(event.amount),
            fee=event.trade_fee,
            is_taker=event.order_type != OrderType.LIMIT,
        ))
        if order.executed_amount_base < order.amount:
            self._set_state(order, OrderState.PARTIALLY_FILLED, event.timestamp)

    def _on_completed(self, event: BuyOrderCompletedEvent | SellOrderCompletedEvent) -> None:
        order = self.fetch_order(event.order_id)
        if order is None:
            return
        # A market order first seen at its fills only knows the filled amount.
        order.amount = max(order.amount, order.executed_amount_base)
        self._set_state(order, OrderState.FILLED, event.timestamp)

    def _on_cancelled(self, event: OrderCancelledEvent) -> None:
        order = self.fetch_order(event.order_id)
        if order is not None:
            self._set_state(order, OrderState.CANCELED, event.timestamp)

    def _on_failed(self, event: MarketOrderFailureEvent) -> None:
        order = self.fetch_order(event.order_id)
        if order is not None:
            self._set_state(order, OrderState.FAILED, event.timestamp)

    @staticmethod
    def _set_state(order: InFlightOrder, state: OrderState, timestamp: float) -> None:
        order.update_with_order_update(OrderUpdate(
            trading_pair=order.trading_pair,
            update_timestamp=timestamp,
            new_state=state,
            client_order_id=order.client_order_id,
            exchange_order_id=order.exchange_order_id,
        ))


class ExecutorPaperTradeExchange(PaperTradeExchange):
    """``PaperTradeExchange`` with the members Hummingbot's V2 executors read.

    Adds ``trading_rules`` (dict pair -> ``TradingRule``), ``_order_tracker``
    (:class:`PaperOrderTracker`) and the order-refresh hooks, and quantizes prices and amounts
    on the trading rules' increments in the Python-level ``quantize_*`` calls executors and the
    budget checker make. Matching, balances and events are ``PaperTradeExchange``'s.

    Args:
        order_book_tracker: the order book source (Hummingbot builds one per exchange with
            ``get_order_book_tracker``; a replay passes its own).
        target_market: the real exchange's connector class (pair conversions).
        exchange_name: the real exchange's name, e.g. ``"kraken"``.
        trading_rules: ``TradingRule`` per Hummingbot pair.
        balance_asset_limit, rate_limits_share_pct: as for ``PaperTradeExchange``.
    """

    def __init__(
        self,
        order_book_tracker: OrderBookTracker,
        target_market: Any,
        exchange_name: str,
        trading_rules: Mapping[str, TradingRule] | None = None,
        balance_asset_limit: dict[str, dict[str, Decimal]] | None = None,
        rate_limits_share_pct: Decimal = Decimal("100"),
    ) -> None:
        super().__init__(
            order_book_tracker, target_market, exchange_name,
            balance_asset_limit=balance_asset_limit, rate_limits_share_pct=rate_limits_share_pct,
        )
        self.trading_rules: dict[str, TradingRule] = dict(trading_rules or {})
        self._order_tracker = PaperOrderTracker(self)

    # --- order refresh hooks: paper orders change state only through events ---------------------

    async def _update_orders_with_error_handler(self, orders: list[Any],
                                                error_handler: Any) -> None:
        """Nothing to poll: the paper exchange pushes every state change as an event."""

    async def _handle_update_error_for_lost_order(self, order: Any, error: Exception) -> None:
        """Never called (no polling); present because executors pass it as the error handler."""

    async def _handle_update_error_for_active_order(self, order: Any, error: Exception) -> None:
        """Never called (no polling); present because executors pass it as the error handler."""

    # --- quantization on the trading rules -----------------------------------------------------

    def get_order_price_quantum(self, trading_pair: str, price: Decimal) -> Decimal:
        """Price tick from the pair's trading rule, else the parent's default."""
        rule = self.trading_rules.get(trading_pair)
        if rule is None:
            return super().get_order_price_quantum(trading_pair, price)
        return Decimal(rule.min_price_increment)

    def get_order_size_quantum(self, trading_pair: str, order_size: Decimal) -> Decimal:
        """Amount step from the pair's trading rule, else 1e-7 (the parent's default)."""
        rule = self.trading_rules.get(trading_pair)
        return Decimal("1e-7") if rule is None else Decimal(rule.min_base_amount_increment)

    def quantize_order_price(self, trading_pair: str, price: Decimal) -> Decimal:
        """Round ``price`` down to the pair's tick."""
        if trading_pair not in self.trading_rules or not price.is_finite():
            return super().quantize_order_price(trading_pair, price)
        quantum = self.get_order_price_quantum(trading_pair, price)
        return (price // quantum) * quantum

    def quantize_order_amount(
        self, trading_pair: str, amount: Decimal, price: Decimal = Decimal("0")
    ) -> Decimal:
        """Round ``amount`` down to the pair's step; 0 below the minimum order size."""
        rule = self.trading_rules.get(trading_pair)
        if rule is None:
            return super().quantize_order_amount(trading_pair, amount)
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

    Args:
        exchange_name: real exchange, e.g. ``"kraken"`` (without ``_paper_trade``).
        trading_pairs: Hummingbot pairs.
        rules: trading rules to report; ``PaperTradingRules()`` defaults when omitted.
        order_book_tracker: order book source; the real exchange's tracker (network) when omitted.

    Raises:
        KeyError: unknown exchange name (from Hummingbot's connector settings).
    """
    rules = rules or PaperTradingRules()
    tracker = order_book_tracker or get_order_book_tracker(exchange_name, trading_pairs)
    return ExecutorPaperTradeExchange(
        tracker,
        get_connector_class(exchange_name),
        exchange_name=exchange_name,
        trading_rules=rules.trading_rules(trading_pairs),
    )


def ensure_rules(connector: ExecutorPaperTradeExchange, pairs: Iterable[str],
                 rules: PaperTradingRules) -> list[str]:
    """Give ``connector`` a trading rule for each of ``pairs`` it lacks; returns the pairs added."""
    added = [pair for pair in pairs if pair not in connector.trading_rules]
    connector.trading_rules.update(rules.trading_rules(added))
    return added


def install_paper_trade_factory(rules: PaperTradingRules) -> None:
    """Make Hummingbot build :class:`ExecutorPaperTradeExchange` for ``*_paper_trade`` connectors.

    Replaces ``create_paper_trade_market`` in ``hummingbot.core.connector_manager`` (the name
    ``ConnectorManager.create_connector`` calls) with :func:`create_executor_paper_trade_market`
    bound to ``rules``. Call it before the connectors exist: the scripts do it in
    ``init_markets``. Idempotent; calling it again replaces the rules. A connector created
    earlier in the same process stays what it is (see :func:`supports_executors`).
    """
    from hummingbot.core import connector_manager  # the module, so the patch is visible to it

    original = getattr(connector_manager, "_ml_signals_original_factory", None)
    if original is None:
        connector_manager._ml_signals_original_factory = connector_manager.create_paper_trade_market

    def factory(exchange_name: str, trading_pairs: list[str]) -> ExecutorPaperTradeExchange:
        """``create_paper_trade_market`` with executor support and ``rules``."""
        return create_executor_paper_trade_market(exchange_name, trading_pairs, rules)

    connector_manager.create_paper_trade_market = factory
    log.info("paper trade connectors will be created with executor support (issue #7434)")


def uninstall_paper_trade_factory() -> None:
    """Undo :func:`install_paper_trade_factory` (no-op when it was not installed)."""
    from hummingbot.core import connector_manager

    original = getattr(connector_manager, "_ml_signals_original_factory", None)
    if original is not None:
        connector_manager.create_paper_trade_market = original
        del connector_manager._ml_signals_original_factory


async def fetch_exchange_trading_rules(exchange_name: str,
                                       pairs: Iterable[str]) -> dict[str, TradingRule]:
    """The real exchange's ``TradingRule`` per pair, over its public REST API.

    Builds the exchange's non-trading connector (no keys) and runs its ``_update_trading_rules``,
    as Hummingbot's ``BacktestingDataProvider.initialize_trading_rules`` does.

    Raises:
        Exception: whatever the connector raises without network (callers log and keep the
            configured rules).
    """
    wanted = list(pairs)
    setting = AllConnectorSettings.get_connector_settings()[exchange_name]
    connector = setting.non_trading_connector_instance_with_default_configuration(
        trading_pairs=wanted
    )
    await connector._update_trading_rules()
    return {pair: connector.trading_rules[pair] for pair in wanted
            if pair in connector.trading_rules}


async def refresh_rules_from_exchange(connector: ExecutorPaperTradeExchange,
                                      pairs: Iterable[str]) -> bool:
    """Replace ``connector``'s rules for ``pairs`` by the real exchange's; False if unreachable.

    Failure (no network, exchange down) is logged at WARNING and leaves the configured rules.
    """
    wanted = list(pairs)
    try:
        fetched = await fetch_exchange_trading_rules(connector.name, wanted)
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
