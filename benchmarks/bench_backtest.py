"""Backtest speed: our exit kernel vs Hummingbot's PositionExecutorSimulator, and a full run.

Usage::

    .venv/bin/python benchmarks/bench_backtest.py [--data ../shared/data/binance]
        [--setups 1000] [--folds 5] [--skip-portfolio]

Part 1: the same single-position setups -- real swing and channel setups (market entries) found
by the detectors on the real 1h candles of ``--data``, each with its own exits and with a tight
variant (3 % / 3 % / 24 h, trailing 1.5 % / 0.75 %), up to ``--setups`` of them -- through
Hummingbot's ``PositionExecutorSimulator`` (one call per setup on the candle window the
backtesting engine would slice) and through our kernel (one batch per pair; executor replay and
Hummingbot-simulator mode). Prints setups/s, candle-steps/s (candle rows each engine walked:
the simulator's whole window, the kernel's rows up to the exit) and the ratio; the kernel is
compiled (numba cache) before timing.

Part 2: the portfolio backtest of the three strategies over every pair of ``--data`` at 1h:
features, detection, labels and the walk-forward run first (timed apart), then
``run_backtests`` -- candidates scored, sized and replayed, every scope (dca, swing, channel,
combined) x mode (rules, ml) x slice (oof, quarantine) -- timed as the backtest's wall time.

Falls back to ``data/sample/binance`` (and says so) when ``--data`` is missing. Prints figures,
asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import platform
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from ml_signals.decision.sizing import SizingConfig, size_entry
from ml_signals.exits import ExitRules
from ml_signals.scoring.config import DEFAULT_SCORING
from ml_signals.scoring.scorer import Scorer
from ml_signals.setups import make_detector
from training.backtest import BacktestConfig, run_backtests
from training.backtest import hummingbot_sim as hbs
from training.data import load_dir
from training.labels.batch import simulate_positions
from training.labels.dataset import build_dataset, compute_pair_features, label_config_for
from training.labels.executor_walk import EXIT_REASONS
from training.labels.outcomes import FeeSchedule, LabelConfig, position_batch
from training.models.train import train_strategy
from training.pipeline import StrategyRun, TrainingRun

REPO_ROOT = Path(__file__).resolve().parents[1]
HOUR = 3600
TIGHT = ExitRules(0.03, 0.03, 24 * HOUR, 0.015, 0.0075)


def _cases(features, limit):
    """Market-entry setups per pair, each sized as the live scripts size a rules-only score."""
    per_pair, total = {}, 0
    for pair in sorted(features):
        pf = features[pair]
        for strategy in ("swing", "channel"):
            for setup in make_detector(strategy).detect(pair, pf.candles.frame, pf.features):
                for exits in (setup.exits, TIGHT):
                    if total >= limit:
                        return per_pair, total
                    s = replace(setup, exits=exits)
                    score = Scorer.rules_only_scorer(strategy).score(s, {})
                    sized = size_entry(s, score, SizingConfig())
                    per_pair.setdefault(pair, []).append(
                        (replace(s, entry=sized.entry, exits=sized.exits), sized))
                    total += 1
    return per_pair, total


def _kernel(features, per_pair, fees, hummingbot_sim):
    steps, reasons = 0, []
    for pair, cases in per_pair.items():
        c = features[pair].candles.frame
        batch = position_batch([s for s, _ in cases], c["timestamp"].to_numpy(), HOUR,
                               LabelConfig())
        sim = simulate_positions(c["open"].to_numpy(), c["high"].to_numpy(),
                                 c["low"].to_numpy(), c["close"].to_numpy(), batch,
                                 fees.maker_frac, fees.taker_frac,
                                 hummingbot_sim=hummingbot_sim)
        last = np.where(sim.exit_bar >= 0, sim.exit_bar, len(c) - 1)
        steps += int((last - batch.entry_bar + 1 + hummingbot_sim).sum())
        reasons += [EXIT_REASONS[r] for r in sim.reason]
    return steps, reasons


def _hummingbot(features, per_pair, fees):
    steps, reasons = 0, []
    for pair, cases in per_pair.items():
        c = features[pair].candles.frame
        frame = hbs.epoch_frame(c)
        for setup, sized in cases:
            i = setup.bar_index
            config = hbs.hummingbot_config(sized, int(c["timestamp"].iat[i]),
                                           float(c["close"].iat[i]))
            out = hbs.simulate(frame, config, fees.taker_frac)
            steps += min(len(c) - i, setup.exits.time_limit_s // HOUR + 1)
            reasons.append(out.close_type)
    return steps, reasons


def bench_kernel(features, limit, fees):
    per_pair, total = _cases(features, limit)
    _kernel(features, per_pair, fees, False)  # compile / load the numba cache
    _kernel(features, per_pair, fees, True)
    timings = {}
    for name, fn in (("our kernel (executor replay)", lambda: _kernel(features, per_pair,
                                                                       fees, False)),
                     ("our kernel (Hummingbot-sim mode)", lambda: _kernel(features, per_pair,
                                                                           fees, True)),
                     ("Hummingbot PositionExecutorSimulator", lambda: _hummingbot(
                         features, per_pair, fees))):
        best = np.inf
        for _ in range(1 if name.startswith("Hummingbot") else 5):
            start = time.perf_counter()
            steps, reasons = fn()
            best = min(best, time.perf_counter() - start)
        timings[name] = (best, steps, reasons)
    print(f"\n== {total} single-position setups on {len(per_pair)} pairs ==")
    print(f"{'engine':<40} {'seconds':>9} {'setups/s':>12} {'candle-steps/s':>16}")
    for name, (sec, steps, _) in timings.items():
        print(f"{name:<40} {sec:>9.4f} {total / sec:>12,.0f} {steps / sec:>16,.0f}")
    hb = timings["Hummingbot PositionExecutorSimulator"]
    for name in list(timings)[:2]:
        print(f"ratio {name} / Hummingbot: {hb[0] / timings[name][0]:,.0f}x setups/s")
    same = np.mean([a == b for a, b in zip(timings["our kernel (Hummingbot-sim mode)"][2],
                                           hb[2], strict=True)])
    agree = np.mean([a == b for a, b in zip(timings["our kernel (executor replay)"][2], hb[2],
                                            strict=True)])
    print(f"close type agreement with Hummingbot: Hummingbot-sim mode {same:.1%}, "
          f"executor replay {agree:.1%}")


def bench_portfolio(candle_sets, btc, folds, fees):
    print(f"\n== portfolio backtest: {len(candle_sets)} pairs at 1h, 3 strategies ==")
    start = time.perf_counter()
    features = compute_pair_features(candle_sets, btc)
    t_features = time.perf_counter() - start
    runs = {}
    start = time.perf_counter()
    for strategy in ("dca", "swing", "channel"):
        scoring = DEFAULT_SCORING[strategy]
        label_config = label_config_for(scoring)
        ds = build_dataset(strategy, features, fees=fees, label_config=label_config)
        result = train_strategy(ds, scoring, n_folds=folds)
        runs[strategy] = StrategyRun(ds, result, scoring, label_config, None)
        print(f"  {strategy}: {len(ds.frame)} setups")
    t_train = time.perf_counter() - start
    run = TrainingRun(candle_sets, btc, features, fees, runs, {})
    print(f"features {t_features:.1f} s; detection + labels + walk-forward {t_train:.1f} s "
          f"(not part of the backtest time)")
    run_backtests(run, BacktestConfig(scopes=("dca",), modes=("rules",), slices=("oof",)))
    start = time.perf_counter()
    results = run_backtests(run, BacktestConfig())
    wall = time.perf_counter() - start
    start = time.perf_counter()
    run_backtests(run, BacktestConfig(scopes=("combined",), modes=("ml",), slices=("oof",)))
    one = time.perf_counter() - start
    print(f"run_backtests, {len(results)} runs (4 scopes x 2 modes x 2 slices): {wall:.2f} s "
          f"wall; the combined ML out-of-fold run alone: {one:.2f} s")
    print(f"{'scope':<9} {'mode':<6} {'slice':<11} {'trades':>6} {'win':>6} {'PF':>6} "
          f"{'exp%':>7} {'sharpe':>7} {'maxDD%':>7} {'ret%':>7}")
    for (scope, mode, sl), r in results.items():
        s = r.stats
        print(f"{scope:<9} {mode:<6} {sl:<11} {s['trades']:>6} {s['win_rate']:>6.2f} "
              f"{s['profit_factor']:>6.2f} {100 * s['expectancy_frac']:>7.2f} "
              f"{s['sharpe']:>7.2f} {100 * s['max_drawdown_frac']:>7.2f} "
              f"{100 * s['total_return_frac']:>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared/data/binance")
    parser.add_argument("--setups", type=int, default=1000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip-portfolio", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore")  # pandas warnings inside Hummingbot's simulators
    data = args.data
    if not data.is_dir():
        data = REPO_ROOT / "data/sample/binance"
        print(f"note: {args.data} not found; using the repository sample {data}")
    print(f"python {platform.python_version()} on {platform.machine()}, data {data}")
    start = time.perf_counter()
    candle_sets = load_dir(data, interval="1h")
    btc = next(p for p in candle_sets if p.startswith("BTC-"))
    print(f"loaded {len(candle_sets)} pairs in {time.perf_counter() - start:.1f} s")
    fees = FeeSchedule()
    features = compute_pair_features(candle_sets, btc)
    bench_kernel(features, args.setups, fees)
    if not args.skip_portfolio:
        bench_portfolio(candle_sets, btc, args.folds, fees)


if __name__ == "__main__":
    main()
