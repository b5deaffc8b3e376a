"""A sized, scored setup -> the Hummingbot executor config that trades it.

The only place a :class:`~ml_signals.decision.sizing.SizedEntry` becomes Hummingbot objects:

- ``limit_grid`` entries (DCA) -> ``DCAExecutorConfig``: one maker limit buy per grid level
  (``prices`` and ``amounts_quote`` level by level), ``take_profit`` / ``stop_loss`` /
  ``time_limit`` and an optional ``trailing_stop``;
- ``market`` entries (swing, channel) -> ``PositionExecutorConfig`` with a
  ``TripleBarrierConfig``: market open, take profit (a resting limit sell), stop loss, time
  limit and the trailing stop ``TrailingStop(activation_price, trailing_delta)``.

Units: Hummingbot takes barrier fractions as ``Decimal`` (0.02 = 2 %), time limits in integer
seconds, DCA amounts in quote and position amounts in base. Decimals are built from the float's
shortest ``repr`` (``Decimal(str(x))``), so 0.1 stays ``Decimal("0.1")``, never
``0.1000000000000000055...``.

Trading rules: Hummingbot's paper exchange fills whatever its compiled order path accepts (it
rounds amounts to 1e-7 and prices to 7 significant digits, whatever the exchange's rules say),
so the configs are quantized here on the connector's ``TradingRule`` when one is given: position
amounts down to the amount step, DCA level prices down to the price tick and each level's quote
amount to a whole number of amount steps at its price; an entry that ends below the minimum
order size or minimum notional raises :class:`BelowTradingRules` (the runtime skips the setup
with that reason). Real exchanges refuse such orders; the paper exchange must not fill them.

Barrier semantics are Hummingbot's (``hummingbot/strategy_v2/executors``):

- ``PositionExecutor``: take profit / stop loss on the position's return from its average entry
  price; time limit counted from the config ``timestamp`` (the decision time);
- ``DCAExecutor`` (``DCAMode.MAKER``): take profit when the net return of the filled levels
  exceeds ``take_profit``; stop loss only once every level has filled; time limit counted from
  the config ``timestamp``, filled or not. Resting levels are cancelled when it closes.
"""

from __future__ import annotations

from decimal import Decimal

from hummingbot.connector.trading_rule import TradingRule
from hummingbot.core.data_type.common import OrderType, TradeType
from hummingbot.strategy_v2.executors.dca_executor.data_types import DCAExecutorConfig, DCAMode
from hummingbot.strategy_v2.executors.position_executor.data_types import (
    PositionExecutorConfig,
    TrailingStop,
    TripleBarrierConfig,
)

from ml_signals.decision.sizing import SizedEntry
from ml_signals.exits import POSITION_TAKE_PROFIT_ORDER, ExitRules


class BelowTradingRules(ValueError):  # noqa: N818 - a refusal, named like the rule it enforces
    """An entry smaller than the exchange's minimum order size or notional (after quantizing)."""


