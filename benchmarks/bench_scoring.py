"""How long one closed candle takes per pair: features on the last 720 candles (+ scoring),
full recomputation vs incremental features.

Usage::

    .venv/bin/python benchmarks/bench_scoring.py [--pair ETH-USDT] [--n 200]
        [--data-dir data/sample/binance] [--models-dir models] [--strategy dca]

Loads a real sample pair and BTC and walks ``--n`` consecutive closed candles at the end of the
sample, each time on the newest ``MAX_LIVE_BARS`` (720) candles as a Hummingbot Kraken feed
would: **full** times ``compute_features`` on that window, **incremental** times
``ml_signals.incremental.IncrementalFeatures.features`` on the same window (its per-pair state
built once before timing, then pushed one candle per step, as in a script). When
``ml_signals.scoring.scorer.Scorer`` imports and a trained artifact for ``--strategy`` is
published under ``--models-dir``, each timed call also runs the detector on the window and
scores the newest setup found in it (a setup on every tick: the worst case); otherwise it times
features only and says so. Prints median and p99 per mode and how many pairs fit in a 1-second
tick on one core. No assertions: figures only.

``--omp-passive`` sets ``OMP_WAIT_POLICY=PASSIVE`` before XGBoost loads. Without it XGBoost's
OpenMP threads spin after every predict and, on a small machine, steal the CPU the next pandas
work needs (measured on 2 cores: ~60 ms CPU per tick instead of ~10).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ml_signals.features import MAX_LIVE_BARS, compute_features
from ml_signals.incremental import IncrementalFeatures
from training.data import load_freqtrade_feather

REPO_ROOT = Path(__file__).resolve().parents[1]

ScoreFn = Callable[[pd.DataFrame, pd.DataFrame], object]
"""``score_fn(candles_window, features) -> anything``: the per-tick work after features."""


def _load(data_dir: Path, pair: str) -> pd.DataFrame:
    base, quote = pair.split("-")
    return load_freqtrade_feather(data_dir / f"{base}_{quote}-1h.feather").frame


def make_score_fn(
    models_dir: Path, strategy: str, pair: str, candles: pd.DataFrame, btc: pd.DataFrame
) -> tuple[ScoreFn | None, str]:
    """A score function for the benchmark, or ``None`` and the reason features run alone."""
    try:
        from ml_signals.scoring.artifact import ArtifactError
        from ml_signals.scoring.scorer import Scorer
        from ml_signals.setups import make_detector
    except ImportError as err:
        return None, f"features only (scorer not importable: {err})"
    try:
        scorer = Scorer.load(models_dir, strategy)
    except (FileNotFoundError, ArtifactError) as err:
        return None, f"features only (artifact not loadable: {err})"
    if scorer.rules_only:
        return None, f"features only (no {strategy} artifact under {models_dir})"
    detector = make_detector(strategy)  # type: ignore[arg-type]
    history = compute_features(candles, btc)
    setups = detector.detect(pair, candles, history)
    if not setups:
        return None, f"features only (no {strategy} setup in {pair}'s sample to score)"
    setup = setups[-1]
    row = history.iloc[setup.bar_index]

    def score_fn(window: pd.DataFrame, features: pd.DataFrame) -> object:
        detector.detect_latest(pair, window, features)
        return scorer.score(setup, row)

    return score_fn, f"features + {strategy} detect_latest + score (model {scorer.model_version})"


def _time(fn: Callable[[], object], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Wall and CPU milliseconds of ``n`` calls (CPU time is steadier on a shared machine)."""
    wall, cpu = np.empty(n), np.empty(n)
    for i in range(n):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall[i], cpu[i] = time.perf_counter() - start, time.process_time() - start_cpu
    return wall * 1e3, cpu * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", default="ETH-USDT")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / "data/sample/binance")
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "models")
    parser.add_argument("--strategy", default="dca")
    parser.add_argument("--omp-passive", action="store_true", help="OMP_WAIT_POLICY=PASSIVE")
    args = parser.parse_args()
    if args.omp_passive:
        if "xgboost" in sys.modules:
            print("warning: xgboost already imported; OMP_WAIT_POLICY may not take effect")
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

    import pandas_ta as ta  # only for the version line

    candles = _load(args.data_dir, args.pair)
    btc = _load(args.data_dir, "BTC-USDT")
    score_fn, mode = make_score_fn(args.models_dir, args.strategy, args.pair, candles, btc)
    ends = range(len(candles) - args.n - 1, len(candles))  # one warm-up step, then --n timed
    steps = []
    for end in ends:
        window = candles.iloc[end - MAX_LIVE_BARS + 1: end + 1]
        last = window["timestamp"].iat[-1]
        steps.append((window, btc[btc["timestamp"] <= last].iloc[-MAX_LIVE_BARS:]))

    print(
        f"python {platform.python_version()}, pandas {pd.__version__}, "
        f"pandas-ta {ta.version}, numpy {np.__version__}"
    )
    print(f"pair {args.pair}, {MAX_LIVE_BARS} candles per window, {args.n} consecutive closed "
          f"candles, BTC reference, mode: {mode}")
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '<unset>')}; load average "
          f"{os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
    incremental = IncrementalFeatures(3600, "BTC-USDT")
    paths: dict[str, Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]] = {
        "full": lambda w, b: compute_features(w, b),
        "incremental": lambda w, b: incremental.features(args.pair, w, b),
    }
    for name, features_of in paths.items():
        queue = iter(steps)

        def tick(features_of=features_of, queue=queue) -> object:
            window, btc_window = next(queue)
            features = features_of(window, btc_window)
            return score_fn(window, features) if score_fn is not None else features

        cold = _time(tick, 1)[0][0]
        wall, cpu = _time(tick, args.n)
        median, p99 = float(np.median(wall)), float(np.percentile(wall, 99))
        print(f"{name}: first call (state build, lazy imports) {cold:.2f} ms; per closed candle "
              f"over {args.n}: median {median:.3f} ms, p99 {p99:.3f} ms (wall), CPU median "
              f"{np.median(cpu):.3f} ms, p99 {np.percentile(cpu, 99):.3f} ms; "
              f"{int(1000 // median)} pairs per 1-second tick on one core")
    full = _time(lambda: compute_features(candles, btc), 5)[0]
    print(f"full history ({len(candles)} candles, training path): median {np.median(full):.1f} ms")


if __name__ == "__main__":
    main()
