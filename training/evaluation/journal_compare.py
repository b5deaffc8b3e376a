"""Paper / live outcomes from the trade journal next to what the backtest promised.

``python -m training journal-compare`` reads closed trades back from the journal (SQLite by
default, Supabase when ``SUPABASE_URL`` and a key are set) and, per strategy, sets their
trades, win rate, expectancy and profit factor after fees beside the published artifact's
out-of-fold and quarantined-30-days figures for ML-approved setups.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml_signals.scoring.artifact import current_version_dir
from training.evaluation.metrics import trade_stats

COLUMNS = ("strategy", "source", "trades", "win_rate", "expectancy_frac", "profit_factor",
           "net_pnl_quote")


def live_stats(trades: pd.DataFrame) -> pd.DataFrame:
    """Per-strategy stats of closed journal trades (``pnl_frac``, ``pnl_quote`` after fees).

    Args:
        trades: :func:`ml_signals.journal.readback.load_closed_trades` output.
    """
    rows = []
    for strategy, group in trades.groupby("strategy", sort=True):
        st = trade_stats(group["pnl_frac"].to_numpy(np.float64),
                         group["pnl_quote"].to_numpy(np.float64))
        rows.append({"strategy": strategy, "source": "journal", **st.to_dict()})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def backtest_stats(models_dir: Path, strategies: list[str]) -> pd.DataFrame:
    """ML-approved stats stored in each strategy's current artifact manifest (``null`` metrics
    stay NaN); strategies without an artifact are left out."""
    rows = []
    for strategy in strategies:
        folder = current_version_dir(models_dir, strategy)
        if folder is None:
            continue
        metrics: dict[str, Any] = json.loads((folder / "manifest.json").read_text())["metrics"]
        for key, source in (("overall_out_of_fold", "backtest out-of-fold"),
                            ("quarantine", "backtest newest 30d")):
            approved = (metrics.get(key) or {}).get("ml_approved") or {}
            rows.append({"strategy": strategy, "source": source,
                         **{c: approved.get(c) for c in COLUMNS[2:]}})
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.fillna({c: np.nan for c in COLUMNS[2:]})


def compare(trades: pd.DataFrame, models_dir: Path) -> pd.DataFrame:
    """Journal stats and backtest stats, one block per strategy."""
    live = live_stats(trades)
    strategies = sorted(set(live["strategy"]) | {"dca", "swing", "channel"})
    both = pd.concat([live, backtest_stats(models_dir, strategies)], ignore_index=True)
    return both.sort_values(["strategy", "source"], kind="stable").reset_index(drop=True)
