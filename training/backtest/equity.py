"""Equity curve on a regular time grid, built vectorised from the positions a run opened.

Each fill adds its base to the pair's holdings and takes its cost and fee from the quote
balance at the first grid time at or after the fill is done; each close removes the base and
adds the proceeds net of the exit fee. Cumulative sums give balance and holdings per grid
time; holdings are valued at the newest close (the same rule the event loop marks equity with,
:meth:`training.backtest.portfolio.PortfolioRun.equity_at`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from training.backtest.book import Book
from training.backtest.market import Market
from training.labels.executor_walk import REASON_NOT_FILLED, REASON_OPEN_AT_END

EQUITY_COLUMNS = ("timestamp", "equity_quote", "cash_quote", "open_positions")
"""Columns of the equity frame."""


def equity_curve(book: Book, opened: Mapping[int, tuple[int, float, int, str]], market: Market,
                 start_capital_quote: float, start_s: int, end_s: int,
                 step_s: int) -> pd.DataFrame:
    """Equity, quote balance and open positions every ``step_s`` from ``start_s`` to the
    first grid time at or after ``end_s``.

    Args:
        book: candidates of the run.
        opened: per opened key ``(placed_s, end_s, reason, note)`` (``Ledger.opened``).
        start_s: first grid time (s); end_s: the last event of the run.

    Returns:
        DataFrame with :data:`EQUITY_COLUMNS`; ``timestamp`` int64 s, money in quote.
    """
    n_steps = int(np.ceil(max(end_s - start_s, 0) / step_s)) + 1
    grid = start_s + step_s * np.arange(n_steps, dtype=np.int64)
    size = grid.size + 1  # events after the last grid time land in the spare slot
    cash = np.zeros(size)
    count = np.zeros(size)
    holdings: dict[str, npt.NDArray[np.float64]] = {}
    for k, (placed, end, reason, _) in opened.items():
        end_t = np.inf if np.isnan(end) else end
        np.add.at(count, np.searchsorted(grid, placed), 1.0)
        if np.isfinite(end_t):
            np.add.at(count, np.searchsorted(grid, end_t), -1.0)
        times = book.level_s[k]
        fills = np.isfinite(times) & (times <= end_t)
        if not fills.any():
            continue
        pair = str(book.pair[k])
        held = holdings.setdefault(pair, np.zeros(size))
        at = np.searchsorted(grid, times[fills])
        np.add.at(held, at, book.level_base[k][fills])
        np.add.at(cash, at, -(book.level_cost[k][fills] + book.level_fee[k][fills]))
        if reason not in (REASON_NOT_FILLED, REASON_OPEN_AT_END):
            j = np.searchsorted(grid, end_t)
            held[j] -= float(book.level_base[k][fills].sum())
            cash[j] += float(book.filled_base[k] * book.exit_price[k] - book.exit_fee_quote[k])
    balance = start_capital_quote + np.cumsum(cash)[:-1]
    value = np.zeros(grid.size)
    for pair, held in holdings.items():
        value += np.cumsum(held)[:-1] * market.pairs[pair].mark_price(grid)
    return pd.DataFrame({
        "timestamp": grid,
        "equity_quote": balance + value,
        "cash_quote": balance,
        "open_positions": np.cumsum(count)[:-1].astype(np.int64),
    })
