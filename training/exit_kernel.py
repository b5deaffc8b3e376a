"""Compiled (numba) replay of one long position under Hummingbot executor exit rules.

This is the array layer shared by the label generator (:mod:`training.labels`) and the portfolio
backtester: it knows candles, prices, quote amounts and fee fractions, nothing about setups or
pandas. One call replays many independent positions over the candles of one pair.

The model of a candle (path open -> low -> high -> close, so stop loss first when one candle
touches both barriers), the barriers as Hummingbot's executors compute them, fills, slippage and
the Hummingbot-simulator parity mode are written out in ``training/backtest/parity.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _compiled[Fn: Callable[..., Any]](fn: Fn) -> Fn:
    """``numba.njit(cache=True)`` that keeps the Python signature for type checkers."""
    return cast(Fn, njit(cache=True)(fn))


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


@_compiled
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


@_compiled
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


@_compiled
def _guard_hit(reason: int, guard: float, price: float) -> bool:
    """Does ``price`` fire the guard? Stop loss uses ``<=``, trailing ``<`` (as Hummingbot)."""
    if reason == REASON_STOP_LOSS:
        return price <= guard
    if reason == REASON_TRAILING_STOP:
        return price < guard
    return False


@_compiled
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


@_compiled
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


@_compiled
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


@_compiled
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


@_compiled
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


@_compiled
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


@_compiled
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


@_compiled
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


# --- Hummingbot-simulator mode -------------------------------------------------------------------
# Replicas of hummingbot.strategy_v2.backtesting.executors_simulator (hummingbot 20260922)
# PositionExecutorSimulator and DCAExecutorSimulator (MAKER mode, BUY side), so parity with them
# can be checked to float precision; training/backtest/parity.md lists every difference from the
# executor replay above. The simulators start on the decision candle ``s = entry_bar - 1`` (the
# backtesting engine slices its frame from the row the controller decided on) and read its close
# as the entry price; rows ``s .. s + time_limit_bars`` (data end at the latest) are replayed.


@_compiled
def _hb_growth(close: FloatArray, frm: int, to: int) -> float:
    """``(1 + close.pct_change()).cumprod()`` from row ``frm`` (1.0) to row ``to``, computed the
    way pandas does (same operations, same order) so the float result is identical."""
    g = 1.0
    for k in range(frm + 1, to + 1):
        g *= 1.0 + (close[k] / close[k - 1] - 1.0)
    return g


@_compiled
def _hb_last_row(n: int, s: int, time_limit_bars: int) -> int:
    return n - 1 if time_limit_bars <= 0 else min(n - 1, s + time_limit_bars)


@_compiled
def _hb_position(low: FloatArray, close: FloatArray, s: int, quote: float, tp: float,
                 sl: float, act: float, delta: float, time_limit_bars: int, cost: float,
                 lv: FloatArray) -> tuple[int, int, int, bool, float, float, float, float, float,
                                          float, float, int, float]:
    """``PositionExecutorSimulator.simulate`` for a market BUY (see the section comment)."""
    last = _hb_last_row(close.shape[0], s, time_limit_bars)
    entry = close[s]
    sl_price = entry * (1.0 - sl)
    g, best, armed = 1.0, -np.inf, False
    reason, k_close = REASON_TIME_LIMIT, last
    for k in range(s, last + 1):
        if k > s:
            g *= 1.0 + (close[k] / close[k - 1] - 1.0)
        net = (g - 1.0) - 2.0 * cost
        trail_hit = False
        if act == act and delta == delta and act != 0.0 and delta != 0.0:
            best = max(best, net - delta)  # cummax over every row, as the simulator's column
            armed = armed or net > act
            trail_hit = armed and net < best
        if tp == tp and tp != 0.0 and net > tp:  # ties: take profit, stop loss, trailing
            reason, k_close = REASON_TAKE_PROFIT, k
            break
        if sl == sl and sl != 0.0 and low[k] <= sl_price:
            reason, k_close = REASON_STOP_LOSS, k
            break
        if trail_hit:
            reason, k_close = REASON_TRAILING_STOP, k
            break
    base = quote / entry
    lv[0, _LV_BASE], lv[0, _LV_QUOTE], lv[0, _LV_FEE], lv[0, _LV_BAR] = base, quote, \
        cost * quote, s
    fee = cost * quote
    return (reason, s, k_close, False, close[k_close], base, quote, fee, fee,
            np.nan, np.nan, 1, 0.0)


@_compiled
def _hb_first(close: FloatArray, frm: int, last: int, at_most: float) -> int:
    """First row in ``frm..last`` whose close is ``<= at_most``, -1 if none."""
    for k in range(frm, last + 1):
        if close[k] <= at_most:
            return k
    return -1


@_compiled
def _hb_dca_stage(low: FloatArray, close: FloatArray, e: int, last: int, thr: FloatArray,
                  delta_mult: float, next_at_most: float) -> tuple[int, int]:
    """Close row and type of one DCA stage entered on row ``e``: ``(row, reason)``, reason
    ``_NONE`` when the next level fills first (the stage's ``min`` over take profit, stop loss
    -- last level only, ``next_at_most`` NaN --, trailing stop, next level, window end).

    ``thr`` = (take profit: close >=, stop loss: low <=, trailing activation: close >=), float
    thresholds equivalent to the simulator's exact ``Decimal`` comparisons (NaN: off).
    """
    trigger = -np.inf
    armed = False
    for k in range(e, last + 1):
        c = close[k]
        trail_hit = False
        if thr[2] == thr[2]:
            armed = armed or c >= thr[2]
            if armed:
                trigger = max(trigger, c * delta_mult)
                trail_hit = c <= trigger
        if thr[0] == thr[0] and c >= thr[0]:
            return k, REASON_TAKE_PROFIT
        if next_at_most != next_at_most and thr[1] == thr[1] and low[k] <= thr[1]:
            return k, REASON_STOP_LOSS
        if trail_hit:
            return k, REASON_TRAILING_STOP
        if next_at_most == next_at_most and c <= next_at_most:
            return k, _NONE
    return last, REASON_TIME_LIMIT


@_compiled
def _hb_dca(low: FloatArray, close: FloatArray, s: int, lvl_quote: FloatArray, n_levels: int,
            time_limit_bars: int, cost: float, entry_at_most: FloatArray, thr: FloatArray,
            delta_mult: float, lv: FloatArray) -> tuple[int, int, int, bool, float, float,
                                                         float, float, float, float, float,
                                                         int, float]:
    """``DCAExecutorSimulator.simulate`` in MAKER mode, BUY (see the section comment).

    A level "fills" on the first close at or below its price (``entry_at_most``) and enters at
    that close; each stage's barriers come from the quote-weighted mean of the level prices
    (``thr`` per level, see :func:`_hb_dca_stage`); the stop loss is only checked at the last
    level. The simulator writes its filled-amount and PnL columns from the entry row of the
    last level when the closes reach every level (so they are empty, zero, at a close before
    that row). When they reach some levels but not all, it writes from a NaN timestamp, which
    selects no row: pandas (3.1) accepts a stage's return series there only when it spans the
    whole window (entered on row ``s``) or one row (entered on the last row), and raises
    ``ValueError`` for any other stage up to the closing one. The replica books nothing when
    pandas accepts and, where the simulator raises, reports the evident intent (the closing
    stage with the levels up to it, their entry rows in ``level_fills``). ``levels_filled`` is
    the number of levels the closes reached.
    """
    last = _hb_last_row(close.shape[0], s, time_limit_bars)
    entries = np.full(n_levels, -1, dtype=np.int64)
    closes = np.full(n_levels, -1, dtype=np.int64)
    reasons = np.full(n_levels, _NONE, dtype=np.int64)
    stages = 0
    for i in range(n_levels):
        e = _hb_first(close, s, last, entry_at_most[i])
        if e < 0:
            break
        nxt = entry_at_most[i + 1] if i + 1 < n_levels else np.nan
        entries[i] = e
        closes[i], reasons[i] = _hb_dca_stage(low, close, e, last, thr[i], delta_mult, nxt)
        stages += 1
    closing = -1
    for i in range(stages):
        if reasons[i] != _NONE:
            closing = i
            break
    if closing < 0:  # nothing reached: TIME_LIMIT with nothing filled (None: FAILED)
        return (REASON_NOT_FILLED, -1, last, False, np.nan, 0.0, 0.0, 0.0, 0.0,
                np.nan, np.nan, stages, 0.0)
    k_close = closes[closing]
    base, quote = 0.0, 0.0
    if stages == n_levels:  # columns written from the last level's entry row on
        booked = entries[stages - 1] <= k_close
    else:  # written from a NaN row: nothing, or ValueError (see the docstring)
        booked = False
        for j in range(closing + 1):
            booked = booked or (entries[j] != s and entries[j] != last)
    if booked:
        for j in range(closing + 1):
            lv[j, _LV_BASE] = lvl_quote[j] * _hb_growth(close, entries[j], k_close) / \
                close[k_close]
            lv[j, _LV_QUOTE] = lvl_quote[j]
            lv[j, _LV_FEE] = cost * lvl_quote[j]
            lv[j, _LV_BAR] = entries[j]
            base += lv[j, _LV_BASE]
            quote += lvl_quote[j]
    fee = cost * quote
    return (reasons[closing], entries[0], k_close, False, close[k_close], base, quote, fee, fee,
            np.nan, np.nan, stages, 0.0)


@_compiled
def _hb_batch(low: FloatArray, close: FloatArray, entry_bar: IntArray, market_entry: BoolArray,
              lvl_quote: FloatArray, n_levels: IntArray, tp: FloatArray, sl: FloatArray,
              trail_act: FloatArray, trail_delta: FloatArray, time_limit_bars: IntArray,
              cost: float, entry_at_most: FloatArray, thr: FloatArray, delta_mult: FloatArray,
              out_i: IntArray, out_f: FloatArray, out_b: BoolArray,
              out_lv: FloatArray) -> None:
    """Hummingbot-simulator replicas for every row of a batch into the ``out_*`` arrays."""
    for m in range(entry_bar.shape[0]):
        if market_entry[m]:
            res = _hb_position(low, close, entry_bar[m] - 1, lvl_quote[m, 0], tp[m], sl[m],
                               trail_act[m], trail_delta[m], time_limit_bars[m], cost,
                               out_lv[m])
        else:
            res = _hb_dca(low, close, entry_bar[m] - 1, lvl_quote[m], n_levels[m],
                          time_limit_bars[m], cost, entry_at_most[m], thr[m], delta_mult[m],
                          out_lv[m])
        _store(res, m, out_i, out_f, out_b)


@_compiled
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


@_compiled
def _simulate_batch(open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray,
                    entry_bar: IntArray, market_entry: BoolArray, lvl_price: FloatArray,
                    lvl_quote: FloatArray, n_levels: IntArray, tp: FloatArray, sl: FloatArray,
                    trail_act: FloatArray, trail_delta: FloatArray, time_limit_bars: IntArray,
                    tp_limit: BoolArray, sl_needs_all: BoolArray, maker: float, taker: float,
                    tp_on_close: bool, slip: FloatArray, out_i: IntArray, out_f: FloatArray,
                    out_b: BoolArray, out_lv: FloatArray) -> None:
    """Run :func:`simulate_one` for every row of a batch into the ``out_*`` arrays."""
    for m in range(entry_bar.shape[0]):
        res = simulate_one(open_, high, low, close, entry_bar[m], market_entry[m], lvl_price[m],
                           lvl_quote[m], n_levels[m], tp[m], sl[m], trail_act[m],
                           trail_delta[m], time_limit_bars[m], tp_limit[m], sl_needs_all[m],
                           maker, taker, tp_on_close, slip, out_lv[m])
        _store(res, m, out_i, out_f, out_b)


@_compiled
def _net_return(res: tuple[Any, ...]) -> float:
    """Net return fraction of a closed replay (NaN when nothing closed)."""
    reason = res[0]
    if reason == REASON_OPEN_AT_END or reason == REASON_NOT_FILLED:
        return np.nan
    base, exit_price, quote, entry_fee, exit_fee = res[5], res[4], res[6], res[7], res[8]
    return float((base * exit_price - exit_fee - quote - entry_fee) / quote)


@_compiled
def _best_batch(open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray,
                timestamps: IntArray, interval_s: int, entry_bar: IntArray,
                market_entry: BoolArray, lvl_price: FloatArray, lvl_quote: FloatArray,
                n_levels: IntArray, trail_act: FloatArray, trail_delta: FloatArray,
                time_limit_bars: IntArray, tp_limit: BoolArray, sl_needs_all: BoolArray,
                maker: float, taker: float, tp_on_close: bool, tp_grid: FloatArray,
                sl_grid: FloatArray, out_f: FloatArray) -> None:
    """Grid search of :func:`best_exits` into ``out_f`` (tp, sl, net return, hold, resolved)."""
    no_slip = np.zeros(open_.shape[0])
    lv = np.zeros((lvl_price.shape[1], _LV_SIZE))
    for m in range(entry_bar.shape[0]):
        best_ret = -np.inf
        best_tp = np.nan
        best_sl = np.nan
        best_hold = np.nan
        latest = -np.inf  # when the last replay of the grid resolved
        unknown = False
        for b in range(sl_grid.shape[0]):  # tighter stop first, then nearer target: ties keep it
            for a in range(tp_grid.shape[0]):
                res = simulate_one(open_, high, low, close, entry_bar[m], market_entry[m],
                                   lvl_price[m], lvl_quote[m], n_levels[m], tp_grid[a],
                                   sl_grid[b], trail_act[m], trail_delta[m], time_limit_bars[m],
                                   tp_limit[m], sl_needs_all[m], maker, taker, tp_on_close,
                                   no_slip, lv)
                if res[0] == REASON_OPEN_AT_END:
                    unknown = True
                    latest = np.nan
                    break
                exit_ts = timestamps[res[2]] + (0 if res[3] else interval_s)
                latest = max(latest, float(exit_ts))
                if res[0] == REASON_NOT_FILLED:  # no fill under any pair: all replays alike
                    unknown = True
                    break
                ret = _net_return(res)
                if ret > best_ret:
                    best_ret = ret
                    best_tp = tp_grid[a]
                    best_sl = sl_grid[b]
                    best_hold = float(exit_ts - timestamps[res[1]])
            if unknown:
                break
        out_f[m, 4] = latest
        if unknown:
            out_f[m, 0] = np.nan
            out_f[m, 1] = np.nan
            out_f[m, 2] = np.nan
            out_f[m, 3] = np.nan
        else:
            out_f[m, 0] = best_tp
            out_f[m, 1] = best_sl
            out_f[m, 2] = best_ret
            out_f[m, 3] = best_hold


@dataclass(frozen=True, slots=True)
class PositionBatch:
    """Entries and exit rules of ``M`` positions on one pair's candles (kernel input).

    Attributes:
        entry_bar: ``(M,) int64`` first candle row on which the executor exists (its start time
            is that candle's open); a setup on row ``i`` uses ``i + 1``.
        market_entry: ``(M,) bool`` True: buy ``level_quote[m, 0]`` at the open of
            ``entry_bar``; False: resting buy limits at ``level_price[m, :n_levels[m]]``.
        level_price: ``(M, L) float64`` limit prices in quote, non-increasing per row (ignored for
            market entries; pad with NaN).
        level_quote: ``(M, L) float64`` quote amount per level (market: column 0); pad with 0.
        n_levels: ``(M,) int64`` levels used per row (1 for market entries).
        take_profit_frac, stop_loss_frac: ``(M,) float64`` barrier fractions; NaN disables.
        trailing_activation_frac, trailing_delta_frac: ``(M,) float64``; NaN disables trailing.
        time_limit_bars: ``(M,) int64`` bars from ``entry_bar`` to the time-limit exit at the open
            of ``entry_bar + time_limit_bars``; <= 0 disables the time limit.
        tp_limit_order: ``(M,) bool`` take profit by a resting limit (maker) instead of a market
            order on ``net > tp`` (taker).
        sl_needs_all_levels: ``(M,) bool`` stop loss only once every level filled (DCAExecutor
            MAKER mode).
    """

    entry_bar: IntArray
    market_entry: BoolArray
    level_price: FloatArray
    level_quote: FloatArray
    n_levels: IntArray
    take_profit_frac: FloatArray
    stop_loss_frac: FloatArray
    trailing_activation_frac: FloatArray
    trailing_delta_frac: FloatArray
    time_limit_bars: IntArray
    tp_limit_order: BoolArray
    sl_needs_all_levels: BoolArray

    def __post_init__(self) -> None:
        m = self.entry_bar.shape[0]
        for name in ("market_entry", "n_levels", "take_profit_frac", "stop_loss_frac",
                     "trailing_activation_frac", "trailing_delta_frac", "time_limit_bars",
                     "tp_limit_order", "sl_needs_all_levels"):
            if getattr(self, name).shape != (m,):
                raise ValueError(f"PositionBatch.{name} has shape {getattr(self, name).shape}, "
                                 f"expected ({m},)")
        if self.level_price.ndim != 2 or self.level_price.shape != self.level_quote.shape \
                or self.level_price.shape[0] != m:
            raise ValueError(f"level_price {self.level_price.shape} and level_quote "
                             f"{self.level_quote.shape} must both be ({m}, L)")
        if m and (self.n_levels.min() < 1 or self.n_levels.max() > self.level_price.shape[1]):
            raise ValueError("n_levels must lie in [1, L]")


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Per-position outcome of :func:`simulate_positions`, arrays of shape ``(M,)``.

    Attributes:
        reason: ``int64`` code, names in :data:`EXIT_REASONS`.
        fill_bar: ``int64`` row of the first fill, -1 if none.
        exit_bar: ``int64`` row where the exit happened (NOT_FILLED: the expiry row), -1 if open.
        exit_on_open: ``bool`` the exit happened at that row's open (time limit, gap through a
            barrier) rather than inside its range.
        exit_price: ``float64`` quote per base, NaN if none.
        filled_base, filled_quote: ``float64`` amount bought (base) and its cost (quote).
        entry_fee_quote, exit_fee_quote: ``float64`` fees paid in quote.
        max_price, min_price: ``float64`` extremes of the replayed path while holding.
        levels_filled: ``int64`` grid levels filled (1 for a filled market entry).
        slippage_quote: ``float64`` quote lost to slippage on market fills, entry and exit.
        level_fills: ``(M, L, 4) float64`` per level (in fill order): base bought, its cost
            (quote, slippage included), fee (quote), candle row of the fill; rows past
            ``levels_filled`` are NaN.
    """

    reason: IntArray
    fill_bar: IntArray
    exit_bar: IntArray
    exit_on_open: BoolArray
    exit_price: FloatArray
    filled_base: FloatArray
    filled_quote: FloatArray
    entry_fee_quote: FloatArray
    exit_fee_quote: FloatArray
    max_price: FloatArray
    min_price: FloatArray
    levels_filled: IntArray
    slippage_quote: FloatArray
    level_fills: FloatArray

    @property
    def avg_entry_price(self) -> FloatArray:
        """Break-even-free average entry price (quote / base), NaN if nothing filled."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.filled_base > 0, self.filled_quote / self.filled_base, np.nan)

    @property
    def net_pnl_quote(self) -> FloatArray:
        """Proceeds - exit fee - cost - entry fees; NaN unless closed, 0 for NOT_FILLED."""
        closed = (self.reason != REASON_OPEN_AT_END) & (self.reason != REASON_NOT_FILLED)
        pnl = (self.filled_base * self.exit_price - self.exit_fee_quote - self.filled_quote
               - self.entry_fee_quote)
        out = np.where(closed, pnl, np.nan)
        return np.where(self.reason == REASON_NOT_FILLED, 0.0, out)

    @property
    def net_return_frac(self) -> FloatArray:
        """``net_pnl_quote / filled_quote`` (Hummingbot ``net_pnl_pct``); NaN unless closed."""
        closed = (self.reason != REASON_OPEN_AT_END) & (self.reason != REASON_NOT_FILLED)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(closed, self.net_pnl_quote / self.filled_quote, np.nan)


def _f64(a: npt.ArrayLike) -> FloatArray:
    return np.ascontiguousarray(a, dtype=np.float64)


def _i64(a: npt.ArrayLike) -> IntArray:
    return np.ascontiguousarray(a, dtype=np.int64)


def _bool(a: npt.ArrayLike) -> BoolArray:
    return np.ascontiguousarray(a, dtype=np.bool_)


def _candle_arrays(open_: FloatArray, high: FloatArray, low: FloatArray,
                   close: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    o, h, lo, c = _f64(open_), _f64(high), _f64(low), _f64(close)
    if o.ndim != 1 or not o.shape == h.shape == lo.shape == c.shape:
        raise ValueError("open, high, low and close must be 1-D arrays of one length")
    return o, h, lo, c


def _batch_arrays(
    batch: PositionBatch,
) -> tuple[IntArray, BoolArray, FloatArray, FloatArray, IntArray]:
    return (_i64(batch.entry_bar), _bool(batch.market_entry), _f64(batch.level_price),
            _f64(batch.level_quote), _i64(batch.n_levels))


def simulate_positions(
    open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray,
    batch: PositionBatch, maker_fee_frac: float, taker_fee_frac: float,
    tp_on_close: bool = False, slippage_frac: FloatArray | None = None,
    hummingbot_sim: bool = False,
) -> SimulationResult:
    """Replay ``M`` independent long positions over one pair's candles.

    Args:
        open_, high, low, close: ``(N,) float64`` candle prices in quote, rows on a regular
            interval grid (row ``k`` is the ``k``-th candle; no gaps).
        batch: entries and exit rules, see :class:`PositionBatch`.
        maker_fee_frac, taker_fee_frac: fee fractions of the notional (0.0016 = 0.16 %).
        tp_on_close: check the take profit (and trailing arming) against the close instead of
            the high.
        slippage_frac: ``(N,) float64`` fraction a market fill on row ``k`` trades worse than
            the replayed price (buys higher, sells lower; a marketable level never above its
            limit); ``None``: no slippage. Resting limit fills (grid levels, a limit take
            profit) get none.
        hummingbot_sim: replay as Hummingbot's backtesting ``PositionExecutorSimulator`` (market
            entries) and ``DCAExecutorSimulator`` (grids) do instead of as the live executors:
            entry at the close of the decision candle ``entry_bar - 1``, barriers on closes
            (stop loss on lows), exit at the close, one fee ``taker_fee_frac`` charged twice on
            the entry notional, time limit at the close of row ``entry_bar - 1 +
            time_limit_bars``, data end = time limit. ``tp_limit_order``,
            ``sl_needs_all_levels``, ``maker_fee_frac`` and ``tp_on_close`` are ignored.
            Differences are listed in ``training/backtest/parity.md``.

    Returns:
        :class:`SimulationResult`; positions whose ``entry_bar >= N`` come back OPEN_AT_END.

    Raises:
        ValueError: on inconsistent shapes, slippage with ``hummingbot_sim``, or (with
            ``hummingbot_sim``) an ``entry_bar`` outside ``1..N``.
    """
    o, h, lo, c = _candle_arrays(open_, high, low, close)
    eb, me, lp, lq, nl = _batch_arrays(batch)
    slip = np.zeros(o.shape[0]) if slippage_frac is None else _f64(slippage_frac)
    if slip.shape != o.shape:
        raise ValueError(f"slippage_frac has shape {slip.shape}, candles {o.shape}")
    if hummingbot_sim and slippage_frac is not None:
        raise ValueError("Hummingbot's simulators have no slippage; pass slippage_frac=None")
    if hummingbot_sim and eb.size and (eb.min() < 1 or eb.max() > o.shape[0]):
        raise ValueError("hummingbot_sim starts on row entry_bar - 1: entry_bar must be in 1..N")
    m = eb.shape[0]
    out_i = np.empty((m, 4), dtype=np.int64)
    out_f = np.empty((m, 8), dtype=np.float64)
    out_b = np.empty(m, dtype=np.bool_)
    out_lv = np.full((m, lp.shape[1], _LV_SIZE), np.nan)
    tp, sl = _f64(batch.take_profit_frac), _f64(batch.stop_loss_frac)
    act, delta = _f64(batch.trailing_activation_frac), _f64(batch.trailing_delta_frac)
    if hummingbot_sim:
        at_most, thr, delta_mult = _hb_dca_thresholds(batch)
        _hb_batch(lo, c, eb, me, lq, nl, tp, sl, act, delta, _i64(batch.time_limit_bars),
                  float(taker_fee_frac), at_most, thr, delta_mult, out_i, out_f, out_b, out_lv)
    else:
        _simulate_batch(o, h, lo, c, eb, me, lp, lq, nl, tp, sl, act, delta,
                        _i64(batch.time_limit_bars), _bool(batch.tp_limit_order),
                        _bool(batch.sl_needs_all_levels), float(maker_fee_frac),
                        float(taker_fee_frac), bool(tp_on_close), slip, out_i, out_f, out_b,
                        out_lv)
    return SimulationResult(
        reason=out_i[:, 0], fill_bar=out_i[:, 1], exit_bar=out_i[:, 2], exit_on_open=out_b,
        exit_price=out_f[:, 0], filled_base=out_f[:, 1], filled_quote=out_f[:, 2],
        entry_fee_quote=out_f[:, 3], exit_fee_quote=out_f[:, 4], max_price=out_f[:, 5],
        min_price=out_f[:, 6], levels_filled=out_i[:, 3], slippage_quote=out_f[:, 7],
        level_fills=out_lv,
    )


def _at_most(value: Decimal) -> float:
    """Largest float ``<= value``: ``close <= value`` (float vs exact Decimal, as pandas
    compares a float column with a Decimal) holds iff ``close <= _at_most(value)``."""
    x = float(value)
    return x if Decimal(x) <= value else float(np.nextafter(x, -np.inf))


def _at_least(value: Decimal) -> float:
    """Smallest float ``>= value`` (see :func:`_at_most`)."""
    x = float(value)
    return x if Decimal(x) >= value else float(np.nextafter(x, np.inf))


def _hb_dca_thresholds(batch: PositionBatch) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Float thresholds reproducing ``DCAExecutorSimulator``'s ``Decimal`` arithmetic.

    The simulator gets its prices and fractions as ``Decimal(repr(float))`` (our executor
    configs), computes each level's break-even ``sum(amount * price) / sum(amount)`` and the
    barrier prices ``break_even * (1 + tp)``, ``* (1 - sl)``, ``* (1 + activation)`` in
    ``Decimal``, and compares float candles with them exactly. Returns ``entry_at_most``
    ``(M, L)``, ``thr`` ``(M, L, 3)`` (take profit at least, stop loss at most, activation at
    least; NaN = off) and ``delta_mult`` ``(M,)`` = ``float(1 - trailing_delta)``.
    """
    m, width = batch.level_price.shape
    at_most = np.full((m, width), np.nan)
    thr = np.full((m, width, 3), np.nan)
    delta_mult = np.full(m, np.nan)
    for r in np.flatnonzero(~np.asarray(batch.market_entry, dtype=bool)):
        n = int(batch.n_levels[r])
        prices = [Decimal(repr(float(p))) for p in batch.level_price[r, :n]]
        amounts = [Decimal(repr(float(a))) for a in batch.level_quote[r, :n]]
        fracs = [None if f != f else Decimal(repr(float(f))) for f in
                 (batch.take_profit_frac[r], batch.stop_loss_frac[r],
                  batch.trailing_activation_frac[r], batch.trailing_delta_frac[r])]
        tp, sl, act, delta = fracs
        if delta is not None and act is not None:
            delta_mult[r] = float(1 - delta)
        for i in range(n):
            at_most[r, i] = _at_most(prices[i])
            # DCAExecutorSimulator.break_even_price_at_index, same operations in Decimal
            be = prices[i] if i == 0 else (
                sum((a * p for a, p in zip(amounts[:i + 1], prices[:i + 1], strict=True)),
                    Decimal(0)) / sum(amounts[:i + 1], Decimal(0)))
            if tp:
                thr[r, i, 0] = _at_least(be * (1 + tp * 1))
            if sl:
                thr[r, i, 1] = _at_most(be * (1 - sl * 1))
            if act and delta:
                thr[r, i, 2] = _at_least(be * (1 + act * 1))
    return at_most, thr, delta_mult


