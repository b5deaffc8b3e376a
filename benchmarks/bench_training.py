"""Wall time and peak memory of the full training run (issue goal: all 37 pairs at 1h in
<= 60 s and <= 2 GiB). Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_training.py [--data ../shared/data/binance]
    .venv/bin/python benchmarks/bench_training.py --dask    # the Dask path (bench_dask.py)

Falls back to the shipped sample (data/sample/binance) when the full set is absent. Artifacts
go to a temporary folder; the repository's models/ is left alone.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ml_signals.setups import STRATEGIES  # noqa: E402
from training.backtest import BacktestConfig, run_backtests  # noqa: E402
from training.data import load_dir  # noqa: E402
from training.labels.dataset import compute_pair_features  # noqa: E402
from training.labels.outcomes import FeeSchedule  # noqa: E402
from training.pipeline import train_all  # noqa: E402


def main() -> None:
    """Time each stage of one full run and print wall times and peak RSS."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "binance")
    p.add_argument("--dask", action="store_true",
                   help="instead: the Dask path, in-process vs 1 and 2 workers, 1h and 15m, and "
                        "the 500-pair estimate (benchmarks/bench_dask.py)")
    p.add_argument("--torch", action="store_true",
                   help="instead: the torch family's training alone (bench_torch_family)")
    args = p.parse_args()
    if args.dask:
        bench_dask(args.data)
        return
    data = args.data if args.data.is_dir() else REPO / "data" / "sample" / "binance"
    if data != args.data:
        print(f"{args.data} not found; using the shipped sample {data}")
    logging.basicConfig(level=logging.WARNING)
    if args.torch:
        bench_torch_family(data)
        return

    t0 = time.perf_counter()
    candles = load_dir(data, interval="1h")
    t1 = time.perf_counter()
    compute_pair_features(candles, "BTC-USDT")  # measured alone; train_all recomputes it
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as models:
        run = train_all(candles, "BTC-USDT", STRATEGIES, FeeSchedule(), Path(models),
                        progress=False)
    t3 = time.perf_counter()
    backtests = run_backtests(run, BacktestConfig())
    t4 = time.perf_counter()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = sum(len(c.frame) for c in candles.values())
    setups = {s: len(r.dataset.frame) for s, r in run.strategies.items()}
    print(f"data: {data}  pairs: {len(candles)}  candles: {rows:,}  setups: {setups}")
    print(f"load candles:                 {t1 - t0:7.2f} s")
    print(f"features (all pairs):         {t2 - t1:7.2f} s")
    print(f"train_all (features, detect, labels, walk-forward, artifacts): {t3 - t2:7.2f} s")
    print(f"portfolio backtests ({len(backtests)} runs): {t4 - t3:7.2f} s")
    print(f"total (load + train_all + backtests): {t1 - t0 + t4 - t2:7.2f} s   (goal <= 60 s)")
    print(f"peak RSS: {peak_mib:,.0f} MiB   (goal <= 2048 MiB)")


def bench_dask(data: Path) -> None:
    """The Dask path: every stage in-process and on a local cluster of 1 and 2 workers, on the
    1h and the 15m files of ``data``, then the 500-pair estimate (:mod:`bench_dask`)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_dask

    bench_dask.main(data)


def bench_torch_family(data: Path) -> None:
    """Wall time and peak RSS of training the torch family (``--families torch``: walk-forward,
    null run, published networks exported to ONNX) for every strategy on ``data``, in a
    process that trains nothing else. Needs the ``.[torch]`` extra."""
    import torch

    candles = load_dir(data, interval="1h")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as models:
        run = train_all(candles, "BTC-USDT", STRATEGIES, FeeSchedule(), Path(models),
                        progress=False, families=("torch",))
    t1 = time.perf_counter()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    setups = {s: len(r.dataset.frame) for s, r in run.strategies.items()}
    epochs = {s: [m["rounds"] for m in r.result.fold_metrics] for s, r in run.strategies.items()}
    print(f"data: {data}  pairs: {len(candles)}  setups: {setups}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); classifier epochs "
          f"kept per fold: {epochs}")
    print(f"train_all --families torch (features, detect, labels, windows, walk-forward, null, "
          f"ONNX artifacts): {t1 - t0:7.2f} s")
    print(f"peak RSS: {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
