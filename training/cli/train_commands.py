"""``train`` and ``retrain``: train, gate, publish, backtest and report (see
:mod:`training.cli.main` for the command line).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from typing import Any

from ml_signals.setups import STRATEGIES
from training.backtest import BacktestConfig, run_backtests
from training.cli.args import (
    UsageError,
    load_candles,
)
from training.evaluation.decision import plan_gates
from training.labels.outcomes import FeeSchedule
from training.parallel import runner_from_args
from training.pipeline import train_all
from training.reporting.evidence import (
    EVIDENCE_HEADER,
    exit_lines,
    family_evidence_rows,
    family_lines,
    verdict_lines,
)
from training.reporting.formatting import text_table
from training.reporting.html import write_html_report
from training.reporting.text import (
    BACKTEST_HEADER,
    backtest_rows,
    metric_row,
    render_table,
    write_summary,
)

log = logging.getLogger("training")


def run_train(args: argparse.Namespace) -> int:
    """Train every requested strategy; return the process exit code."""
    started = time.perf_counter()
    candle_sets, btc_pair = load_candles(args)
    fees = FeeSchedule(maker_frac=args.maker_fee, taker_frac=args.taker_fee)
    with runner_from_args(args) as runner:
        log.info("tasks: %s", runner.describe())
        run = train_all(candle_sets, btc_pair, args.strategies, fees, args.models, args.folds,
                        progress=not args.no_progress, publish_mode=args.publish,
                        null_run=not args.no_null, runner=runner, families=args.families)
    if not run.strategies:
        log.error("no strategy could be trained on %s: %s", args.data, run.skipped)
        return 1
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    rows: list[list[str]] = []
    ev_rows: list[list[str]] = []
    summary: dict[str, Any] = {
        "data": str(args.data), "pairs": sorted(candle_sets), "btc_pair": btc_pair,
        "strategies": {}, "not_trained": run.skipped,
        "skipped_files": [s.describe() for s in getattr(candle_sets, "skipped", ())],
        "bad_candles": {p: [b.describe(p) for b in cs.bad_candles]
                        for p, cs in candle_sets.items() if cs.bad_candles}}
    for strategy, sr in run.strategies.items():
        result = sr.result
        rows.append(metric_row(strategy, "out-of-fold", result.overall))
        rows.append(metric_row(strategy, "newest 30d", result.quarantine))
        ev_rows.extend(family_evidence_rows(strategy, sr))
        summary["strategies"][strategy] = {
            "artifact": str(sr.artifact), "published": sr.published,
            "setups": len(sr.dataset.frame),
            "dropped_bad_candles": sr.dataset.dropped_bad_candles,
            "decision_rule": {"keep_frac": result.rule.keep_frac,
                              "min_rank": result.rule.min_rank},
            "evidence": result.evidence,
            "gate": result.verdict.to_dict() if result.verdict else None,
            "out_of_fold": result.overall.to_dict() if result.overall else None,
            "quarantine": result.quarantine.to_dict() if result.quarantine else None,
            "folds": result.fold_metrics,
            "model_family": (result.evidence.get("settings") or {}).get("family", "xgboost"),
        }
        if sr.choice is not None:
            summary["strategies"][strategy]["family_choice"] = sr.choice.to_dict()
            summary["strategies"][strategy]["families"] = {
                f: {"evidence": r.evidence, "gate": r.verdict.to_dict() if r.verdict else None}
                for f, r in sr.families.items()}
    for strategy, reason in run.skipped.items():
        print(f"{strategy}: not trained ({reason})")
    for strategy, sr in run.strategies.items():
        dropped = sr.dataset.dropped_bad_candles
        if dropped:
            print(f"{strategy}: {sum(dropped.values())} setups dropped, their windows touch a "
                  "bad candle: " + ", ".join(f"{p} {n}" for p, n in sorted(dropped.items())))
    evidence_table = text_table(EVIDENCE_HEADER, ev_rows)
    print("Does the model beat the rules? Capital-weighted, after fees, 95 % intervals over "
          "resampled weeks:")
    print(evidence_table)
    table = render_table(rows)
    print("\nPer-setup metrics (ex-ante folds and the quarantined newest 30 days):")
    print(table)
    backtests = run_backtests(run, BacktestConfig())
    bt_table = text_table(BACKTEST_HEADER, backtest_rows(backtests))
    summary["backtest"] = {"|".join(k): v.stats for k, v in backtests.items()}
    print("\nPortfolio backtest, rules-only vs ML, after fees and slippage:")
    print(bt_table)
    print()
    exit_text: list[str] = []
    for strategy, sr in run.strategies.items():
        exit_text += exit_lines(strategy, sr.exit_choice, sr.sizing_choice)
        summary["strategies"][strategy]["exits"] = sr.exit_choice
        summary["strategies"][strategy]["sizing"] = sr.sizing_choice
    print("Whose exits the models trade and how they size (regressors' exits or rank sizes only "
          "when they beat the detector's exits or a flat size on the taken out-of-fold setups "
          "with the interval above zero):")
    print("\n".join(exit_text))
    print()
    for strategy, sr in run.strategies.items():
        if sr.result.verdict is None:
            continue
        gates = {scope: plan_gates(backtests[(scope, "ml", "oof")].stats)
                 for scope in (strategy, "combined") if (scope, "ml", "oof") in backtests}
        sr.result.verdict = replace(sr.result.verdict, plan_gates=gates)
        gate = {**sr.result.verdict.to_dict(), "published": sr.published}
        summary["strategies"][strategy]["gate"] = gate
        print("\n".join([*verdict_lines(strategy, gate), *family_lines(strategy, sr)]))
    run_dir = args.reports / "training" / stamp
    json_path, md_path = write_summary(
        run_dir, evidence_table + "\n\n" + table + "\n\n" + bt_table + "\n\n"
        + "\n".join(exit_text), summary)
    html_path = write_html_report(run_dir, run, backtests)
    summary["wall_time_s"] = round(time.perf_counter() - started, 2)
    json_path.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    print(f"\nartifacts: {args.models}/<strategy>/<version> (current = the published one)")
    print(f"report:    {html_path}   (also {md_path.name}, {json_path.name})")
    print(f"wall time: {summary['wall_time_s']:.1f} s")
    return 0

def run_retrain(args: argparse.Namespace) -> int:
    """``train``, then (only when it succeeded) purge old versions; return the exit code."""
    from training.artifacts.retrain import purge_all

    if args.keep < 1:
        raise UsageError(f"--keep must be >= 1, got {args.keep}")
    code = run_train(args)
    if code != 0:
        print("retrain: training failed; no version purged")
        return code
    for result in purge_all(args.models, list(STRATEGIES), args.keep):
        print(f"purge: {result.describe()}")
    return 0
