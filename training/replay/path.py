"""How one real candle becomes a short sequence of order-book states (sub-ticks).

A 1h candle only tells four prices: open, high, low, close. The replay shows Hummingbot's paper
exchange a **path** through them, one price per sub-tick, evenly spaced inside the candle. With
``steps_per_leg = 1`` (five sub-ticks, every 720 s for 1h):

====  =================  ======================================================================
 k    price              why
====  =================  ======================================================================
 0    open               the strategy ticks here and sees the candle that just closed; market
                         orders its executors place now are queued by the paper exchange
 1    open               the paper exchange fills market orders >= 5 s after they were placed
                         (``PaperTradeExchange.TRADE_EXECUTION_DELAY``): entries decided on the
                         previous candle fill at this candle's open (plus the half spread)
 2    low  (``olhc``)    resting buy limits fill when the ask reaches them; stop losses of longs
                         fire at the low before any take profit can (house rule: stop loss and
                         take profit in the same candle -> assume the stop loss)
 3    high (``olhc``)    resting sell limits (take profits) fill; trailing stops arm
 4    close              time limits and trailing stops act on the close
====  =================  ======================================================================

With ``steps_per_leg = n > 1`` each of the three legs open->low, low->high, high->close is walked
in ``n`` equal price steps (``2 + 3n`` sub-ticks). Every intermediate price lies between the
candle's low and high, so the market traded it on the way if the leg order holds; the finer
walk lets executors whose barriers act at market (take profit, stop loss) close near the
barrier instead of at the extreme of the candle.

``ohlc`` swaps the low and high legs (the optimistic order for longs). The default ``olhc`` is the
conservative one for the long-only scripts: adverse move first. It is not conservative for a
grid that fills at the low and reaches its take profit at the high of the same candle; such a
round trip inside one hour is counted as the data allow.

No price between the candle's own OHLC is invented: each sub-tick shows one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PathOrder = Literal["olhc", "ohlc"]

def subticks_per_candle(steps_per_leg: int = 1) -> int:
    """Order-book states per candle: ``2 + 3 * steps_per_leg`` (5 for one step per leg)."""
    if steps_per_leg < 1:
        raise ValueError(f"steps_per_leg must be >= 1, got {steps_per_leg}")
    return 2 + 3 * steps_per_leg


@dataclass(frozen=True, slots=True)
class SubTick:
    """One order-book state inside a candle.

    Attributes:
        offset_s: seconds after the candle's open time.
        price: mid price shown by the paper exchange, quote.
        label: ``"open"``, ``"open_fill"``, ``"low"``, ``"high"`` or ``"close"``.
        index: position in the path (0 = open).
    """

    offset_s: float
    price: float
    label: str
    index: int


def subtick_size_s(interval_s: int, steps_per_leg: int = 1) -> float:
    """Seconds between sub-ticks for a candle of ``interval_s`` seconds (720 for 1h, one step).

    Raises:
        ValueError: if the sub-tick would be shorter than the paper exchange's 5 s market-order
            delay (candles shorter than 30 s), because market orders would then skip a price.
    """
    size = interval_s / subticks_per_candle(steps_per_leg)
    if size <= 5.0:
        raise ValueError(f"candle interval {interval_s} s is too short for the replay path")
    return size


def candle_path(
    open_: float, high: float, low: float, close: float, interval_s: int,
    order: PathOrder = "olhc", steps_per_leg: int = 1,
) -> tuple[SubTick, ...]:
    """The sub-ticks of one candle, in time order.

    Args:
        open_, high, low, close: the candle's prices, quote.
        interval_s: candle length, seconds.
        order: ``"olhc"`` (low before high, default) or ``"ohlc"``.
        steps_per_leg: price steps per leg (>= 1).

    Raises:
        ValueError: on an unknown ``order``, ``steps_per_leg < 1`` or a too-short interval.
    """
    if order == "olhc":
        first, second = ("low", low), ("high", high)
    elif order == "ohlc":
        first, second = ("high", high), ("low", low)
    else:
        raise ValueError(f"unknown path order {order!r}; use 'olhc' or 'ohlc'")
    step = subtick_size_s(interval_s, steps_per_leg)
    points: list[tuple[str, float]] = [("open", open_), ("open_fill", open_)]
    start = open_
    for label, end in (first, second, ("close", close)):
        for k in range(1, steps_per_leg + 1):
            price = end if k == steps_per_leg else start + (end - start) * k / steps_per_leg
            points.append((label if k == steps_per_leg else f"to_{label}", price))
        start = end
    return tuple(
        SubTick(offset_s=i * step, price=float(p), label=label, index=i)
        for i, (label, p) in enumerate(points)
    )


def forming_candle(
    open_: float, path_so_far: tuple[float, ...], volume: float, fraction: float
) -> tuple[float, float, float, float, float]:
    """The still-forming candle as a live feed would show it part-way through the candle.

    Args:
        open_: the candle's open.
        path_so_far: prices shown up to and including the current sub-tick.
        volume: the candle's full volume (base).
        fraction: share of the candle elapsed, in [0, 1].

    Returns:
        ``(open, high, low, close, volume)`` built only from prices already shown; volume is
        pro-rated by elapsed time (the data has no intra-candle volume).
    """
    prices = (open_, *path_so_far)
    return (open_, max(prices), min(prices), prices[-1], volume * fraction)
