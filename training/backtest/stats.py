"""Headline statistics of a backtest (pure functions of the trades and the equity curve).

Definitions (money after fees and slippage; a "trade" is a position that filled and closed:
TAKE_PROFIT, STOP_LOSS, TRAILING_STOP or TIME_LIMIT):

* ``win_rate``: share of trades with ``net_pnl_quote > 0``;
* ``profit_factor``: gross profit / gross loss of the trades (``inf`` without a loss);
* ``expectancy_frac``: mean ``net_return_frac`` per trade (every trade counts the same);
* ``weighted_return_frac``: total net PnL of the trades / their total filled cost (a partly
  filled DCA grid weighs less than a full one): ``capital_return_frac`` of
  :func:`training.evaluation.metrics.trade_stats`;
* ``sharpe``: mean / standard deviation (ddof 1) of **daily** equity returns (equity at each
  00:00 UTC of the curve, plus its first and last point) x ``sqrt(365)`` -- crypto trades every
  day; no risk-free rate;
* ``max_drawdown_frac``: largest fall of the hourly equity below its running peak, / peak;
* ``total_return_frac``: final equity / starting capital - 1.

NaN where undefined (no trade, fewer than two daily returns, zero volatility).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from ml_signals.risk.types import DAY_S
from training.evaluation import metrics

CLOSED_REASONS: Final = ("TAKE_PROFIT", "STOP_LOSS", "TRAILING_STOP", "TIME_LIMIT")
"""Exit reasons of a filled, closed trade."""


def trade_figures(trades: pd.DataFrame) -> dict[str, Any]:
    """Trade-level figures of a backtest's ``trades`` frame (see the module docstring); needs
    ``exit_reason``, ``net_pnl_quote``, ``net_return_frac``, ``fees_quote``, ``slippage_quote``,
    ``entry_ts``, ``exit_ts``; ``weighted_return_frac`` also ``amount_quote`` (NaN without it).
    The per-trade statistics are :func:`training.evaluation.metrics.trade_stats` of the closed
    trades."""
    closed = trades[trades["exit_reason"].isin(CLOSED_REASONS)]
    pnl = closed["net_pnl_quote"].to_numpy(dtype=np.float64)
    committed = (closed["amount_quote"].to_numpy(dtype=np.float64)
                 if "amount_quote" in closed else None)
    core = metrics.trade_stats(closed["net_return_frac"].to_numpy(dtype=np.float64), pnl,
                               committed)
    reasons = trades["exit_reason"].value_counts()
    return {
        "trades": core.trades,
        "win_rate": core.win_rate,
        "profit_factor": core.profit_factor,
        "expectancy_frac": core.expectancy_frac,
        "weighted_return_frac": core.capital_return_frac,
        "net_pnl_quote": float(trades["net_pnl_quote"].sum()),
        "fees_quote": float(trades["fees_quote"].sum()),
        "slippage_quote": float(trades["slippage_quote"].sum()),
        "exit_reasons": {str(k): int(v) for k, v in reasons.items()},
        "avg_hold_s": float((closed["exit_ts"] - closed["entry_ts"]).mean())
        if pnl.size else np.nan,
    }


def equity_stats(equity: pd.DataFrame, start_capital_quote: float) -> dict[str, float]:
    """Curve-level figures: ``sharpe``, ``max_drawdown_frac``, ``total_return_frac``."""
    eq = equity["equity_quote"].to_numpy(dtype=np.float64)
    ts = equity["timestamp"].to_numpy(dtype=np.int64)
    if eq.size == 0:
        return {"sharpe": np.nan, "max_drawdown_frac": np.nan, "total_return_frac": np.nan}
    daily_points = (ts % DAY_S == 0)
    daily_points[0] = daily_points[-1] = True
    daily = eq[daily_points]
    rets = np.diff(daily) / daily[:-1]
    sd = rets.std(ddof=1) if rets.size >= 2 else np.nan
    sharpe = float(rets.mean() / sd * np.sqrt(365.0)) if sd and np.isfinite(sd) else np.nan
    peak = np.maximum.accumulate(eq)
    return {
        "sharpe": sharpe,
        "max_drawdown_frac": float(np.max(1.0 - eq / peak)),
        "total_return_frac": float(eq[-1] / start_capital_quote - 1.0),
    }


def headline(trades: pd.DataFrame, skipped: pd.DataFrame, equity: pd.DataFrame,
             start_capital_quote: float, strategies: tuple[str, ...]) -> dict[str, Any]:
    """All statistics: the headline figures, counts, and ``per_strategy`` trade figures (with
    ``return_on_capital_frac`` = the strategy's net PnL / starting capital)."""
    stats: dict[str, Any] = {**trade_figures(trades), **equity_stats(equity, start_capital_quote)}
    stats["positions_opened"] = int(len(trades))
    stats["not_filled"] = int((trades["exit_reason"] == "NOT_FILLED").sum())
    stats["open_at_end"] = int((trades["exit_reason"] == "OPEN_AT_END").sum())
    stats["skipped"] = {str(k): int(v) for k, v in skipped["reason"].value_counts().items()}
    stats["final_equity_quote"] = float(equity["equity_quote"].iloc[-1]) if len(equity) else \
        start_capital_quote
    per = {}
    for strategy in strategies:
        sub = trades[trades["strategy"] == strategy]
        figures = trade_figures(sub)
        figures["return_on_capital_frac"] = figures["net_pnl_quote"] / start_capital_quote
        figures["skipped"] = int((skipped["strategy"] == strategy).sum())
        per[strategy] = figures
    stats["per_strategy"] = per
    return stats
