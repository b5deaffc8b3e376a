"""Training summary: a printed table and a JSON + Markdown file per run.

Computation lives in :mod:`training.models.train` and :mod:`training.evaluation.metrics`; this
module formats.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from training.evaluation.metrics import EvalMetrics
from training.reporting.formatting import metric, text_table

HEADER = (
    "strategy", "slice", "setups", "base win", "AUC", "Brier", "ECE", "prec@thr",
    "approved", "exp all", "PF all", "exp ML", "PF ML",
)


def metric_row(strategy: str, slice_name: str, m: EvalMetrics | None) -> list[str]:
    """One table row; expectancy shown in percent per trade after fees."""
    if m is None:
        return [strategy, slice_name, "0", *["-"] * (len(HEADER) - 3)]
    return [
        strategy, slice_name, str(m.setups), metric(m.base_win_rate), metric(m.auc),
        metric(m.brier), metric(m.calibration_error), metric(m.precision_at_threshold),
        str(m.approved), metric(m.all_setups.expectancy_frac, pct=True),
        metric(m.all_setups.profit_factor, digits=2),
        metric(m.ml_approved.expectancy_frac, pct=True),
        metric(m.ml_approved.profit_factor, digits=2),
    ]


def render_table(rows: list[list[str]]) -> str:
    """Fixed-width text table with :data:`HEADER`."""
    return text_table(HEADER, rows)


def write_summary(run_dir: Path, table: str, summary: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``summary.json`` and ``summary.md`` into ``run_dir``; return their paths."""
    run_dir.mkdir(parents=True, exist_ok=True)
    json_path = run_dir / "summary.json"
    json_path.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    md_path = run_dir / "summary.md"
    md_path.write_text(
        "# Training run\n\nOut-of-sample (walk-forward folds) and the quarantined newest 30 days; "
        "expectancy is the mean net return per trade after fees; PF is profit factor; "
        "ML = setups with calibrated confidence at or above the threshold.\n\n```\n"
        + table + "\n```\n",
        encoding="utf-8",
    )
    return json_path, md_path


BACKTEST_HEADER = (
    "scope", "slice", "mode", "trades", "win rate", "PF", "expectancy", "Sharpe", "max DD",
    "total return",
)


def backtest_rows(backtests: Mapping[tuple[str, str, str], Any]) -> list[list[str]]:
    """Headline rows of portfolio backtests keyed ``(scope, mode, slice)``; rules-only and ML
    next to each other per scope and slice."""
    rows = []
    order = lambda k: (k[0] == "combined", k[0], k[2] != "oof", k[1] != "rules")  # noqa: E731
    for key in sorted(backtests, key=order):
        scope, mode, slice_name = key
        st = backtests[key].stats
        rows.append([
            scope, "out-of-fold" if slice_name == "oof" else "newest 30d", mode,
            str(st.get("trades", 0)), metric(st.get("win_rate")),
            metric(st.get("profit_factor"), digits=2), metric(st.get("expectancy_frac"), pct=True),
            metric(st.get("sharpe"), digits=2),
            metric(-abs(st.get("max_drawdown_frac") or 0.0) or 0.0, pct=True),
            metric(st.get("total_return_frac"), pct=True),
        ])
    return rows
