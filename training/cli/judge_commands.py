"""Commands that judge rather than train: ``evaluate`` (published artifacts on other candles),
``compare`` (training candidates on the same folds), ``journal-compare`` (journaled trades
beside the backtest) and ``shadow-report`` (champion vs shadows from a journal).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd

from ml_signals.setups import StrategyName
from training.cli.args import (
    UsageError,
    default_btc,
    load_candles,
)
from training.data import load_dir
from training.labels.outcomes import FeeSchedule
from training.parallel import runner_from_args
from training.reporting.evidence import (
    EVIDENCE_HEADER,
    evidence_rows,
)
from training.reporting.formatting import interval, signed_pct, text_table
from training.reporting.text import (
    BACKTEST_HEADER,
    backtest_rows,
)

log = logging.getLogger("training")


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate published artifacts out of time; return the process exit code."""
    from training.evaluation.evaluate import evaluate_artifacts, json_summary
    from training.reporting.evaluate import write_evaluation_report

    candle_sets, btc_pair = load_candles(args)
    result = evaluate_artifacts(candle_sets, btc_pair, args.models, args.strategies)
    for strategy, reason in result.skipped.items():
        print(f"{strategy}: not evaluated ({reason})")
    if not result.strategies:
        print(f"nothing to evaluate under {args.models}")
        return 1
    rows = [r for s, ev in result.strategies.items()
            for r in evidence_rows(s, {"oof": ev.evidence}, "unseen candles")]
    print("Published models on these candles (out of sample for each model):")
    print(text_table(EVIDENCE_HEADER, rows))
    print("\nPortfolio backtest, rules-only vs ML:")
    print(text_table(BACKTEST_HEADER, backtest_rows(result.backtests)))
    summary = json_summary(result)
    for strategy, ev in summary["strategies"].items():
        fixed, model = ev["exits"]["fixed"], ev["exits"]["model"]
        trades = result.strategies[strategy].exit_source
        print(f"{strategy} exits on the rule's setups: the detector's "
              f"{signed_pct(fixed['capital_return_frac'])} vs the model's "
              f"{signed_pct(model['capital_return_frac'])} of committed capital "
              f"({fixed['trades']} / {model['trades']} trades); the artifact trades the "
              f"{trades}'s")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(_finite(summary), indent=2, default=str), "utf-8")
        print(f"json:   {args.json}")
    if args.reports is not None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = write_evaluation_report(args.reports / "evaluate" / stamp, result, summary)
        print(f"report: {path}")
    return 0

def run_compare(args: argparse.Namespace) -> int:
    """Train every candidate on the same folds and print the comparison."""
    from training.models.compare import CANDIDATES, COMPARE_HEADER, compare_candidates, compare_rows

    names = [] if args.candidates == "none" else \
        [n.strip() for n in args.candidates.split(",")] if args.candidates else list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        raise UsageError(f"unknown candidate {', '.join(unknown)}; choose from "
                         f"{', '.join(CANDIDATES)}")
    candle_sets, btc_pair = load_candles(args)
    with runner_from_args(args) as runner:
        results = compare_candidates(candle_sets, btc_pair, args.strategies, FeeSchedule(),
                                     names, args.folds, runner)
    table = text_table(COMPARE_HEADER, compare_rows(results)) if names else ""
    print("Candidates on the same folds (out of fold, ex-ante rule, capital-weighted after fees, "
          "95 % intervals over resampled weeks):")
    print(table)
    run_dir = args.reports / "compare" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    run_dir.mkdir(parents=True, exist_ok=True)
    exits = _compare_exits(candle_sets, btc_pair, args.strategies) if args.vol_exits else {}
    (run_dir / "summary.json").write_text(json.dumps(_finite(
        {"data": str(args.data), "candidates": names, "results": results, "vol_exits": exits}),
        indent=2, default=str), "utf-8")
    (run_dir / "summary.md").write_text(f"# Candidates on {args.data}\n\n```\n{table}\n```\n",
                                        "utf-8")
    print(f"report: {run_dir / 'summary.md'}")
    return 0

def _compare_exits(candle_sets: dict[str, Any], btc_pair: str,
                   strategies: list[StrategyName]) -> dict[str, Any]:
    """Fixed vs volatility-scaled exits per strategy, printed and returned."""
    from ml_signals.scoring.config import DEFAULT_SCORING
    from training.evaluation.vol_exits import compare_vol_exits, fixed_exits_config
    from training.labels.dataset import build_dataset, compute_pair_features, label_config_for
    from training.models.model_set import TooFewSetupsError

    features = compute_pair_features(candle_sets, btc_pair)
    out: dict[str, Any] = {}
    print("\nRules-only exits, multiples chosen on the earlier half, judged on the later half:")
    for strategy in strategies:
        scoring = DEFAULT_SCORING[strategy]
        label_config = label_config_for(scoring)
        try:
            ds = build_dataset(strategy, features, fixed_exits_config(strategy),
                               fees=FeeSchedule(), label_config=label_config)
        except TooFewSetupsError:
            continue
        res = compare_vol_exits(ds, features, scoring, FeeSchedule(), label_config)
        late = res["late"]
        lo, hi = late["diff_ci"]
        print(f"{strategy}: chosen {res['chosen']['name']}; later half {late['setups']} setups "
              f"over {late['weeks']} weeks: fixed {signed_pct(late['fixed'])}, volatility "
              f"{signed_pct(late['vol'])}, difference {signed_pct(late['diff'])}"
              f"{interval((lo, hi), True)}")
        out[strategy] = res
    return out

def _finite(value: Any) -> Any:
    """Strict JSON: NaN and infinities become ``null``."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value

def run_journal_compare(args: argparse.Namespace) -> int:
    """Print journal outcomes beside the artifacts' backtest figures."""
    from ml_signals.journal.config import JournalConfig
    from ml_signals.journal.readback import load_closed_trades
    from training.evaluation.journal_compare import compare

    overrides: dict[str, Any] = {}
    if args.sqlite is not None:
        overrides = {"backend": "sqlite", "sqlite_path": args.sqlite}
    env_file = args.env_file if args.env_file.is_file() else None
    config = JournalConfig.from_env(env_file=env_file, **overrides)
    table = compare(load_closed_trades(config), args.models)
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0

def run_shadow_report(args: argparse.Namespace) -> int:
    """Champion vs shadows from a journal (:mod:`training.reporting.shadow`)."""
    from training.reporting.shadow import compare, read_journal, render, replay_outcomes, to_json

    rows = read_journal(args.journal)
    detectors: dict[str, Any] = {}
    if args.config is not None:
        from training.replay.loader import load_script, read_yaml

        name = Path(str(read_yaml(args.config).get("script_file_name", ""))).stem
        if not name:
            raise UsageError(f"{args.config}: no script_file_name to load the script by")
        config = load_script(name, args.config, {}).config
        detectors = {s: c for s, c, _ in config.strategy_settings()}
    candle_sets = load_dir(args.data, interval=args.interval)
    if not candle_sets:
        raise UsageError(f"{args.data}: no {args.interval} candle files")
    fees = FeeSchedule(maker_frac=args.maker_fee, taker_frac=args.taker_fee)
    replayed = replay_outcomes(rows.setups, candle_sets, default_btc(candle_sets), detectors,
                               fees)
    comparisons = compare(rows, replayed)
    if not comparisons:
        print(f"{args.journal}: no shadow predictions (set shadow_models_dir or "
              "shadow_variants in the script)")
        return 1
    print(render(comparisons))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(to_json(comparisons), indent=2), encoding="utf-8")
        print(f"json: {args.json}")
    return 0
