"""Training's Dask path: wall time and peak memory in-process and on a local cluster of 1 and 2
workers (one thread each), on the 37 pairs at 1h and the 5 pairs at 15m; a scaling table; and
an estimate for 500 pairs x 3 years at 1h and 15m on N = 1, 2, 8, 32 workers from the per-task
costs measured here. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_training.py --dask [--data ../shared/data/binance]

Each configuration runs in its own process (so its peak RSS is its own). The stages are those
of ``train_all`` without artifacts and backtests: per-pair features, per-pair setups and labels
for the three strategies, and per strategy the walk-forward, its null and the published fit.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

YEAR_S = 365 * 86_400
CONFIGS = (None, 1, 2)
"""Workers per run: ``None`` is the in-process runner."""


def measure(data: Path, interval: str, workers: int | None) -> dict[str, Any]:
    """One configuration's stage times (s), peak RSS (MiB), sizes and a digest of the results."""
    from ml_signals.scoring.config import DEFAULT_SCORING
    from ml_signals.setups import STRATEGIES
    from training.data import load_dir
    from training.labels.dataset import build_dataset, compute_pair_features, label_config_for
    from training.models.compare import settings_for
    from training.models.model_set import TooFewSetupsError
    from training.models.train import train_strategy
    from training.parallel import DaskRunner, make_runner

    candles = load_dir(data, interval=interval)
    pair_years = sum(len(c.frame) * c.interval_s for c in candles.values()) / YEAR_S
    out: dict[str, Any] = {"interval": interval, "workers": workers, "pairs": len(candles),
                           "candles": sum(len(c.frame) for c in candles.values()),
                           "pair_years": pair_years, "strategies": {}}
    t0 = time.perf_counter()
    with make_runner(workers=workers) as runner:
        if isinstance(runner, DaskRunner):  # imports on every worker: part of start-up
            runner.client.run(importlib.import_module, "training.models.fold_task")
        t1 = time.perf_counter()
        features = compute_pair_features(candles, "BTC-USDT", runner)
        t2 = time.perf_counter()
        datasets = {s: build_dataset(s, features, label_config=label_config_for(
            DEFAULT_SCORING[s]), runner=runner) for s in STRATEGIES}
        t3 = time.perf_counter()
        digest = hashlib.sha256()
        for strategy, ds in datasets.items():
            ts = time.perf_counter()
            try:
                res = train_strategy(ds, DEFAULT_SCORING[strategy],
                                     settings=settings_for(strategy), runner=runner)
            except TooFewSetupsError:
                continue
            folds = [m["train_rows"] for m in res.fold_metrics]
            final_rows = int((res.plan.final_train & res.trainable).sum())
            out["strategies"][strategy] = {
                "setups": len(ds.frame), "train_s": time.perf_counter() - ts,
                "fold_rows": folds, "final_rows": final_rows}
            digest.update(json.dumps(res.evidence, sort_keys=True, default=str).encode())
            digest.update(pd.util.hash_pandas_object(res.oof).to_numpy().tobytes())
        t4 = time.perf_counter()
        worker_mib = 0.0
        if isinstance(runner, DaskRunner):
            peaks = runner.client.run(resource.getrusage, resource.RUSAGE_SELF)
            worker_mib = sum(r.ru_maxrss for r in peaks.values()) / 1024
    out.update(start_s=t1 - t0, features_s=t2 - t1, labels_s=t3 - t2, train_s=t4 - t3,
               client_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               worker_mib=worker_mib, digest=digest.hexdigest()[:16],
               features_mib=sum(f.features.memory_usage(deep=True).sum()
                                for f in features.values()) / 2**20)
    return out


def _run(data: Path, interval: str, workers: int | None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", str(data), interval, str(workers or 0)]
    # one OpenMP thread everywhere, as in the image and in Dask's workers (the nanny sets it):
    # else the in-process run alone pays OpenMP barrier waits on a busy host
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True,  # noqa: S603
                          env=env)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _lpt(costs: list[float], n: int) -> float:
    """Makespan of ``costs`` on ``n`` workers, longest task first to the least loaded."""
    loads = [0.0] * n
    for c in sorted(costs, reverse=True):
        loads[loads.index(min(loads))] += c
    return max(loads)


