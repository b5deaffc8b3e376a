"""Command line: ``python -m training [train|retrain|evaluate|journal-compare|shadow-report]``.

``train`` loads real candles, computes features once per pair, then for each strategy detects
setups, replays their exits into labels, runs the walk-forward (and its null), writes every
version, gates it, points ``current`` at the versions that pass (``--publish``), backtests
rules-only vs ML and writes the report. ``evaluate`` judges the published artifacts on any
candle folder without retraining. ``retrain`` is ``train`` followed by a purge of old versions
(:mod:`training.artifacts.retrain`); ``shadow-report`` compares the champion with its shadows from a
journal (:mod:`training.reporting.shadow`).

A user error (missing folder, bad candle file, unknown strategy, broken artifact) prints one
line naming what is wrong and exits 2; ``--debug`` shows the traceback. Any other failure
exits 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ml_signals.scoring.artifact import ArtifactError
from training.artifacts.retrain import DEFAULT_KEEP
from training.cli.args import (
    UsageError,
    add_data_args,
    add_train_args,
)
from training.cli.judge_commands import (
    run_compare,
    run_evaluate,
    run_journal_compare,
    run_shadow_report,
)
from training.cli.train_commands import run_retrain, run_train
from training.data import CandleDataError
from training.parallel import ClusterError, add_runner_args

log = logging.getLogger("training")


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of the training CLI."""
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command")
    t = sub.add_parser("train", help="train, evaluate, gate and publish (default)")
    r = sub.add_parser("retrain", help="train, gate and publish as train, then purge old "
                                       "versions (keep the newest --keep and current)")
    for parser in (t, r):
        add_data_args(parser)
        add_train_args(parser)
        add_runner_args(parser)
    r.add_argument("--keep", type=int, default=DEFAULT_KEEP,
                   help=f"versions kept per strategy besides current (default {DEFAULT_KEEP})")
    sr = sub.add_parser("shadow-report", help="champion vs shadow predictions from a journal")
    sr.add_argument("--journal", type=Path, required=True, help="journal SQLite file")
    sr.add_argument("--data", type=Path, default=Path("data/sample/binance"),
                    help="candles covering the journal's period (outcomes of skipped setups)")
    sr.add_argument("--interval", default="1h")
    sr.add_argument("--config", type=Path, default=None,
                    help="script YAML the journal was written with (detector settings)")
    sr.add_argument("--maker-fee", type=float, default=0.0016, help="fraction, Kraken maker")
    sr.add_argument("--taker-fee", type=float, default=0.0026, help="fraction, Kraken taker")
    sr.add_argument("--json", type=Path, default=None, help="write the comparison as JSON")
    e = sub.add_parser("evaluate", help="judge published artifacts on any candle folder")
    add_data_args(e)
    e.add_argument("--models", type=Path, default=Path("models"))
    e.add_argument("--json", type=Path, default=None, help="write the figures as one JSON object")
    e.add_argument("--reports", type=Path, default=None,
                   help="write an HTML report into REPORTS/evaluate/<stamp>/")
    c = sub.add_parser("compare", help="compare training candidates on the same folds")
    add_data_args(c)
    c.add_argument("--candidates", default=None,
                   help="comma-separated (default: all; see training/models/compare.py); "
                        "none: only the exits comparison")
    c.add_argument("--folds", type=int, default=5)
    add_runner_args(c)
    c.add_argument("--reports", type=Path, default=Path("reports"))
    c.add_argument("--vol-exits", action="store_true",
                   help="also compare volatility-scaled exits with the fixed ones (rules only)")
    j = sub.add_parser("journal-compare",
                       help="closed paper/live trades from the journal vs the backtest")
    j.add_argument("--models", type=Path, default=Path("models"))
    j.add_argument("--env-file", type=Path, default=Path(".env"),
                   help="git-ignored file with SUPABASE_URL / SUPABASE_SERVICE_KEY (optional)")
    j.add_argument("--sqlite", type=Path, default=None, help="journal SQLite file to read")
    for parser in (t, r, e, c, j, sr):
        parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return p

USER_ERRORS = (UsageError, CandleDataError, ArtifactError, FileNotFoundError, ClusterError)
"""Errors that are the input's fault: one line, exit 2."""

def main(argv: list[str] | None = None) -> int:
    """Entry point; with no subcommand, ``train`` with its defaults."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        argv = ["train", *argv]
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    commands = {"journal-compare": run_journal_compare, "evaluate": run_evaluate,
                "compare": run_compare, "train": run_train, "retrain": run_retrain,
                "shadow-report": run_shadow_report}
    try:
        return commands[args.command or "train"](args)
    except USER_ERRORS as exc:
        if args.debug:
            log.exception("training failed")
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception:
        log.exception("training failed")
        return 1
