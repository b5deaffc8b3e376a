"""CPU and wall time of a fixed replay window in each replay mode, with the summaries to compare.

Usage::

    .venv/bin/python benchmarks/bench_replay.py [--script ml_channel] [--days 14]
        [--end 2026-02-19] [--data data/sample/binance] [--modes full,incremental,fast]

Replays ``--script`` (rules-only, BTC/ETH/SOL, the ``--days`` days before ``--end``) inside
Hummingbot's backtest clock (:func:`training.replay.runner.run_replay`) once per mode, in this
process (imports paid once, before timing):

- ``full``: ``incremental_features: false`` (``compute_features`` on the 710-candle window at
  every decision) and the exhaustive replay (Hummingbot's executor reports rebuilt and the paper
  exchange's network checked every 10 s, at every sub-tick): the per-tick and per-candle work
  of the replay before incremental features and the fast mode;
- ``incremental``: incremental features, exhaustive replay;
- ``fast``: incremental features and the fast replay (the default of ``make replay``).

Prints per mode the wall and CPU seconds, per candle, and the summary (setups, executors by
close type, net PnL), which must be the same in every mode, then the CPU ratios. No assertions:
figures only. ``make replay``'s own figures (both runs, all scripts, 61 days): time it, e.g.
``/usr/bin/time -f "%U %S %e" make replay``, at this commit and at an earlier one.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from training.replay.runner import ReplaySpec, run_replay  # noqa: E402

MODES: dict[str, tuple[bool, bool]] = {  # mode -> (incremental features, exhaustive replay)
    "full": (False, True),
    "incremental": (True, True),
    "fast": (True, False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", default="ml_channel")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--end", type=datetime.fromisoformat, default=datetime(2026, 2, 19))
    parser.add_argument("--data", type=Path, default=REPO_ROOT / "data/sample/binance")
    parser.add_argument("--modes", default="full,incremental,fast")
    args = parser.parse_args()
    os.chdir(REPO_ROOT)  # the scripts' conf and models paths are relative to the repo
    start = args.end - timedelta(days=args.days)
    print(f"{args.script}, BTC/ETH/SOL, {start:%Y-%m-%d} .. {args.end:%Y-%m-%d}, rules-only; "
          f"load average {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
    cpu_of: dict[str, float] = {}
    for mode in args.modes.split(","):
        incremental, exhaustive = MODES[mode]
        with tempfile.TemporaryDirectory() as out:
            spec = ReplaySpec(script=args.script, data_dir=args.data,
                              pairs=("BTC-USDT", "ETH-USDT", "SOL-USDT"), start=start,
                              end=args.end, out_dir=Path(out), models_dir=str(Path(out) / "none"),
                              exhaustive=exhaustive,
                              overrides={"no_model_policy": "rules_only",
                                         "incremental_features": incremental})
            wall, cpu = time.perf_counter(), time.process_time()
            result = run_replay(spec, log_level=logging.CRITICAL)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        closed = ", ".join(f"{k} {v}" for k, v in sorted(result.closed_by_type.items()))
        pnl = sum(e.net_pnl_quote for e in result.executors)
        print(f"{mode:>12}: wall {wall:6.1f} s, CPU {cpu:6.1f} s "
              f"({1e3 * cpu / result.candles:.1f} ms CPU per candle, {result.candles} candles, "
              f"{result.subticks} ticks); setups {len(result.setups or ())}, executors "
              f"{len(result.executors)} ({closed or 'none closed'}), net PnL {pnl:+.4f} quote")
        cpu_of[mode] = cpu
    fastest = min(cpu_of, key=cpu_of.__getitem__)
    print("CPU ratios to " + fastest + ": " + ", ".join(
        f"{mode} {cpu / cpu_of[fastest]:.1f}x" for mode, cpu in cpu_of.items()))


if __name__ == "__main__":
    main()
