"""HTML page of ``python -m training evaluate``: the evidence table, exits and the portfolio
backtest, built from the same rows the console prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from training.reporting.evidence import EVIDENCE_HEADER, evidence_rows
from training.reporting.formatting import metric, signed_pct
from training.reporting.render import read_asset, render
from training.reporting.text import BACKTEST_HEADER, backtest_rows


def write_evaluation_report(run_dir: Path, result: Any, summary: dict[str, Any]) -> Path:
    """Write ``index.html`` and ``evaluation.json`` into ``run_dir``; return the HTML path.

    Args:
        run_dir: output folder (created).
        result: :class:`training.evaluation.evaluate.EvaluationRun`.
        summary: :func:`training.evaluation.evaluate.json_summary` of it.

    Raises:
        OSError: the folder or a file cannot be written.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    ev_rows = [r for s, ev in result.strategies.items()
               for r in evidence_rows(s, {"oof": ev.evidence}, "unseen candles")]
    exit_rows = []
    for s, ev in summary["strategies"].items():
        for kind in ("fixed", "model"):
            st = ev["exits"][kind]
            exit_rows.append([s, kind, st["trades"], signed_pct(st["capital_return_frac"]),
                              signed_pct(st["expectancy_frac"]),
                              metric(st["profit_factor"], digits=2)])
    versions = ", ".join(f"{s} {ev['version']} ({ev['in_sample']} in-sample setups left out)"
                         for s, ev in summary["strategies"].items())
    page = render("evaluation_report.html", css=read_asset("evaluation.css").strip(),
                  versions=versions, evidence_head=EVIDENCE_HEADER, evidence_rows=ev_rows,
                  exit_head=("strategy", "exits", "trades", "cap. return", "mean", "PF"),
                  exit_rows=exit_rows, backtest_head=BACKTEST_HEADER,
                  backtest_rows=backtest_rows(result.backtests))
    path = run_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    (run_dir / "evaluation.json").write_text(json.dumps(summary, indent=2, default=str),
                                             encoding="utf-8")
    return path
