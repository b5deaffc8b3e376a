"""The exit kernel's Hummingbot-simulator parity mode.

Replicas of ``hummingbot.strategy_v2.backtesting.executors_simulator`` (hummingbot 20260922)
``PositionExecutorSimulator`` and ``DCAExecutorSimulator`` (MAKER mode, BUY side), so parity with
them can be checked to float precision; ``training/backtest/parity.md`` lists every difference
from the executor replay (:mod:`training.labels.executor_walk`). The simulators start on the
decision candle ``s = entry_bar - 1`` (the backtesting engine slices its frame from the row the
controller decided on) and read its close as the entry price; rows ``s .. s + time_limit_bars``
(data end at the latest) are replayed. The batch driver that runs them is
``_hb_batch`` in :mod:`training.labels.batch` (``simulate_positions(..., hummingbot_sim=True)``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from training.labels.executor_walk import (
    _LV_BAR,
    _LV_BASE,
    _LV_FEE,
    _LV_QUOTE,
    _NONE,
    REASON_NOT_FILLED,
    REASON_STOP_LOSS,
    REASON_TAKE_PROFIT,
    REASON_TIME_LIMIT,
    REASON_TRAILING_STOP,
    BoolArray,
    FloatArray,
    IntArray,
    _store,
)
from training.labels.jit import compiled

if TYPE_CHECKING:
    from training.labels.batch import PositionBatch


@compiled
def _hb_growth(close: FloatArray, frm: int, to: int) -> float:
    """``(1 + close.pct_change()).cumprod()`` from row ``frm`` (1.0) to row ``to``, computed the
    way pandas does (same operations, same order) so the float result is identical."""
    g = 1.0
    for k in range(frm + 1, to + 1):
        g *= 1.0 + (close[k] / close[k - 1] - 1.0)
    return g


@compiled
def _hb_last_row(n: int, s: int, time_limit_bars: int) -> int:
    return n - 1 if time_limit_bars <= 0 else min(n - 1, s + time_limit_bars)


@compiled
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


@compiled
def _hb_first(close: FloatArray, frm: int, last: int, at_most: float) -> int:
    """First row in ``frm..last`` whose close is ``<= at_most``, -1 if none."""
    for k in range(frm, last + 1):
        if close[k] <= at_most:
            return k
    return -1


@compiled
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


@compiled
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


@compiled
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
