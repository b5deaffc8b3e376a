"""HTML page of ``python -m training evaluate``: the evidence table, exits and the portfolio
backtest, built from the same rows the console prints."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from training.report import BACKTEST_HEADER, backtest_rows
from training.report_evidence import EVIDENCE_HEADER, evidence_rows


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    h = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    b = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{b}</tbody></table>"


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
            exit_rows.append([s, kind, st["trades"], _pct(st["capital_return_frac"]),
                              _pct(st["expectancy_frac"]), _num(st["profit_factor"])])
    versions = ", ".join(f"{s} {ev['version']} ({ev['in_sample']} in-sample setups left out)"
                         for s, ev in summary["strategies"].items())
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Model evaluation'
        "</title><style>body{font:14px sans-serif;margin:24px}table{border-collapse:collapse;"
        "margin:8px 0 20px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}"
        "</style></head><body><h1>Published models on new candles</h1>"
        f"<p>{html.escape(versions)}</p><h2>Does the rule beat taking every setup?</h2>"
        + _table(EVIDENCE_HEADER, ev_rows)
        + "<p>cap. = net PnL / committed quote after fees; 95 % intervals over resampled "
          "calendar weeks.</p><h2>Exits on the rule's setups</h2>"
        + _table(("strategy", "exits", "trades", "cap. return", "mean", "PF"), exit_rows)
        + "<h2>Portfolio backtest, rules-only vs ML</h2>"
        + _table(BACKTEST_HEADER, backtest_rows(result.backtests))
        + "</body></html>")
    path = run_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    (run_dir / "evaluation.json").write_text(json.dumps(summary, indent=2, default=str),
                                             encoding="utf-8")
    return path


def _pct(v: Any) -> str:
    return "-" if v is None or v != v else f"{100 * float(v):+.2f}%"


def _num(v: Any) -> str:
    return "-" if v is None or v != v else f"{float(v):.2f}"