@dataclass(frozen=True, slots=True)
class BestExits:
    """Best ``(take profit, stop loss)`` pair per position, arrays of shape ``(M,)``.

    All NaN for a position that never filled or whose replay is still open at the data end for
    at least one pair of the grid (its best pair is unknown).

    ``resolved_ts`` (float seconds) is when the last replay of the grid ended (exit time as in
    :func:`hold_seconds`; the expiry candle's open when nothing filled): the regression targets
    use candles up to then, later than the position's own exit in general. NaN if a replay is
    still open at the data end.
    """

    take_profit_frac: FloatArray
    stop_loss_frac: FloatArray
    net_return_frac: FloatArray
    hold_s: FloatArray
    resolved_ts: FloatArray


def best_exits(
    open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray,
    timestamps: IntArray, interval_s: int, batch: PositionBatch,
    take_profit_grid: FloatArray, stop_loss_grid: FloatArray,
    maker_fee_frac: float, taker_fee_frac: float, tp_on_close: bool = False,
) -> BestExits:
    """Replay each position under every ``(tp, sl)`` of a grid; keep the best net return.

    ``batch.take_profit_frac`` / ``stop_loss_frac`` are ignored; everything else (entry,
    trailing, time limit, order types) is replayed as in :func:`simulate_positions`. Ties keep
    the tighter stop, then the nearer target (grids are scanned in ascending order and only a
    strictly better return replaces the incumbent).

    Args:
        timestamps: ``(N,) int64`` candle open times in seconds, for the hold time.
        interval_s: candle length in seconds.
        take_profit_grid, stop_loss_grid: ascending 1-D float64 fractions.

    Returns:
        :class:`BestExits`; ``hold_s`` is the hold under the best pair (see
        :func:`hold_seconds`).
    """
    o, h, lo, c = _candle_arrays(open_, high, low, close)
    eb, me, lp, lq, nl = _batch_arrays(batch)
    tpg = np.ascontiguousarray(take_profit_grid, dtype=np.float64)
    slg = np.ascontiguousarray(stop_loss_grid, dtype=np.float64)
    if tpg.ndim != 1 or slg.ndim != 1 or not (np.all(np.diff(tpg) > 0) and
                                                np.all(np.diff(slg) > 0)):
        raise ValueError("take_profit_grid and stop_loss_grid must be strictly ascending 1-D")
    out_f = np.empty((eb.shape[0], 5), dtype=np.float64)
    _best_batch(o, h, lo, c, np.ascontiguousarray(timestamps, dtype=np.int64), int(interval_s),
                eb, me, lp, lq, nl, _f64(batch.trailing_activation_frac),
                _f64(batch.trailing_delta_frac), _i64(batch.time_limit_bars),
                _bool(batch.tp_limit_order), _bool(batch.sl_needs_all_levels),
                float(maker_fee_frac), float(taker_fee_frac), bool(tp_on_close), tpg, slg, out_f)
    return BestExits(take_profit_frac=out_f[:, 0], stop_loss_frac=out_f[:, 1],
                     net_return_frac=out_f[:, 2], hold_s=out_f[:, 3], resolved_ts=out_f[:, 4])


def hold_seconds(result: SimulationResult, timestamps: IntArray,
                 interval_s: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Entry time, exit time and hold (seconds, float with NaN) of each replayed position.

    Entry time is the open of the first fill's candle (exact for a market entry; a limit fill
    happened somewhere inside that candle). Exit time is the candle's open for an exit at the
    open, else its close (``open + interval_s``): the moment a candle-level replay knows of the
    exit, and when the capital is free again.
    """
    ts = np.asarray(timestamps, dtype=np.int64)
    filled = result.fill_bar >= 0
    entry_ts = np.where(filled, ts[np.clip(result.fill_bar, 0, None)], np.nan)
    exited = result.exit_bar >= 0
    exit_ts = np.where(exited, ts[np.clip(result.exit_bar, 0, None)]
                       + np.where(result.exit_on_open, 0, interval_s), np.nan)
    closed = filled & exited & (result.reason != REASON_NOT_FILLED)
    return entry_ts, exit_ts, np.where(closed, exit_ts - entry_ts, np.nan)
