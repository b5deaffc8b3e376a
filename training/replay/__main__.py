"""``python -m training.replay``: replay the Hummingbot scripts on real candles.

Examples::

    python -m training.replay --script ml_swing --pairs BTC-USDT,ETH-USDT,SOL-USDT \\
        --start 2025-10-01 --end 2025-12-01 --data data/sample/binance
    python -m training.replay --all --jobs 2          # the four ml_* scripts, 2 processes
    python -m training.replay --all --jobs 2 --out reports/replay/ml \\
        --rules-only-out reports/replay/rules-only     # and each again rules-only, compared

Prints per script: setups seen / taken, executors opened and closed by close type, net PnL
after fees, journal rows and alerts; writes ``reports/replay/<script>.json`` and the script's
journal and alert outbox to ``reports/replay/<script>/`` (SQLite, alerts to the log only).
Run from the repository root (the scripts' ``models_dir: models`` is relative).

``--rules-only-out DIR`` replays every script a second time on the same window without
artifacts (``models_dir`` pointing at no model, ``no_model_policy: rules_only``): the plain
rules a model has to beat. Both variants run in one pool, so Hummingbot and the libraries
are imported once, and a last table sets each script's two results side by side.
"""

from __future__ import annotations

import argparse
import logging
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

ALL_SCRIPTS = ("ml_dca_grid", "ml_swing", "ml_channel", "ml_portfolio")


def _date(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {text!r}") from None


def _setting(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--set takes key=value, got {text!r}")
    return key, yaml.safe_load(value)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.replay", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--script", action="append", help="script module (repeatable)")
    which.add_argument("--all", action="store_true", help=f"replay {', '.join(ALL_SCRIPTS)}")
    p.add_argument("--config", type=Path, help="YAML (default conf/scripts/conf_<script>.yml)")
    p.add_argument("--pairs", default="BTC-USDT,ETH-USDT,SOL-USDT",
                   help="pairs to trade, replacing the YAML's (empty: keep the YAML's)")
    p.add_argument("--data", type=Path, default=Path("data/sample/binance"),
                   help="folder of real candle files (freqtrade feather, Kraken CSV)")
    p.add_argument("--start", type=_date, help="first candle, UTC (default: end - 61 days)")
    p.add_argument("--end", type=_date, help="end, exclusive, UTC (default: end of data)")
    p.add_argument("--interval", default="1h")
    p.add_argument("--set", dest="settings", type=_setting, action="append", default=[],
                   metavar="KEY=VALUE", help="config override, dotted keys for nested fields")
    p.add_argument("--models-dir", help="replace the config's models_dir")
    p.add_argument("--path", dest="path_order", choices=("olhc", "ohlc"), default="olhc",
                   help="intra-candle order (default olhc: low before high)")
    p.add_argument("--steps-per-leg", type=int, default=1, help="price steps per path leg")
    p.add_argument("--half-spread", type=float, default=0.0005, help="book half spread, frac")
    p.add_argument("--quote-balance", type=float, default=10_000.0)
    p.add_argument("--no-forming-candle", action="store_true",
                   help="feed closed candles only (Hummingbot feeds include the forming one)")
    p.add_argument("--out", type=Path, default=Path("reports/replay"))
    p.add_argument("--rules-only-out", type=Path, metavar="DIR",
                   help="also replay every script rules-only (no artifacts) into DIR and "
                        "print both variants side by side")
    p.add_argument("--exhaustive", action="store_true",
                   help="all of Hummingbot's per-tick work at every sub-tick (slower, same "
                        "results; the reference of the default fast mode)")
    p.add_argument("--jobs", type=int, default=1, help="scripts replayed in parallel")
    p.add_argument("--log-level", default="CRITICAL",
                   help="level of Hummingbot/ml_signals logs during the run")
    return p


def _spec_kwargs(args: argparse.Namespace, script: str) -> dict[str, Any]:
    pairs = tuple(p.strip() for p in args.pairs.split(",") if p.strip()) or None
    return dict(script=script, config_path=args.config, data_dir=args.data, pairs=pairs,
                start=args.start, end=args.end, interval=args.interval,
                overrides=dict(args.settings), models_dir=args.models_dir,
                path_order=args.path_order, steps_per_leg=args.steps_per_leg,
                half_spread_frac=args.half_spread, quote_balance=args.quote_balance,
                forming_candle=not args.no_forming_candle, out_dir=args.out,
                exhaustive=args.exhaustive)


def _rules_only_kwargs(kwargs: dict[str, Any], out: Path) -> dict[str, Any]:
    """The same replay without artifacts: ``models_dir`` names a folder that holds no model
    (under ``out``, never created) and ``no_model_policy`` is ``rules_only``; written to
    ``out``."""
    overrides = {**kwargs["overrides"], "no_model_policy": "rules_only"}
    return {**kwargs, "out_dir": out, "models_dir": str(out / "no-models"),
            "overrides": overrides}


def _run_one(kwargs: dict[str, Any], log_level: str) -> tuple[str, dict[str, Any]]:
    """Replay one script (in a worker process when --jobs > 1); returns the printed text and
    the JSON summary."""
    from training.replay.report import format_result, summary_dict, write_json
    from training.replay.runner import ReplaySpec, run_replay

    result = run_replay(ReplaySpec(**kwargs), log_level=getattr(logging, log_level.upper()))
    path = write_json(result, kwargs["out_dir"])
    return f"{format_result(result)}\n   -> {path}", summary_dict(result)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    scripts = list(ALL_SCRIPTS) if args.all else args.script
    if args.config is not None and len(scripts) > 1:
        print("--config applies to one script only", file=sys.stderr)
        return 2
    jobs = [_spec_kwargs(args, s) for s in scripts]
    if args.rules_only_out is not None:
        jobs += [_rules_only_kwargs(j, args.rules_only_out) for j in jobs]
    if args.jobs > 1 and len(jobs) > 1:
        # Import Hummingbot and the scripts' libraries once, here: forked workers share them
        # (about 4 s of CPU per process otherwise).
        import training.replay.report
        import training.replay.runner  # noqa: F401
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            outs = list(pool.map(_run_one, jobs, [args.log_level] * len(jobs)))
    else:
        outs = [_run_one(j, args.log_level) for j in jobs]
    for text, _ in outs:
        print(text)
    if args.rules_only_out is not None:
        from training.replay.report import format_side_by_side

        half = len(scripts)
        print(format_side_by_side([s for _, s in outs[:half]], [s for _, s in outs[half:]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
