"""Command line: ``python -m training [train] --data DIR``.

Loads real candles, computes features once per pair, then for each strategy detects setups,
replays their exits into labels, runs the walk-forward, writes the artifact and the report.
Exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from ml_signals.setups import STRATEGIES
from training.backtest import BacktestConfig, run_backtests
from training.data import load_dir
from training.labels import FeeSchedule
from training.pipeline import train_all
from training.report import (
    BACKTEST_HEADER,
    backtest_rows,
    metric_row,
    render_rows,
    render_table,
    write_summary,
)
from training.report_html import write_html_report

log = logging.getLogger("training")


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of the training CLI."""
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = p.add_subparsers(dest="command")
    t = sub.add_parser("train", help="train and evaluate the three strategies (default)")
    add_train_args(t)
    j = sub.add_parser("journal-compare",
                       help="closed paper/live trades from the journal vs the backtest")
    j.add_argument("--models", type=Path, default=Path("models"))
    j.add_argument("--env-file", type=Path, default=Path(".env"),
                   help="git-ignored file with SUPABASE_URL / SUPABASE_SERVICE_KEY (optional)")
    j.add_argument("--sqlite", type=Path, default=None, help="journal SQLite file to read")
    return p


def add_train_args(p: argparse.ArgumentParser) -> None:
    """Options of ``train``."""
    p.add_argument("--data", type=Path, default=Path("data/sample/binance"),
                   help="folder of freqtrade feather files or Kraken OHLCVT CSVs")
    p.add_argument("--interval", default="1h", help="candle interval to load (default 1h)")
    p.add_argument("--pairs", default=None, help="comma-separated pairs (default: all found)")
    p.add_argument("--btc-pair", default=None,
                   help="BTC reference pair for regime/correlation (default: BTC-<quote>)")
    p.add_argument("--strategies", default=",".join(STRATEGIES))
    p.add_argument("--models", type=Path, default=Path("models"))
    p.add_argument("--reports", type=Path, default=Path("reports"))
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--maker-fee", type=float, default=0.0016, help="fraction, Kraken maker")
    p.add_argument("--taker-fee", type=float, default=0.0026, help="fraction, Kraken taker")
    p.add_argument("--no-progress", action="store_true")


def run_train(args: argparse.Namespace) -> int:
    """Train every requested strategy; return the process exit code."""
    started = time.perf_counter()
    pairs = args.pairs.split(",") if args.pairs else None
    candle_sets = load_dir(args.data, interval=args.interval, pairs=pairs)
    if not candle_sets:
        log.error("no %s candle files in %s", args.interval, args.data)
        return 2
    btc_pair = args.btc_pair or _default_btc(candle_sets)
    log.info("loaded %d pairs from %s; BTC reference %s", len(candle_sets), args.data, btc_pair)
    fees = FeeSchedule(maker_frac=args.maker_fee, taker_frac=args.taker_fee)
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    run = train_all(candle_sets, btc_pair, strategies, fees, args.models, args.folds,
                    progress=not args.no_progress)
    if not run.strategies:
        log.error("no strategy could be trained on %s: %s", args.data, run.skipped)
        return 1
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    rows: list[list[str]] = []
    summary: dict[str, Any] = {"data": str(args.data), "pairs": sorted(candle_sets),
                               "btc_pair": btc_pair, "strategies": {},
                               "not_trained": run.skipped}
    for strategy, sr in run.strategies.items():
        result = sr.result
        rows.append(metric_row(strategy, "out-of-fold", result.overall))
        rows.append(metric_row(strategy, "newest 30d", result.quarantine))
        summary["strategies"][strategy] = {
            "artifact": str(sr.artifact),
            "setups": len(sr.dataset.frame),
            "out_of_fold": result.overall.to_dict() if result.overall else None,
            "quarantine": result.quarantine.to_dict() if result.quarantine else None,
            "folds": result.fold_metrics,
        }
    table = render_table(rows)
    for strategy, reason in run.skipped.items():
        print(f"{strategy}: not trained ({reason})")
    print("Per-setup labels, out of sample (walk-forward) and quarantined newest 30 days:")
    print(table)
    backtests = run_backtests(run, BacktestConfig())
    bt_table = render_rows(BACKTEST_HEADER, backtest_rows(backtests))
    summary["backtest"] = {"|".join(k): v.stats for k, v in backtests.items()}
    print("\nPortfolio backtest, rules-only vs ML, after fees and slippage:")
    print(bt_table)
    run_dir = args.reports / "training" / stamp
    json_path, md_path = write_summary(run_dir, table + "\n\n" + bt_table, summary)
    html_path = write_html_report(run_dir, run, backtests)
    summary["wall_time_s"] = round(time.perf_counter() - started, 2)
    json_path.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    print(f"\nartifacts: {args.models}/<strategy>/current")
    print(f"report:    {html_path}   (also {md_path.name}, {json_path.name})")
    print(f"wall time: {summary['wall_time_s']:.1f} s")
    return 0


def run_journal_compare(args: argparse.Namespace) -> int:
    """Print journal outcomes beside the artifacts' backtest figures."""
    from ml_signals.journal.config import JournalConfig
    from ml_signals.journal.readback import load_closed_trades
    from training.journal_compare import compare

    overrides: dict[str, Any] = {}
    if args.sqlite is not None:
        overrides = {"backend": "sqlite", "sqlite_path": args.sqlite}
    env_file = args.env_file if args.env_file.is_file() else None
    config = JournalConfig.from_env(env_file=env_file, **overrides)
    table = compare(load_closed_trades(config), args.models)
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


def _default_btc(candle_sets: dict[str, Any]) -> str:
    quotes = {p.split("-")[1] for p in candle_sets}
    for quote in sorted(quotes):
        if f"BTC-{quote}" in candle_sets:
            return f"BTC-{quote}"
    raise SystemExit("no BTC pair in the data; pass --btc-pair (BTC regime needs it)")


def main(argv: list[str] | None = None) -> int:
    """Entry point; with no subcommand, ``train`` with its defaults."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        argv = ["train", *argv]
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "journal-compare":
            return run_journal_compare(args)
        return run_train(args)
    except Exception:
        log.exception("training failed")
        return 1
