"""The exit kernel's executor-semantics walk: one long position replayed candle by candle.

This is the array layer shared by the label generator (:mod:`training.labels.outcomes`) and the
portfolio backtester: it knows candles, prices, quote amounts and fee fractions, nothing about
setups or pandas. :func:`simulate_one` replays one position as Hummingbot's live executors
(``PositionExecutor``, ``DCAExecutor``) apply their barriers; the batch drivers
(:mod:`training.labels.batch`) call it for many positions of one pair, and
:mod:`training.labels.hb_parity` holds the Hummingbot-simulator replicas used instead in parity
mode.

The model of a candle (path open -> low -> high -> close, so stop loss first when one candle
touches both barriers), the barriers as Hummingbot's executors compute them, fills, slippage and
the Hummingbot-simulator parity mode are written out in ``training/backtest/parity.md``.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from training.labels.jit import compiled

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


REASON_OPEN_AT_END: Final = 0
REASON_TAKE_PROFIT: Final = 1
REASON_STOP_LOSS: Final = 2
REASON_TRAILING_STOP: Final = 3
REASON_TIME_LIMIT: Final = 4
REASON_NOT_FILLED: Final = 5
_NONE: Final = -1

EXIT_REASONS: Final[tuple[str, ...]] = (
    "OPEN_AT_END",
    "TAKE_PROFIT",
    "STOP_LOSS",
    "TRAILING_STOP",
    "TIME_LIMIT",
    "NOT_FILLED",
)
"""Exit reason names indexed by the integer codes ``REASON_*`` the kernel returns."""

# Slots of the per-position state vector (float64) the helpers share: filled base, its cost,
# entry fees, levels filled, trailing armed / trigger, path extremes, slippage paid (quote),
# the bar being replayed, and the slippage fraction of market fills on that bar.
_BASE, _QUOTE, _FEE, _NFILL, _ARMED, _TRIG, _MAX, _MIN = 0, 1, 2, 3, 4, 5, 6, 7
_SLIP, _BAR, _SLIP_FRAC = 8, 9, 10
_STATE_SIZE = 11
# Columns of the per-level fill record: base bought, its cost (quote), fee (quote), bar.
_LV_BASE, _LV_QUOTE, _LV_FEE, _LV_BAR = 0, 1, 2, 3
_LV_SIZE = 4


@compiled
def _fill(st: FloatArray, lv: FloatArray, base: float, price: float, ideal: float,
          fee_frac: float) -> None:
    """Add ``base`` bought at ``price`` (quote fee ``fee_frac`` of the notional) to the state and
    to the next row of the per-level record ``lv``; ``price - ideal`` per base is slippage."""
    first = st[_BASE] <= 0.0
    quote = base * price
    j = int(st[_NFILL])
    lv[j, _LV_BASE] = base
    lv[j, _LV_QUOTE] = quote
    lv[j, _LV_FEE] = quote * fee_frac
    lv[j, _LV_BAR] = st[_BAR]
    st[_BASE] += base
    st[_QUOTE] += quote
    st[_FEE] += quote * fee_frac
    st[_SLIP] += base * (price - ideal)
    st[_NFILL] += 1.0
    if first:
        st[_MAX] = price
        st[_MIN] = price
    else:
        st[_MAX] = max(st[_MAX], price)
        st[_MIN] = min(st[_MIN], price)


@compiled
def _guard(st: FloatArray, n_levels: int, sl: float, sl_needs_all: bool) -> tuple[float, int]:
    """Highest protective exit price below the market and its reason (``-1.0, _NONE`` if none).

    Stop loss and trailing trigger both compare the net PnL (after entry fees) with a threshold,
    so in price terms they sit at ``avg * (1 + threshold + fe)``. When both exist the higher one
    is reached first on the way down; on a tie the stop loss wins (Hummingbot checks it first).
    """
    if st[_BASE] <= 0.0:
        return -1.0, _NONE
    avg = st[_QUOTE] / st[_BASE]
    fe = st[_FEE] / st[_QUOTE]
    price = -1.0
    reason = _NONE
    if sl == sl and (not sl_needs_all or st[_NFILL] >= n_levels):
        price = avg * (1.0 - sl + fe)
        reason = REASON_STOP_LOSS
    if st[_ARMED] > 0.0:
        trail = avg * (1.0 + st[_TRIG] + fe)
        if trail > price:
            price = trail
            reason = REASON_TRAILING_STOP
    return price, reason


@compiled
def _guard_hit(reason: int, guard: float, price: float) -> bool:
    """Does ``price`` fire the guard? Stop loss uses ``<=``, trailing ``<`` (as Hummingbot)."""
    if reason == REASON_STOP_LOSS:
        return price <= guard
    if reason == REASON_TRAILING_STOP:
        return price < guard
    return False


@compiled
def _trail_update(st: FloatArray, price: float, act: float, delta: float) -> None:
    """Arm or raise the trailing trigger for a visited ``price`` (``control_trailing_stop``)."""
    if act != act or st[_BASE] <= 0.0:
        return
    net = price / (st[_QUOTE] / st[_BASE]) - 1.0 - st[_FEE] / st[_QUOTE]
    if st[_ARMED] <= 0.0:
        if net > act:
            st[_ARMED] = 1.0
            st[_TRIG] = net - delta
    elif net - delta > st[_TRIG]:
        st[_TRIG] = net - delta


@compiled
def _take_profit(st: FloatArray, price: float, tp: float, tp_limit: bool,
                 at_open: bool) -> float:
    """Exit price if the take profit fires when the path reaches ``price`` going up, else -1.

    A resting limit fills at its own price even if ``price`` (a gap open) is beyond it; a market
    take profit fires at its threshold on a continuous move and at the open on a gap.
    """
    if tp != tp or st[_BASE] <= 0.0:
        return -1.0
    avg = st[_QUOTE] / st[_BASE]
    if tp_limit:
        level = avg * (1.0 + tp)
        return level if price >= level else -1.0
    level = avg * (1.0 + tp + st[_FEE] / st[_QUOTE])
    if price > level:
        return price if at_open else level
    return -1.0


@compiled
def _descend(st: FloatArray, lv: FloatArray, lvl_price: FloatArray, lvl_quote: FloatArray,
             n_levels: int, cur: float, target: float, sl: float, sl_needs_all: bool,
             maker: float) -> tuple[int, float]:
    """Walk the price down from ``cur`` to ``target``: fill levels, fire protective exits.

    Returns ``(reason, exit_price)``; reason ``_NONE`` if the position survives.
    """
    while st[_NFILL] < n_levels:
        i = int(st[_NFILL])
        level = lvl_price[i]
        if level < target:
            break
        guard, reason = _guard(st, n_levels, sl, sl_needs_all)
        if reason != _NONE and guard > level:  # reached on the way down, before the level
            st[_MIN] = min(st[_MIN], guard, cur)
            return reason, min(guard, cur)
        _fill(st, lv, lvl_quote[i] / level, level, level, maker)
        cur = min(cur, level)
    guard, reason = _guard(st, n_levels, sl, sl_needs_all)
    if _guard_hit(reason, guard, target):
        st[_MIN] = min(st[_MIN], guard, cur)
        return reason, min(guard, cur)
    if st[_BASE] > 0.0:
        st[_MIN] = min(st[_MIN], target)
    return _NONE, 0.0


@compiled
def _expire(st: FloatArray, o: float, n_levels: int, sl: float, sl_needs_all: bool, tp: float,
            tp_limit: bool) -> tuple[int, float]:
    """The open of the time-limit candle: barriers first (Hummingbot's check order), then the
    time limit itself; nothing filled -> NOT_FILLED (the resting levels are cancelled)."""
    if st[_BASE] <= 0.0:
        return REASON_NOT_FILLED, np.nan
    guard, reason = _guard(st, n_levels, sl, sl_needs_all)
    if _guard_hit(reason, guard, o):
        return reason, o
    tp_px = _take_profit(st, o, tp, tp_limit, True)
    if tp_px > 0.0:
        return REASON_TAKE_PROFIT, tp_px
    return REASON_TIME_LIMIT, o


@compiled
def _open_fills(st: FloatArray, lv: FloatArray, first_bar: bool, market_entry: bool,
                lvl_price: FloatArray, lvl_quote: FloatArray, n_levels: int, o: float,
                maker: float, taker: float) -> None:
    """Fills at a candle's open: the market entry, marketable or gapped-through levels.

    Market fills pay the bar's slippage: a market entry spends its quote amount at
    ``open * (1 + slip)``; a marketable level buys its base at that price capped at its limit.
    """
    slipped = o * (1.0 + st[_SLIP_FRAC])
    if market_entry:
        if first_bar:
            _fill(st, lv, lvl_quote[0] / slipped, slipped, o, taker)
        return
    while st[_NFILL] < n_levels and lvl_price[int(st[_NFILL])] >= o:
        i = int(st[_NFILL])
        if first_bar:  # a limit above the market when placed crosses: taker at the open
            _fill(st, lv, lvl_quote[i] / lvl_price[i], min(slipped, lvl_price[i]), o, taker)
        else:  # a resting limit the open gapped through fills at its own price
            _fill(st, lv, lvl_quote[i] / lvl_price[i], lvl_price[i], lvl_price[i], maker)


@compiled
def _at_open(st: FloatArray, o: float, n_levels: int, sl: float, sl_needs_all: bool, tp: float,
             tp_limit: bool, act: float, delta: float) -> tuple[int, float]:
    """Barriers at the open price (a gap exits at the open), then the trailing update."""
    if st[_BASE] <= 0.0:
        return _NONE, 0.0
    st[_MIN] = min(st[_MIN], o)
    st[_MAX] = max(st[_MAX], o)
    guard, reason = _guard(st, n_levels, sl, sl_needs_all)
    if _guard_hit(reason, guard, o):
        return reason, o
    tp_px = _take_profit(st, o, tp, tp_limit, True)
    if tp_px > 0.0:
        return REASON_TAKE_PROFIT, tp_px
    _trail_update(st, o, act, delta)
    return _NONE, 0.0


@compiled
def _rise(st: FloatArray, top: float, tp: float, tp_limit: bool, act: float,
          delta: float) -> tuple[int, float]:
    """Walk the price up to ``top``: the take profit fires, else the trailing stop follows."""
    if st[_BASE] <= 0.0:
        return _NONE, 0.0
    tp_px = _take_profit(st, top, tp, tp_limit, False)
    if tp_px > 0.0:
        st[_MAX] = max(st[_MAX], tp_px)
        return REASON_TAKE_PROFIT, tp_px
    _trail_update(st, top, act, delta)
    st[_MAX] = max(st[_MAX], top)
    return _NONE, 0.0


@compiled
def simulate_one(
    open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray,
    entry_bar: int, market_entry: bool, lvl_price: FloatArray, lvl_quote: FloatArray,
    n_levels: int, tp: float, sl: float, trail_act: float, trail_delta: float,
    time_limit_bars: int, tp_limit: bool, sl_needs_all: bool, maker: float, taker: float,
    tp_on_close: bool, slip: FloatArray, lv: FloatArray,
) -> tuple[int, int, int, bool, float, float, float, float, float, float, float, int, float]:
    """Replay one position; see the module docstring for the rules.

    Args: as one row of :func:`simulate_positions` (``lvl_price`` / ``lvl_quote`` 1-D), plus
        ``slip`` ``(N,)`` slippage fraction of a market fill per bar and ``lv`` an ``(L, 4)``
        scratch the per-level fills are written to (base, cost, fee, bar; untouched rows are
        left as they were).

    Returns:
        ``(reason, fill_bar, exit_bar, exit_on_open, exit_price, base, quote, entry_fee_quote,
        exit_fee_quote, max_price, min_price, levels_filled, slippage_quote)``; ``fill_bar`` /
        ``exit_bar`` are -1 when there is none, ``exit_price`` NaN.
    """
    n = open_.shape[0]
    st = np.zeros(_STATE_SIZE)
    expiry = entry_bar + time_limit_bars if time_limit_bars > 0 else n + 1
    fill_bar, exit_bar, on_open = -1, -1, False
    reason, exit_price = REASON_OPEN_AT_END, np.nan
    for k in range(entry_bar, n):
        o = open_[k]
        st[_BAR] = k
        st[_SLIP_FRAC] = slip[k]
        if k >= expiry:
            reason, exit_price = _expire(st, o, n_levels, sl, sl_needs_all, tp, tp_limit)
            exit_bar, on_open = k, True
            break
        _open_fills(st, lv, k == entry_bar, market_entry, lvl_price, lvl_quote, n_levels, o,
                    maker, taker)
        if fill_bar < 0 and st[_BASE] > 0.0:
            fill_bar = k
        r, px = _at_open(st, o, n_levels, sl, sl_needs_all, tp, tp_limit, trail_act,
                         trail_delta)
        if r != _NONE:
            reason, exit_bar, on_open, exit_price = r, k, True, px
            break
        r, px = _descend(st, lv, lvl_price, lvl_quote, n_levels, o, low[k], sl, sl_needs_all,
                         maker)
        if fill_bar < 0 and st[_BASE] > 0.0:
            fill_bar = k
        if r == _NONE:
            top = close[k] if tp_on_close else high[k]
            r, px = _rise(st, top, tp, tp_limit, trail_act, trail_delta)
        if r != _NONE:
            reason, exit_bar, exit_price = r, k, px
            break
    exit_fee = 0.0
    if reason != REASON_OPEN_AT_END and reason != REASON_NOT_FILLED:
        limit_exit = reason == REASON_TAKE_PROFIT and tp_limit
        if not limit_exit:  # every other exit is a market sell: it pays the bar's slippage
            sold = exit_price * (1.0 - slip[exit_bar])
            st[_SLIP] += st[_BASE] * (exit_price - sold)
            exit_price = sold
        exit_fee = st[_BASE] * exit_price * (maker if limit_exit else taker)
    held = st[_BASE] > 0.0
    return (reason, fill_bar, exit_bar, on_open, exit_price, st[_BASE], st[_QUOTE], st[_FEE],
            exit_fee, st[_MAX] if held else np.nan, st[_MIN] if held else np.nan,
            int(st[_NFILL]), st[_SLIP])


@compiled
def _store(res: tuple[int, int, int, bool, float, float, float, float, float, float, float,
                      int, float], m: int, out_i: IntArray, out_f: FloatArray,
           out_b: BoolArray) -> None:
    """Write one replay result into row ``m`` of the batch outputs."""
    out_i[m, 0] = res[0]
    out_i[m, 1] = res[1]
    out_i[m, 2] = res[2]
    out_i[m, 3] = res[11]
    out_b[m] = res[3]
    out_f[m, 0] = res[4]
    out_f[m, 1] = res[5]
    out_f[m, 2] = res[6]
    out_f[m, 3] = res[7]
    out_f[m, 4] = res[8]
    out_f[m, 5] = res[9]
    out_f[m, 6] = res[10]
    out_f[m, 7] = res[12]
