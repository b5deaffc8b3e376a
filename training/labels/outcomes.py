"""Training labels: each setup's exits replayed forward as Hummingbot's executors apply them.

For every :class:`~ml_signals.setups.base.Setup` of one pair, :func:`label_setups` replays the
setup's own :class:`~ml_signals.exits.ExitRules` on the candles that follow it (the outcome, the
win/loss label) and the same entry under a grid of take-profit / stop-loss pairs (the regression
targets ``best_take_profit_frac`` / ``best_stop_loss_frac`` / ``best_hold_s``; original plan,
"ML Pipeline", ``ML_CONFIG['dca_model']``: optimal take profit 3-15 %, optimal stop loss 5-12 %).
All setups run through one compiled kernel (:mod:`training.labels.batch`).

Which Hummingbot behaviour each rule follows (hummingbot 20260922,
``strategy_v2/executors/position_executor/position_executor.py``,
``strategy_v2/executors/dca_executor/dca_executor.py``):

Executor per entry type
    ``market`` entries are a ``PositionExecutor`` (one market buy); ``limit_grid`` entries are a
    ``DCAExecutor`` in ``DCAMode.MAKER`` (one ``LIMIT`` buy per level, all placed at start: with no
    activation bounds every level is within bounds).
Start and time limit
    The executor is created at the open of the candle after the setup candle (setup at row ``i``,
    start ``timestamp[i + 1]``); both executors expire at ``config.timestamp + time_limit``
    (``end_time``), i.e. counted from creation, so unfilled grid time counts too. The time-limit
    exit is a market sell at the open of row ``i + 1 + time_limit_s // interval_s`` (the first
    price at or after ``end_time``; exact when ``time_limit_s`` is a multiple of the interval,
    otherwise up to one candle early, never late). ``time_limit_s < interval_s`` is refused.
Fills
    Market entry: fills at the open of row ``i + 1``, taker fee. Grid level: buys
    ``amount_quote / price`` base; fills at its price when a candle's open or low reaches it
    (``low <= price``), maker fee; a candle that opens below a resting level fills it at the
    level price (what a resting limit gets; conservative). On row ``i + 1`` itself a level at or
    above that candle's open is marketable when placed (``OrderType.LIMIT`` crosses the book) and
    fills at the open with the taker fee. The setup candle itself never fills anything.
Barriers use Hummingbot's net PnL
    ``net_pnl_pct = (price - avg) / avg - fees_paid / filled_quote`` while open: entry fees are
    included, the future exit fee is not. ``avg`` is the average fill price (the DCA break-even
    ``current_position_average_price``), so DCA barriers move as levels fill.
    Stop loss: ``net <= -stop_loss``, market order (taker). ``DCAExecutor`` (MAKER) only arms it
    once **every** level has filled (``all_open_orders_executed``); configurable.
    Take profit: ``PositionExecutor`` with ``take_profit_order_type=LIMIT`` (our scripts) rests a
    sell at ``entry * (1 + take_profit)`` -> maker fee at that price; ``DCAExecutor`` closes with a
    market order when ``net > take_profit`` (taker). Both configurable in :class:`LabelConfig`.
    Trailing stop: ``TrailingStop(activation_price, trailing_delta)`` are net-PnL fractions; it
    arms when ``net > activation``, keeps ``trigger = best net - delta`` and closes at market
    (taker) when ``net < trigger``.
    Priority inside one check: stop loss, trailing stop, take profit, time limit (control order).
Candle-level assumptions (Hummingbot ticks every second; we have candles)
    Each candle is walked open -> low -> high -> close: stop loss before take profit when one
    candle touches both; the trailing stop arms on opens/highs and fires on a later open or low;
    a market entry's own candle can still hit its barriers. A barrier crossed inside a candle
    exits at the barrier price (no slippage); a gap through it at the open exits at the open.
    See :mod:`training.labels.executor_walk` for the exact walk. Spread and partial fills are
    ignored.
End of data
    A position (or an unfilled grid) still open on the last candle is ``OPEN_AT_END``: no return,
    no win/loss, excluded from training labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ml_signals.exits import POSITION_TAKE_PROFIT_ORDER
from ml_signals.setups.base import Setup
from training.labels.batch import (
    BestExits,
    PositionBatch,
    SimulationResult,
    best_exits,
    hold_seconds,
    simulate_positions,
)
from training.labels.executor_walk import (
    EXIT_REASONS,
    REASON_NOT_FILLED,
    REASON_OPEN_AT_END,
    FloatArray,
    IntArray,
)

LABEL_COLUMNS: Final[tuple[str, ...]] = (
    "setup_id", "filled", "entry_ts", "entry_price", "filled_quote", "levels_filled", "exit_ts",
    "exit_price", "exit_reason", "net_return_frac", "net_pnl_quote", "fees_quote", "hold_s",
    "mfe_frac", "mae_frac", "win", "best_take_profit_frac", "best_stop_loss_frac", "best_hold_s",
    "labels_resolved_ts",
)
"""Columns of :func:`label_setups`, in order."""


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Exchange fees as fractions of the traded notional, charged in quote.

    Defaults: Kraken spot base tier, maker 0.16 %, taker 0.26 % (original plan, "Hummingbot
    Paper Trading Features": "Exact Kraken fees (0.26%)").

    Raises:
        ValueError: if a fee is negative or not below 10 %.
    """

    maker_frac: float = 0.0016
    taker_frac: float = 0.0026

    def __post_init__(self) -> None:
        for name in ("maker_frac", "taker_frac"):
            value = getattr(self, name)
            if not 0.0 <= value < 0.1:
                raise ValueError(f"FeeSchedule.{name} must be in [0, 0.1), got {value}")


