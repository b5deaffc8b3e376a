"""The result of one backtest run (the contract the HTML / PNG report reads) and how the event
loop's records become its frames."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from ml_signals.risk import GuardLock
from training.backtest.book import Book
from training.backtest.config import BacktestConfig, Mode, SliceName
from training.backtest.market import Market
from training.backtest.portfolio import Ledger
from training.labels.executor_walk import EXIT_REASONS, REASON_NOT_FILLED, REASON_OPEN_AT_END

TRADE_COLUMNS: Final = (
    "setup_id", "strategy", "pair", "decision_s", "entry_ts", "exit_ts", "entry_price",
    "exit_price", "amount_quote", "fees_quote", "slippage_quote", "net_pnl_quote",
    "net_return_frac", "exit_reason", "confidence", "size_multiplier",
)
"""Contract columns of ``BacktestResult.trades`` (more follow: ``placed_s``,
``committed_quote``, ``levels_filled``, ``fold``, ``model_version``, ``note``)."""

SKIP_COLUMNS: Final = ("setup_id", "strategy", "pair", "decision_s", "reason")
"""Contract columns of ``BacktestResult.skipped`` (then ``detail``, ``confidence``)."""


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """One portfolio backtest: a scope (one strategy or ``"combined"``), a mode and a slice.

    Attributes:
        trades: one row per position opened, :data:`TRADE_COLUMNS` first. ``decision_s`` the
            decision time; ``entry_ts`` when the first fill is done (the candle's open for a
            fill at the open, else its close); ``exit_ts`` when the exit is known (NaN while
            open); ``entry_price`` average fill price; ``amount_quote`` filled cost (slippage
            included); ``fees_quote`` entry + exit fees; ``slippage_quote`` quote lost to
            slippage; ``net_pnl_quote`` proceeds - exit fee - cost - entry fees (OPEN_AT_END:
            marked at the last close, exit fee not paid; NOT_FILLED: 0); ``net_return_frac``
            net PnL / filled cost; ``exit_reason`` TAKE_PROFIT / STOP_LOSS / TRAILING_STOP /
            TIME_LIMIT / NOT_FILLED (expired or cancelled unfilled, see ``note``) /
            OPEN_AT_END; ``confidence`` NaN rules-only; ``size_multiplier`` 1 rules-only.
        skipped: one row per setup not entered, :data:`SKIP_COLUMNS` first; ``reason`` is a
            guard name (``max_open_positions``, ``one_position_per_pair``, ``max_exposure``,
            ``daily_loss``, ``consecutive_losses``, ``crash_pause``, ``kill_switch``), or
            ``below_threshold``, ``conflict`` (same pair or opposing sides in one round),
            ``capital_limit`` (strategy allocation used up), ``insufficient_balance``;
            ``detail`` the sentence the rule gave.
        equity: ``timestamp`` (s), ``equity_quote``, ``cash_quote`` (quote balance, incl. what
            resting orders reserve), ``open_positions``; every ``config.equity_interval_s``.
        stats: :func:`training.backtest.stats.headline` (``sharpe`` = daily returns x
            sqrt(365)); per strategy under ``"per_strategy"``.
        config: the settings used.
        mode: ``"rules"`` or ``"ml"``.
        slice_name: ``"oof"`` (walk-forward test folds) or ``"quarantine"`` (newest 30 days).
        strategies: strategies in the portfolio.
        scope: a strategy name or ``"combined"``.
        window_s: ``(first decision, last decision)`` of the slice's setups (s).
        locks: guard locks set during the run (consecutive losses, kill switch).
    """

    trades: pd.DataFrame
    skipped: pd.DataFrame
    equity: pd.DataFrame
    stats: dict[str, Any]
    config: BacktestConfig
    mode: Mode
    slice_name: SliceName
    strategies: tuple[str, ...]
    scope: str
    window_s: tuple[int, int]
    locks: tuple[GuardLock, ...]


def trades_frame(book: Book, ledger: Ledger, market: Market) -> pd.DataFrame:
    """One row per opened position (see :class:`BacktestResult`), in placement order."""
    keys = np.array(sorted(ledger.opened, key=lambda k: (ledger.opened[k][0], k)),
                    dtype=np.int64)
    placed = np.array([ledger.opened[k][0] for k in keys], dtype=np.int64)
    end = np.array([ledger.opened[k][1] for k in keys], dtype=np.float64)
    reason = np.array([ledger.opened[k][2] for k in keys], dtype=np.int64)
    note = np.array([ledger.opened[k][3] for k in keys], dtype=object)
    nf, open_end = reason == REASON_NOT_FILLED, reason == REASON_OPEN_AT_END
    held = ~nf
    base = np.where(held, book.filled_base[keys], 0.0)
    cost = np.where(held, book.filled_quote[keys], 0.0)
    entry_fee = np.where(held, book.entry_fee_quote[keys], 0.0)
    mark = np.array([market.pairs[str(p)].mark_price(market.data_end_s) for p in
                     book.pair[keys]], dtype=np.float64) if keys.size else np.zeros(0)
    exit_price = np.where(open_end, mark, np.where(nf, np.nan, book.exit_price[keys]))
    exit_fee = np.where(nf | open_end, 0.0, book.exit_fee_quote[keys])
    pnl = np.where(nf, 0.0, base * np.nan_to_num(exit_price) - exit_fee - cost - entry_fee)
    with np.errstate(invalid="ignore", divide="ignore"):
        ret = np.where(cost > 0, pnl / cost, np.nan)
        entry_price = np.where(base > 0, cost / base, np.nan)
    first_fill = book.level_s[keys, 0] if keys.size else np.zeros(0)
    return pd.DataFrame({
        "setup_id": book.setup_id[keys].astype(str),
        "strategy": book.strategy[keys].astype(str),
        "pair": book.pair[keys].astype(str),
        "decision_s": book.decision_s[keys],
        "entry_ts": np.where(held & np.isfinite(first_fill), first_fill, np.nan),
        "exit_ts": np.where(open_end, np.nan, end),
        "entry_price": entry_price,
        "exit_price": exit_price,
        "amount_quote": cost,
        "fees_quote": entry_fee + exit_fee,
        "slippage_quote": np.where(held, np.nan_to_num(book.slippage_quote[keys]), 0.0),
        "net_pnl_quote": pnl,
        "net_return_frac": ret,
        "exit_reason": np.asarray(EXIT_REASONS, dtype=object)[reason],
        "confidence": book.confidence[keys],
        "size_multiplier": book.size_multiplier[keys],
        "placed_s": placed,
        "committed_quote": book.committed_quote[keys],
        "levels_filled": np.where(held, np.isfinite(book.level_s[keys]).sum(axis=1)
                                  if keys.size else 0, 0),
        "fold": book.fold[keys],
        "model_version": book.model_version[keys].astype(str),
        "note": note,
    })


def skipped_frame(book: Book, ledger: Ledger) -> pd.DataFrame:
    """One row per setup not entered, in decision order."""
    keys = np.array([k for k, _, _ in ledger.skipped], dtype=np.int64)
    return pd.DataFrame({
        "setup_id": book.setup_id[keys].astype(str),
        "strategy": book.strategy[keys].astype(str),
        "pair": book.pair[keys].astype(str),
        "decision_s": book.decision_s[keys],
        "reason": [r for _, r, _ in ledger.skipped],
        "detail": [d for _, _, d in ledger.skipped],
        "confidence": book.confidence[keys],
    })