def _steps(value: Decimal, quantum: Decimal) -> Decimal:
    """``value`` rounded down to a whole number of ``quantum`` (unchanged when quantum <= 0)."""
    return (value // quantum) * quantum if quantum > 0 else value


def quantize_amount(pair: str, amount_base: Decimal, price_quote: Decimal,
                    rule: TradingRule) -> Decimal:
    """``amount_base`` rounded down to ``rule``'s amount step, checked against its minimums.

    Args:
        pair: Hummingbot pair (for the error message).
        amount_base: order size, base currency.
        price_quote: price the notional is checked at.
        rule: the connector's ``TradingRule`` of ``pair``.

    Raises:
        BelowTradingRules: below ``min_order_size`` or ``min_notional_size`` after rounding.
    """
    amount = _steps(amount_base, Decimal(rule.min_base_amount_increment))
    if amount < Decimal(rule.min_order_size) or amount <= 0:
        raise BelowTradingRules(f"{pair}: {amount_base:.10g} base rounds to {amount}, below the "
                                f"minimum order size {rule.min_order_size}")
    if amount * price_quote < Decimal(rule.min_notional_size):
        raise BelowTradingRules(f"{pair}: {amount} base x {price_quote} is below the minimum "
                                f"notional {rule.min_notional_size}")
    return amount


def quantize_grid(pair: str, prices: list[Decimal], amounts_quote: list[Decimal],
                  rule: TradingRule) -> tuple[list[Decimal], list[Decimal]]:
    """DCA buy levels on ``rule``: prices down to the tick (never pay more), each quote amount
    to a whole number of amount steps at its level price (so ``DCAExecutor``'s
    ``amount_quote / price`` is an exact step multiple).

    Raises:
        BelowTradingRules: a level below the minimum order size or notional.
    """
    tick = Decimal(rule.min_price_increment)
    out_prices, out_amounts = [], []
    for price, amount_quote in zip(prices, amounts_quote, strict=True):
        level_price = _steps(price, tick)
        if level_price <= 0:
            raise BelowTradingRules(f"{pair}: level price {price} rounds to {level_price}")
        base = quantize_amount(pair, amount_quote / level_price, level_price, rule)
        out_prices.append(level_price)
        out_amounts.append(base * level_price)
    return out_prices, out_amounts


def to_decimal(value: float) -> Decimal:
    """``Decimal`` of a float via its shortest repr (``0.1 -> Decimal("0.1")``).

    Raises:
        ValueError: NaN or infinite ``value``.
    """
    result = Decimal(repr(float(value)))
    if not result.is_finite():
        raise ValueError(f"cannot pass a non-finite number to an executor: {value!r}")
    return result


def trailing_stop(exits: ExitRules) -> TrailingStop | None:
    """Hummingbot ``TrailingStop`` of ``exits``, or ``None`` when it has no trailing stop.

    ``activation_price`` is the return (fraction) at which the stop arms, ``trailing_delta`` how
    far (fraction) below the best return since arming it closes.
    """
    if not exits.has_trailing:
        return None
    assert exits.trailing_activation_frac is not None  # has_trailing says both are set
    assert exits.trailing_delta_frac is not None
    return TrailingStop(
        activation_price=to_decimal(exits.trailing_activation_frac),
        trailing_delta=to_decimal(exits.trailing_delta_frac),
    )


def triple_barrier(exits: ExitRules) -> TripleBarrierConfig:
    """``TripleBarrierConfig`` of ``exits``: market open; take profit by the order type of
    :data:`~ml_signals.exits.POSITION_TAKE_PROFIT_ORDER` (the one the labels replay); stop loss,
    trailing stop and time limit close at market."""
    limit_tp = POSITION_TAKE_PROFIT_ORDER == "limit"
    take_profit_type = OrderType.LIMIT if limit_tp else OrderType.MARKET
    return TripleBarrierConfig(
        take_profit=to_decimal(exits.take_profit_frac),
        stop_loss=to_decimal(exits.stop_loss_frac),
        time_limit=int(exits.time_limit_s),
        trailing_stop=trailing_stop(exits),
        open_order_type=OrderType.MARKET,
        take_profit_order_type=take_profit_type,
        stop_loss_order_type=OrderType.MARKET,
        time_limit_order_type=OrderType.MARKET,
    )


def dca_executor_config(
    sized: SizedEntry, connector_name: str, timestamp_s: float,
    trading_rule: TradingRule | None = None,
) -> DCAExecutorConfig:
    """``DCAExecutorConfig`` of a ``limit_grid`` entry (a long grid of maker limit buys).

    Args:
        sized: the sized entry; ``sized.entry.prices`` descending, one quote amount per level.
        connector_name: Hummingbot connector, e.g. ``"kraken_paper_trade"``.
        timestamp_s: decision time (the strategy clock), start of the time limit.
        trading_rule: the connector's rule of the pair; levels are quantized on it when given.

    Raises:
        ValueError: the entry is not a ``limit_grid``.
        BelowTradingRules: a level below the rule's minimums.
    """
    entry = sized.entry
    if entry.entry_type != "limit_grid":
        raise ValueError(f"{sized.setup_id}: a DCA executor needs a limit_grid entry, "
                         f"got {entry.entry_type}")
    exits = sized.exits
    prices = [to_decimal(p) for p in entry.prices]
    amounts = [to_decimal(a) for a in entry.amounts_quote]
    if trading_rule is not None:
        prices, amounts = quantize_grid(sized.pair, prices, amounts, trading_rule)
    return DCAExecutorConfig(
        timestamp=float(timestamp_s),
        connector_name=connector_name,
        trading_pair=sized.pair,
        side=TradeType.BUY,
        amounts_quote=amounts,
        prices=prices,
        take_profit=to_decimal(exits.take_profit_frac),
        stop_loss=to_decimal(exits.stop_loss_frac),
        trailing_stop=trailing_stop(exits),
        time_limit=int(exits.time_limit_s),
        mode=DCAMode.MAKER,
        level_id=sized.setup_id,
    )


def position_executor_config(
    sized: SizedEntry, connector_name: str, timestamp_s: float, price_quote: float,
    trading_rule: TradingRule | None = None,
) -> PositionExecutorConfig:
    """``PositionExecutorConfig`` of a ``market`` entry (a long position with a triple barrier).

    Args:
        sized: the sized entry; ``sized.entry.total_quote`` is the position size in quote.
        connector_name: Hummingbot connector.
        timestamp_s: decision time, start of the time limit.
        price_quote: current price used to turn the quote size into a base amount (the
            executor fills at market; the fill price sets the real entry).
        trading_rule: the connector's rule of the pair; the amount is quantized on it when given.

    Raises:
        ValueError: the entry is not ``market`` or ``price_quote`` is not > 0.
        BelowTradingRules: the amount is below the rule's minimums.
    """
    if sized.entry.entry_type != "market":
        raise ValueError(f"{sized.setup_id}: a position executor needs a market entry, "
                         f"got {sized.entry.entry_type}")
    if not price_quote > 0:
        raise ValueError(f"{sized.setup_id}: price_quote must be > 0, got {price_quote}")
    amount_base = to_decimal(sized.entry.total_quote) / to_decimal(price_quote)
    if trading_rule is not None:
        amount_base = quantize_amount(sized.pair, amount_base, to_decimal(price_quote),
                                      trading_rule)
    return PositionExecutorConfig(
        timestamp=float(timestamp_s),
        connector_name=connector_name,
        trading_pair=sized.pair,
        side=TradeType.BUY,
        amount=amount_base,
        triple_barrier_config=triple_barrier(sized.exits),
        level_id=sized.setup_id,
    )


def executor_config(
    sized: SizedEntry, connector_name: str, timestamp_s: float, price_quote: float,
    trading_rule: TradingRule | None = None,
) -> DCAExecutorConfig | PositionExecutorConfig:
    """The executor config for ``sized`` by entry type (grid -> DCA, market -> position),
    quantized on ``trading_rule`` when given.

    Raises:
        BelowTradingRules: the entry is below the rule's minimums after quantizing.
    """
    if sized.entry.entry_type == "limit_grid":
        return dca_executor_config(sized, connector_name, timestamp_s, trading_rule)
    return position_executor_config(sized, connector_name, timestamp_s, price_quote,
                                    trading_rule)


def committed_quote(config: DCAExecutorConfig | PositionExecutorConfig) -> float:
    """Quote currency an executor config commits if its entry fills completely.

    DCA: sum of the level amounts. Position: base amount x entry price (the config's
    ``entry_price``, which ``PositionExecutor`` sets from the book when created without one).
    """
    if isinstance(config, DCAExecutorConfig):
        return float(sum(config.amounts_quote))
    price = config.entry_price if config.entry_price is not None else Decimal("0")
    return float(config.amount * price)
