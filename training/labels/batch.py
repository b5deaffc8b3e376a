"""The exit kernel's batch drivers: many positions on one pair's candles in one compiled call.

:func:`simulate_positions` replays ``M`` positions (:class:`PositionBatch` in,
:class:`SimulationResult` out) with the executor-semantics walk
(:func:`training.labels.executor_walk.simulate_one`) or, with ``hummingbot_sim=True``, with the
Hummingbot-simulator replicas (:mod:`training.labels.hb_parity`); :func:`best_exits` searches a
take-profit / stop-loss grid per position (the regression targets of
:mod:`training.labels.outcomes`); :func:`hold_seconds` turns replayed rows into times.
Rules and assumptions: ``training/backtest/parity.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from training.labels.executor_walk import (
    _LV_SIZE,
    REASON_NOT_FILLED,
    REASON_OPEN_AT_END,
    BoolArray,
    FloatArray,
    IntArray,
    _store,
    simulate_one,
)
from training.labels.hb_parity import _hb_batch, _hb_dca_thresholds
from training.labels.jit import compiled


@compiled
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


@compiled
def _net_return(res: tuple[Any, ...]) -> float:
    """Net return fraction of a closed replay (NaN when nothing closed)."""
    reason = res[0]
    if reason == REASON_OPEN_AT_END or reason == REASON_NOT_FILLED:
        return np.nan
    base, exit_price, quote, entry_fee, exit_fee = res[5], res[4], res[6], res[7], res[8]
    return float((base * exit_price - exit_fee - quote - entry_fee) / quote)


@compiled
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
