"""Arguments and candle loading shared by the training commands (:mod:`training.cli.main`).

A user error found here (:class:`UsageError`: no candle files, a BTC pair missing) is reported
by :func:`training.cli.main.main` in one line with exit code 2.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from ml_signals.setups import STRATEGIES
from training.data import load_dir

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

def load_candles(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The candle sets of ``--data`` (``--interval``, ``--pairs``) and the BTC reference pair;
    prints each skipped file and the candle guard's count of bad candles.

    Raises:
        UsageError: no candle files, or ``--btc-pair`` not among the loaded pairs.
        CandleDataError: a candle file breaks a rule (:mod:`training.data`).
    """
    pairs = args.pairs.split(",") if args.pairs else None
    candle_sets = load_dir(args.data, interval=args.interval, pairs=pairs)
    if not candle_sets:
        raise UsageError(f"{args.data}: no {args.interval} candle files")
    btc_pair = args.btc_pair or default_btc(candle_sets)
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


def default_btc(candle_sets: dict[str, Any]) -> str:
    """``BTC-<quote>`` of the first quote currency (sorted) that has one among the pairs.

    Raises:
        UsageError: no BTC pair in the data (the BTC regime features need one).
    """
    quotes = {p.split("-")[1] for p in candle_sets}
    for quote in sorted(quotes):
        if f"BTC-{quote}" in candle_sets:
            return f"BTC-{quote}"
    raise UsageError("no BTC pair in the data; pass --btc-pair (the BTC regime needs it)")
