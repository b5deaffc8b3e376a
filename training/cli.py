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
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from ml_signals.scoring.artifact import ArtifactError
from ml_signals.setups import STRATEGIES, StrategyName
from training.artifacts.retrain import DEFAULT_KEEP
from training.backtest import BacktestConfig, run_backtests
from training.data import CandleDataError, load_dir
from training.evaluation.decision import plan_gates
from training.labels.outcomes import FeeSchedule
from training.parallel import ClusterError, add_runner_args, runner_from_args
from training.pipeline import train_all
from training.reporting.evidence import (
    EVIDENCE_HEADER,
    evidence_rows,
    exit_lines,
    family_evidence_rows,
    family_lines,
    verdict_lines,
)
from training.reporting.formatting import interval, signed_pct, text_table
from training.reporting.html import write_html_report
from training.reporting.text import (
    BACKTEST_HEADER,
    backtest_rows,
    metric_row,
    render_table,
    write_summary,
)

log = logging.getLogger("training")


class UsageError(ValueError):
    """A mistake in the command line (reported in one line, exit 2)."""


def strategies_arg(text: str) -> list[str]:
    """Parse ``--strategies`` (comma-separated).

    Raises:
        argparse.ArgumentTypeError: an unknown name (the message lists the valid ones).
    """
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in STRATEGIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown strategy {', '.join(unknown) or '(none given)'}; choose from "
            f"{', '.join(STRATEGIES)}")
    return names


def families_arg(text: str) -> list[str]:
    """Parse ``--families`` (comma-separated, from :data:`training.pipeline.FAMILIES`).

    Raises:
        argparse.ArgumentTypeError: an unknown or repeated name.
    """
    from training.pipeline import FAMILIES

    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in FAMILIES]
    if unknown or not names or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"bad model family list {text!r}; choose distinct names from {', '.join(FAMILIES)}")
    return names


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


def add_train_args(t: argparse.ArgumentParser) -> None:
    """Options of ``train`` (and ``retrain``) beyond the data."""
    t.add_argument("--models", type=Path, default=Path("models"))
    t.add_argument("--reports", type=Path, default=Path("reports"))
    t.add_argument("--folds", type=int, default=5)
    t.add_argument("--maker-fee", type=float, default=0.0016, help="fraction, Kraken maker")
    t.add_argument("--taker-fee", type=float, default=0.0026, help="fraction, Kraken taker")
    t.add_argument("--publish", choices=("gate", "always", "never"), default="gate",
                   help="move models/<strategy>/current: only when the gate passes (default), "
                        "always, or never; every version is written either way")
    t.add_argument("--no-null", action="store_true",
                   help="skip the shifted-feature null run (halves training time)")
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--families", type=families_arg, default=["xgboost"],
                   help="model families trained on the same folds, comma-separated (default "
                        "xgboost; xgboost,torch trains both and publishes the one that passes "
                        "the gate with the better out-of-fold taken-all; torch needs the "
                        "'.[torch]' extra)")


def add_data_args(p: argparse.ArgumentParser) -> None:
    """Options naming the candles and strategies."""
    p.add_argument("--data", type=Path, default=Path("data/sample/binance"),
                   help="folder of freqtrade feather files or Kraken OHLCVT CSVs")
    p.add_argument("--interval", default="1h", help="candle interval to load (default 1h)")
    p.add_argument("--pairs", default=None, help="comma-separated pairs (default: all found)")
    p.add_argument("--btc-pair", default=None,
                   help="BTC reference pair for regime/correlation (default: BTC-<quote>)")
    p.add_argument("--strategies", type=strategies_arg, default=list(STRATEGIES),
                   help=f"comma-separated, from {', '.join(STRATEGIES)}")


def _load(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    pairs = args.pairs.split(",") if args.pairs else None
    candle_sets = load_dir(args.data, interval=args.interval, pairs=pairs)
    if not candle_sets:
        raise UsageError(f"{args.data}: no {args.interval} candle files")
    btc_pair = args.btc_pair or _default_btc(candle_sets)
    if btc_pair not in candle_sets:
        raise UsageError(f"--btc-pair {btc_pair}: not among the loaded pairs")
    log.info("loaded %d pairs from %s; BTC reference %s", len(candle_sets), args.data, btc_pair)
    for skipped in getattr(candle_sets, "skipped", ()):
        print(skipped.describe())
    bad = {p: len(cs.bad_candles) for p, cs in candle_sets.items() if cs.bad_candles}
    if bad:
        print(f"candle guard: {sum(bad.values())} bad candles on {len(bad)} pairs (kept, never "
              f"altered; setups whose windows touch them are dropped): "
              + ", ".join(f"{p} {n}" for p, n in sorted(bad.items())))
    return candle_sets, btc_pair


def run_train(args: argparse.Namespace) -> int:
    """Train every requested strategy; return the process exit code."""
    started = time.perf_counter()
    candle_sets, btc_pair = _load(args)
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


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate published artifacts out of time; return the process exit code."""
    from training.evaluation.evaluate import evaluate_artifacts, json_summary
    from training.reporting.evaluate import write_evaluation_report

    candle_sets, btc_pair = _load(args)
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
    candle_sets, btc_pair = _load(args)
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
    from training.models.train import TooFewSetupsError

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
    replayed = replay_outcomes(rows.setups, candle_sets, _default_btc(candle_sets), detectors,
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


def _default_btc(candle_sets: dict[str, Any]) -> str:
    quotes = {p.split("-")[1] for p in candle_sets}
    for quote in sorted(quotes):
        if f"BTC-{quote}" in candle_sets:
            return f"BTC-{quote}"
    raise UsageError("no BTC pair in the data; pass --btc-pair (the BTC regime needs it)")


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