class LabelConfig(BaseModel):
    """How labels are replayed and which take-profit / stop-loss grid the targets search.

    The grid bounds come from the original plan (``ML_CONFIG['dca_model']``: optimal take profit
    3-15 %, optimal stop loss 5-12 %). Order types default to what the live scripts configure.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tp_grid_min_frac: float = Field(default=0.03, gt=0.0, lt=1.0)
    tp_grid_max_frac: float = Field(default=0.15, gt=0.0, lt=1.0)
    sl_grid_min_frac: float = Field(default=0.05, gt=0.0, lt=1.0)
    sl_grid_max_frac: float = Field(default=0.12, gt=0.0, lt=1.0)
    grid_step_frac: float = Field(default=0.01, gt=0.0, le=0.5)
    position_take_profit_order: Literal["limit", "market"] = POSITION_TAKE_PROFIT_ORDER
    """PositionExecutor ``take_profit_order_type``: LIMIT (maker, our scripts) or MARKET."""
    dca_take_profit_order: Literal["market", "limit"] = "market"
    """DCAExecutor closes its take profit at market; "limit" is a what-if, not Hummingbot."""
    dca_stop_loss_after_all_levels: bool = True
    """DCAExecutor MAKER mode arms the stop loss only once every level filled."""

    @model_validator(mode="after")
    def _ordered_bounds(self) -> LabelConfig:
        if self.tp_grid_min_frac > self.tp_grid_max_frac:
            raise ValueError("tp_grid_min_frac must be <= tp_grid_max_frac")
        if self.sl_grid_min_frac > self.sl_grid_max_frac:
            raise ValueError("sl_grid_min_frac must be <= sl_grid_max_frac")
        return self

    def take_profit_grid(self) -> FloatArray:
        """Ascending take-profit fractions from min to max (inclusive) by ``grid_step_frac``."""
        return _grid(self.tp_grid_min_frac, self.tp_grid_max_frac, self.grid_step_frac)

    def stop_loss_grid(self) -> FloatArray:
        """Ascending stop-loss fractions from min to max (inclusive) by ``grid_step_frac``."""
        return _grid(self.sl_grid_min_frac, self.sl_grid_max_frac, self.grid_step_frac)


def _grid(lo: float, hi: float, step: float) -> FloatArray:
    count = int(np.floor((hi - lo) / step + 1e-9)) + 1
    return np.round(lo + step * np.arange(count), 10)


@dataclass(frozen=True, slots=True)
class LabelOutcome:
    """The label of one setup: one row of :func:`label_setups` (same names and units).

    Timestamps are seconds UTC, ``None`` when absent; prices in quote; fractions 0.02 = 2 %.
    """

    setup_id: str
    filled: bool
    entry_ts: int | None
    entry_price: float
    filled_quote: float
    levels_filled: int
    exit_ts: int | None
    exit_price: float
    exit_reason: str
    net_return_frac: float
    net_pnl_quote: float
    fees_quote: float
    hold_s: int | None
    mfe_frac: float
    mae_frac: float
    win: bool
    best_take_profit_frac: float
    best_stop_loss_frac: float
    best_hold_s: int | None
    labels_resolved_ts: int | None


def label_setups(
    setups: Sequence[Setup],
    candles: pd.DataFrame,
    interval_s: int,
    fees: FeeSchedule = FeeSchedule(),  # noqa: B008 - frozen, immutable default
    config: LabelConfig = LabelConfig(),  # noqa: B008 - frozen, immutable default
) -> pd.DataFrame:
    """Replay every setup of one pair and return its label row.

    Args:
        setups: setups of a single pair; ``setup.bar_index`` is the row of the setup candle in
            ``candles``.
        candles: canonical candle frame (:mod:`ml_signals.candles`) of that pair, gap-free.
        interval_s: candle length in seconds (3600 for 1h).
        fees: maker / taker fee fractions.
        config: order types and the take-profit / stop-loss grid of the regression targets.

    Returns:
        DataFrame with columns :data:`LABEL_COLUMNS`, one row per setup in input order:
        ``setup_id`` (str); ``filled`` (bool); ``entry_ts`` (Int64, s, open of the first fill's
        candle); ``entry_price`` (average fill price, quote); ``filled_quote`` (cost of the filled
        base, quote); ``levels_filled`` (int); ``exit_ts`` (Int64, s: the candle's open for an
        exit at the open, its close for an exit inside it; NA if NOT_FILLED or OPEN_AT_END);
        ``exit_price``; ``exit_reason``
        (TAKE_PROFIT, STOP_LOSS, TRAILING_STOP, TIME_LIMIT, NOT_FILLED, OPEN_AT_END);
        ``net_return_frac`` (net PnL after both fees / filled quote; NaN for NOT_FILLED and
        OPEN_AT_END); ``net_pnl_quote`` (0 for NOT_FILLED, NaN for OPEN_AT_END); ``fees_quote``
        (entry + exit fees; entry fees only while OPEN_AT_END); ``hold_s`` (Int64, exit_ts -
        entry_ts); ``mfe_frac`` / ``mae_frac`` (highest / lowest price on the replayed path while
        holding, relative to the final average entry price; ``mae_frac <= 0``, gross of fees);
        ``win`` (``net_return_frac > 0``); ``best_take_profit_frac`` / ``best_stop_loss_frac``
        (the grid pair with the highest net return; ties -> tighter stop, then nearer target;
        NaN if not filled or some grid pair is still open at the data end) and ``best_hold_s``
        (Int64, hold under that pair). The setup's trailing stop and time limit are kept while
        the grid is searched. ``labels_resolved_ts`` (Int64, s): when every replay behind the
        row had ended (its own exit and every grid pair's; the expiry open when nothing filled),
        i.e. the last candle time the labels depend on -- use it, not ``exit_ts``, to purge a
        walk-forward split; NA while any replay is OPEN_AT_END.

    Raises:
        ValueError: setups of several pairs; candles not canonical or not on the
            ``interval_s`` grid; a ``bar_index`` outside the frame or whose timestamp differs
            from ``setup.timestamp``; a time limit shorter than one candle; a grid whose prices
            are not descending or an entry plan without amounts.
    """
    if interval_s <= 0:
        raise ValueError(f"interval_s must be > 0, got {interval_s}")
    pairs = sorted({s.pair for s in setups})
    if len(pairs) > 1:
        raise ValueError(f"label_setups takes the setups of one pair, got {pairs}")
    pair = pairs[0] if pairs else "?"
    ts, o, h, lo, c = _candle_columns(candles, interval_s, pair)
    batch = _build_batch(setups, ts, interval_s, config)
    sim = simulate_positions(o, h, lo, c, batch, fees.maker_frac, fees.taker_frac)
    best = best_exits(o, h, lo, c, ts, interval_s, batch, config.take_profit_grid(),
                      config.stop_loss_grid(), fees.maker_frac, fees.taker_frac)
    return _frame(setups, sim, best, ts, interval_s)


def label_setup(
    setup: Setup,
    candles: pd.DataFrame,
    interval_s: int,
    fees: FeeSchedule = FeeSchedule(),  # noqa: B008
    config: LabelConfig = LabelConfig(),  # noqa: B008
) -> LabelOutcome:
    """Label one setup (see :func:`label_setups`; same rules, same errors)."""
    row = label_setups([setup], candles, interval_s, fees, config).iloc[0]

    def _opt_int(value: object) -> int | None:
        return None if pd.isna(value) else int(value)  # type: ignore[call-overload]

    return LabelOutcome(
        setup_id=str(row["setup_id"]), filled=bool(row["filled"]),
        entry_ts=_opt_int(row["entry_ts"]), entry_price=float(row["entry_price"]),
        filled_quote=float(row["filled_quote"]), levels_filled=int(row["levels_filled"]),
        exit_ts=_opt_int(row["exit_ts"]), exit_price=float(row["exit_price"]),
        exit_reason=str(row["exit_reason"]), net_return_frac=float(row["net_return_frac"]),
        net_pnl_quote=float(row["net_pnl_quote"]), fees_quote=float(row["fees_quote"]),
        hold_s=_opt_int(row["hold_s"]), mfe_frac=float(row["mfe_frac"]),
        mae_frac=float(row["mae_frac"]), win=bool(row["win"]),
        best_take_profit_frac=float(row["best_take_profit_frac"]),
        best_stop_loss_frac=float(row["best_stop_loss_frac"]),
        best_hold_s=_opt_int(row["best_hold_s"]),
        labels_resolved_ts=_opt_int(row["labels_resolved_ts"]),
    )


def position_batch(setups: Sequence[Setup], timestamps: IntArray, interval_s: int,
                   config: LabelConfig = LabelConfig()) -> PositionBatch:  # noqa: B008
    """Kernel input for setups of one pair, built exactly as :func:`label_setups` builds it
    (entry on the candle after the setup, time limit in whole candles, order types from
    ``config``); the backtester replays its sized, scored setups through it.

    Args:
        timestamps: ``(N,) int64`` candle open times of the pair (the frame ``bar_index``
            refers to).

    Raises:
        ValueError: as :func:`label_setups` (bar index, time limit, grid shape).
    """
    return _build_batch(setups, np.asarray(timestamps, dtype=np.int64), interval_s, config)


def _candle_columns(candles: pd.DataFrame, interval_s: int,
                    pair: str) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Numpy columns of a canonical frame after checking the interval grid."""
    missing = [col for col in ("timestamp", "open", "high", "low", "close")
               if col not in candles.columns]
    if missing:
        raise ValueError(f"{pair}: candle frame lacks columns {missing}")
    ts = candles["timestamp"].to_numpy()
    if ts.dtype.kind not in "iu":
        raise ValueError(f"{pair}: candle timestamp must be integer seconds, got {ts.dtype}")
    ts = ts.astype(np.int64)
    steps = np.diff(ts)
    bad = np.flatnonzero(steps != interval_s)
    if bad.size:
        row = int(bad[0]) + 1
        raise ValueError(f"{pair}: candles are not on the {interval_s}s grid at row {row} "
                         f"(timestamp {ts[row]} follows {ts[row - 1]}); fill gaps first")
    cols = tuple(candles[col].to_numpy(dtype=np.float64) for col in ("open", "high", "low",
                                                                     "close"))
    return ts, cols[0], cols[1], cols[2], cols[3]


def _build_batch(setups: Sequence[Setup], ts: IntArray, interval_s: int,
                 config: LabelConfig) -> PositionBatch:
    """Kernel arrays for the setups (one Python pass over the setup objects)."""
    m = len(setups)
    width = max([len(s.entry.prices) for s in setups] + [1])
    level_price = np.full((m, width), np.nan)
    level_quote = np.zeros((m, width))
    n_levels = np.ones(m, dtype=np.int64)
    market = np.zeros(m, dtype=np.bool_)
    entry_bar = np.empty(m, dtype=np.int64)
    tl_bars = np.empty(m, dtype=np.int64)
    exits = np.full((m, 4), np.nan)  # tp, sl, trailing activation, trailing delta
    for k, setup in enumerate(setups):
        entry_bar[k] = _checked_bar(setup, ts) + 1
        tl_bars[k] = _time_limit_bars(setup, interval_s)
        rules = setup.exits
        exits[k] = (rules.take_profit_frac, rules.stop_loss_frac,
                    np.nan if rules.trailing_activation_frac is None
                    else rules.trailing_activation_frac,
                    np.nan if rules.trailing_delta_frac is None else rules.trailing_delta_frac)
        plan = setup.entry
        if plan.entry_type == "market":
            if len(plan.amounts_quote) != 1:
                raise ValueError(f"{setup.setup_id}: a market entry needs exactly one quote "
                                 f"amount, got {len(plan.amounts_quote)}")
            market[k] = True
            level_quote[k, 0] = plan.amounts_quote[0]
            continue
        prices = np.asarray(plan.prices, dtype=np.float64)
        if prices.size == 0 or np.any(np.diff(prices) > 0):
            raise ValueError(f"{setup.setup_id}: grid prices must be non-empty and descending, "
                             f"got {plan.prices}")
        n_levels[k] = prices.size
        level_price[k, :prices.size] = prices
        level_quote[k, :prices.size] = plan.amounts_quote
    tp_limit = np.where(market, config.position_take_profit_order == "limit",
                        config.dca_take_profit_order == "limit")
    sl_all = np.where(market, False, config.dca_stop_loss_after_all_levels)
    return PositionBatch(
        entry_bar=entry_bar, market_entry=market, level_price=level_price,
        level_quote=level_quote, n_levels=n_levels, take_profit_frac=exits[:, 0],
        stop_loss_frac=exits[:, 1], trailing_activation_frac=exits[:, 2],
        trailing_delta_frac=exits[:, 3], time_limit_bars=tl_bars,
        tp_limit_order=tp_limit.astype(np.bool_), sl_needs_all_levels=sl_all.astype(np.bool_),
    )


def _checked_bar(setup: Setup, ts: IntArray) -> int:
    i = setup.bar_index
    if not 0 <= i < ts.shape[0]:
        raise ValueError(f"{setup.pair}: setup {setup.setup_id} has bar_index {i} outside the "
                         f"{ts.shape[0]} candles")
    if int(ts[i]) != setup.timestamp:
        raise ValueError(f"{setup.pair}: setup {setup.setup_id} has bar_index {i} but candle "
                         f"{i} opens at {int(ts[i])}, not {setup.timestamp}")
    return i


def _time_limit_bars(setup: Setup, interval_s: int) -> int:
    bars = setup.exits.time_limit_s // interval_s
    if bars < 1:
        raise ValueError(f"{setup.pair}: setup {setup.setup_id} has time_limit_s "
                         f"{setup.exits.time_limit_s} < one {interval_s}s candle")
    return int(bars)


def _frame(setups: Sequence[Setup], sim: SimulationResult, best: BestExits, ts: IntArray,
           interval_s: int) -> pd.DataFrame:
    """Assemble the label frame from kernel outputs (vectorised)."""
    filled = sim.filled_base > 0
    entry_ts, exit_ts, hold = hold_seconds(sim, ts, interval_s)
    avg = sim.avg_entry_price
    net_ret = sim.net_return_frac
    reasons = np.asarray(EXIT_REASONS, dtype=object)[sim.reason]
    not_filled = sim.reason == REASON_NOT_FILLED
    open_end = sim.reason == REASON_OPEN_AT_END
    with np.errstate(invalid="ignore", divide="ignore"):
        mfe = np.where(filled, sim.max_price / avg - 1.0, np.nan)
        mae = np.where(filled, np.minimum(sim.min_price / avg - 1.0, 0.0), np.nan)
    fees_quote = sim.entry_fee_quote + np.where(open_end, 0.0, sim.exit_fee_quote)
    own_end = np.where(open_end, np.nan, exit_ts)  # NOT_FILLED: the expiry candle's open
    resolved = np.maximum(own_end, best.resolved_ts)  # NaN if either is unresolved
    # pandas-stubs has no pd.array overload for whole-number floats (NaN = missing) -> Int64,
    # which pandas converts exactly; hence the three call-overload ignores below
    frame = pd.DataFrame({
        "setup_id": [s.setup_id for s in setups],
        "filled": filled,
        "entry_ts": pd.array(entry_ts, dtype="Int64"),  # type: ignore[call-overload]
        "entry_price": avg,
        "filled_quote": sim.filled_quote,
        "levels_filled": sim.levels_filled,
        "exit_ts": pd.array(np.where(not_filled, np.nan, exit_ts), dtype="Int64"),
        "exit_price": sim.exit_price,
        "exit_reason": reasons,
        "net_return_frac": net_ret,
        "net_pnl_quote": sim.net_pnl_quote,
        "fees_quote": fees_quote,
        "hold_s": pd.array(hold, dtype="Int64"),  # type: ignore[call-overload]
        "mfe_frac": mfe,
        "mae_frac": mae,
        "win": np.nan_to_num(net_ret, nan=0.0) > 0,
        "best_take_profit_frac": best.take_profit_frac,
        "best_stop_loss_frac": best.stop_loss_frac,
        "best_hold_s": pd.array(best.hold_s, dtype="Int64"),  # type: ignore[call-overload]
        "labels_resolved_ts": pd.array(resolved, dtype="Int64"),
    })
    return frame.loc[:, list(LABEL_COLUMNS)]
