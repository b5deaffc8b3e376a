"""In-flight orders of a paper exchange, rebuilt from its events (see :mod:`.paper_trading`).

``PaperTradeExchange`` keeps no ``InFlightOrder`` objects, but Hummingbot's V2 executors look
their orders up with ``connector._order_tracker.fetch_order(client_order_id=...)``
(``ExecutorBase.get_in_flight_order``) on every order event. :class:`PaperOrderTracker` builds
them from the exchange's own events and resting orders.
"""

from __future__ import annotations

from decimal import Decimal

from hummingbot.connector.exchange.paper_trade.paper_trade_exchange import PaperTradeExchange
from hummingbot.core.data_type.common import OrderType, TradeType
from hummingbot.core.data_type.in_flight_order import (
    InFlightOrder,
    OrderState,
    OrderUpdate,
    TradeUpdate,
)
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