def unit_costs(base: dict[str, Any]) -> dict[str, Any]:
    """Per-task costs from an in-process run: features+labels s per pair-year; training s per
    10k rows fitted (each fold fit and its null twin, plus the published fit); setups per
    pair-year and each fold's training rows as a share of the setups, per strategy."""
    rows = sum(2 * sum(s["fold_rows"]) + s["final_rows"] for s in base["strategies"].values())
    return {
        "fl_s_per_pair_year": (base["features_s"] + base["labels_s"]) / base["pair_years"],
        "train_s_per_10k_rows": base["train_s"] / (rows / 10_000),
        "features_mib_per_pair_year": base["features_mib"] / base["pair_years"],
        "strategies": {k: {"setups_per_pair_year": s["setups"] / base["pair_years"],
                           "fold_share": [r / s["setups"] for r in s["fold_rows"]],
                           "final_share": s["final_rows"] / s["setups"]}
                       for k, s in base["strategies"].items()},
    }


def estimate(units: dict[str, Any], pairs: int, years: float, n: int) -> dict[str, float]:
    """Hours for ``pairs`` x ``years`` on ``n`` workers: features+labels (one task per pair)
    and training (per strategy: the folds' map, the null's map, the published fit here)."""
    per_pair = units["fl_s_per_pair_year"] * years
    fl = math.ceil(pairs / n) * per_pair
    train = 0.0
    u = units["train_s_per_10k_rows"] / 10_000
    for s in units["strategies"].values():
        setups = s["setups_per_pair_year"] * pairs * years
        folds = [u * f * setups for f in s["fold_share"]]
        train += 2 * _lpt(folds, n) + u * s["final_share"] * setups
    return {"features_labels_h": fl / 3600, "train_h": train / 3600,
            "total_h": (fl + train) / 3600,
            "setups": sum(s["setups_per_pair_year"] for s in units["strategies"].values())
            * pairs * years,
            "client_features_gib": units["features_mib_per_pair_year"] * pairs * years / 1024}


def main(data: Path) -> None:
    """Measure every configuration, print the scaling table and the 500-pair estimate."""
    runs = [_run(data, interval, w) for interval in ("1h", "15m") for w in CONFIGS]
    print(f"data: {data}; one thread per worker, XGBoost nthread 1 per task, OMP_NUM_THREADS=1; "
          f"load average "
          f"before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'interval':8} {'pairs':>5} {'pair-yr':>7} {'runner':>10} {'start':>6} "
          f"{'features':>8} {'labels':>7} {'train':>7} {'total':>7} {'speed-up':>8} "
          f"{'client MiB':>10} {'workers MiB':>11}  results")
    base: dict[str, dict[str, Any]] = {}
    for r in runs:
        total = r["features_s"] + r["labels_s"] + r["train_s"]
        ref = base.setdefault(r["interval"], {**r, "total": total})
        same = "identical" if r["digest"] == ref["digest"] else "DIFFER"
        runner = "in-process" if not r["workers"] else f"{r['workers']} worker" + (
            "s" if r["workers"] > 1 else "")
        print(f"{r['interval']:8} {r['pairs']:>5} {r['pair_years']:>7.1f} {runner:>10} "
              f"{r['start_s']:>6.1f} {r['features_s']:>8.1f} {r['labels_s']:>7.1f} "
              f"{r['train_s']:>7.1f} {total:>7.1f} {ref['total'] / total:>7.2f}x "
              f"{r['client_mib']:>10,.0f} {r['worker_mib']:>11,.0f}  {same}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print("(seconds; start = cluster start-up and imports on the workers, not in total; "
          "speed-up vs in-process)")
    for interval, ref in base.items():
        units = unit_costs(ref)
        print(f"\nper-task costs at {interval} (in-process): features+labels "
              f"{units['fl_s_per_pair_year']:.2f} s per pair-year; training "
              f"{units['train_s_per_10k_rows']:.2f} s per 10k rows fitted (fold fits, null "
              f"twins, published fit); features in the client "
              f"{units['features_mib_per_pair_year']:.1f} MiB per pair-year; setups per "
              "pair-year " + ", ".join(f"{k} {v['setups_per_pair_year']:.0f}"
                                       for k, v in units["strategies"].items()))
        print(f"estimate, 500 pairs x 3 years at {interval}:")
        for n in (1, 2, 8, 32):
            e = estimate(units, 500, 3.0, n)
            print(f"  N={n:>2}: features+labels {e['features_labels_h']:6.2f} h, training "
                  f"{e['train_h']:6.2f} h, total {e['total_h']:6.2f} h "
                  f"({e['setups']:,.0f} setups; {e['client_features_gib']:.1f} GiB of "
                  "features gathered in the client)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        import logging

        logging.basicConfig(level=logging.ERROR)
        w = int(sys.argv[4])
        print(json.dumps(measure(Path(sys.argv[2]), sys.argv[3], w or None)))
    else:
        main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "data"
             / "binance")
