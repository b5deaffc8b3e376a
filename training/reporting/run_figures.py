"""Which figures of a training run the HTML report shows: scopes, slices, modes, the trades
and statistics of each cell, and the cost note under them.

A cell is ``(scope, mode, slice)``: scope a strategy or ``"combined"``; mode ``"rules"`` (every
setup) or ``"ml"`` (the setups the ex-ante rule took); slice ``"oof"`` (walk-forward test folds)
or ``"quarantine"`` (the newest 30 days). With backtests the figures are the backtest's; without,
the per-setup label statistics of :mod:`training.models.train`'s out-of-fold scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd

from training.backtest import BacktestResult
from training.evaluation.metrics import EvalMetrics, trade_stats
from training.pipeline import StrategyRun, TrainingRun

SLICES: Final[tuple[tuple[str, str], ...]] = (
    ("oof", "Out-of-sample (walk-forward test folds)"),
    ("quarantine", "Quarantine (newest 30 days)"),
)
MODES: Final[tuple[tuple[str, str], ...]] = (("rules", "rules only"), ("ml", "ML-filtered"))
COMBINED: Final = "combined"
QUARANTINE_NOTE: Final = "quarantine = newest 30 days, never used to fit or tune"

Backtests = Mapping[tuple[str, str, str], BacktestResult]
"""Keyed ``(scope, mode, slice)``: scope a strategy or ``"combined"``, mode ``"rules"`` /
``"ml"``, slice ``"oof"`` / ``"quarantine"``."""


def report_scopes(run: TrainingRun, backtests: Backtests | None) -> list[str]:
    """The run's strategies, plus ``"combined"`` when the backtests have it (or, without
    backtests, when there are several strategies)."""
    scopes: list[str] = list(run.strategies)
    has_combined = (any(k[0] == COMBINED for k in backtests) if backtests is not None
                    else len(scopes) > 1)
    return [*scopes, COMBINED] if has_combined else scopes


def usable_rows(sr: StrategyRun) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Rows usable as labels (filled and resolved), as training decided."""
    usable = sr.result.trainable
    return usable if usable is not None else np.ones(len(sr.dataset.frame), dtype=bool)


def label_rows(sr: StrategyRun, slice_name: str, mode: str) -> pd.DataFrame:
    """The label rows the walk-forward evaluated for a slice: tested (or quarantined), usable
    rows; ML keeps those the ex-ante decision rule took (as :mod:`training.models.train`)."""
    oof = sr.result.oof
    fold = oof["fold"].to_numpy()
    rows = usable_rows(sr) & ((fold > 0) if slice_name == "oof" else (fold == -1))
    if mode == "ml":
        rows &= oof["take"].to_numpy(dtype=bool)
    frame = sr.dataset.frame.loc[rows].copy()
    frame["strategy"] = sr.dataset.strategy
    frame["confidence"] = oof.loc[rows, "confidence"]
    frame["slippage_quote"] = 0.0  # labels replay exits without slippage
    return frame


def scope_trades(run: TrainingRun, backtests: Backtests | None, scope: str, mode: str,
                 slice_name: str) -> pd.DataFrame | None:
    """Trades of a cell: the backtest's, else the label rows (fallback). ``None``: no data."""
    if backtests is not None:
        bt = backtests.get((scope, mode, slice_name))
        return None if bt is None else bt.trades
    names = list(run.strategies) if scope == COMBINED else [scope]
    frames = [label_rows(run.strategies[s], slice_name, mode) for s in names]  # type: ignore[index]
    return pd.concat(frames, ignore_index=True) if frames else None


def scope_stats(run: TrainingRun, backtests: Backtests | None, scope: str, mode: str,
                slice_name: str) -> Mapping[str, Any] | None:
    """Statistics of a cell: the backtest's ``stats``, else the per-setup label metrics
    (combined: :func:`training.evaluation.metrics.trade_stats` of the label rows). ``None``: no
    data."""
    if backtests is not None:
        bt = backtests.get((scope, mode, slice_name))
        return None if bt is None else bt.stats
    if scope != COMBINED:
        res = run.strategies[scope].result  # type: ignore[index]
        m: EvalMetrics | None = res.overall if slice_name == "oof" else res.quarantine
        if m is None:
            return None
        return (m.all_setups if mode == "rules" else m.ml_approved).to_dict()
    rows = scope_trades(run, None, scope, mode, slice_name)
    if rows is None:
        return None
    return trade_stats(rows["net_return_frac"].to_numpy(float),
                       rows["net_pnl_quote"].to_numpy(float),
                       rows["filled_quote"].to_numpy(float)).to_dict()


def quote_currency(run: TrainingRun) -> str:
    """The pairs' quote currency, or ``"quote"`` when they have several."""
    quotes = {pair.rsplit("-", 1)[-1] for pair in run.candle_sets}
    return quotes.pop() if len(quotes) == 1 else "quote"


def fee_note(run: TrainingRun, backtests: Backtests | None = None) -> str:
    """Which costs the numbers are after: the label fees, or the backtest's fees (its own
    override, else the run's) plus its slippage model."""
    maker, taker = run.fees.maker_frac, run.fees.taker_frac
    if not backtests:
        return f"after Kraken fees {maker * 100:.2f} % maker / {taker * 100:.2f} % taker"
    config = next(iter(backtests.values())).config
    maker = getattr(config, "maker_fee_frac", None) or maker
    taker = getattr(config, "taker_fee_frac", None) or taker
    return (f"after Kraken fees {maker * 100:.2f} % maker / {taker * 100:.2f} % taker and "
            "market-fill slippage")


# --- sections -----------------------------------------------------------------------------
