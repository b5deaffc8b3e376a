"""How fast the label replay runs on real candles: setups labelled per second.

Usage::

    .venv/bin/python benchmarks/bench_labels.py [--data-dir data/sample/binance] [--every 5]
        [--repeat 3]

For every ``*_USDT-1h.feather`` in ``--data-dir`` builds one setup every ``--every`` candles,
alternating a market entry (5 % / 5 % / 48 h, every third with a 2 % / 1 % trailing stop) and a
5-level DCA grid 1 % apart from the setup close (3 % / 8 % / 72 h). Times, after a warm-up call
that compiles or loads the numba cache, the main replay (``simulate_positions``), the
take-profit / stop-loss grid search (``best_exits``, 13 x 8 pairs per setup) and the whole
``label_setups`` call. Prints the best of ``--repeat`` runs. No assertions: figures only.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ml_signals.exits import ExitRules
from ml_signals.setups.base import EntryPlan, Setup
from training.labels.batch import best_exits, simulate_positions
from training.labels.outcomes import FeeSchedule, LabelConfig, _build_batch, label_setups

REPO_ROOT = Path(__file__).resolve().parents[1]
HOUR = 3600


def _load(path: Path) -> pd.DataFrame:
    raw = pd.read_feather(path)
    seconds = (raw["date"].dt.tz_convert("UTC").dt.tz_localize(None) - pd.Timestamp(0)) // \
        pd.Timedelta(seconds=1)
    return raw.drop(columns="date").assign(timestamp=seconds.astype("int64"))


def _setups(pair: str, candles: pd.DataFrame, every: int) -> list[Setup]:
    close = candles["close"].to_numpy()
    ts = candles["timestamp"].to_numpy()
    out = []
    for n, i in enumerate(range(200, len(candles), every)):
        if n % 2:
            trailing = (0.02, 0.01) if n % 3 == 0 else (None, None)
            out.append(Setup("swing", pair, int(ts[i]), i, float(close[i]),
                             EntryPlan("market", (), (100.0,)),
                             ExitRules(0.05, 0.05, 48 * HOUR, *trailing)))
        else:
            prices = tuple(round(float(close[i]) * (1 - 0.01 * (j + 1)), 8) for j in range(5))
            out.append(Setup("dca", pair, int(ts[i]), i, float(close[i]),
                             EntryPlan("limit_grid", prices, (100.0,) * 5),
                             ExitRules(0.03, 0.08, 72 * HOUR)))
    return out


def _best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / "data/sample/binance")
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    fees, cfg = FeeSchedule(), LabelConfig()
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"grid {cfg.take_profit_grid().size} x {cfg.stop_loss_grid().size}")
    start = time.perf_counter()
    first = sorted(args.data_dir.glob("*_USDT-1h.feather"))[0]
    c0 = _load(first)
    label_setups(_setups("WARM-USDT", c0, 500), c0, HOUR)
    print(f"warm-up (compile or load the numba cache): {time.perf_counter() - start:.2f} s")
    total_n, total_t = 0, 0.0
    for path in sorted(args.data_dir.glob("*_USDT-1h.feather")):
        pair = path.name.split("-")[0].replace("_", "-")
        candles = _load(path)
        setups = _setups(pair, candles, args.every)
        batch = _build_batch(setups, candles["timestamp"].to_numpy(), HOUR, cfg)
        o, h, lo, c = (candles[k].to_numpy() for k in ("open", "high", "low", "close"))
        ts = candles["timestamp"].to_numpy()
        t_sim = _best_of(args.repeat, lambda: simulate_positions(
            o, h, lo, c, batch, fees.maker_frac, fees.taker_frac))  # noqa: B023
        t_best = _best_of(args.repeat, lambda: best_exits(
            o, h, lo, c, ts, HOUR, batch, cfg.take_profit_grid(),  # noqa: B023
            cfg.stop_loss_grid(), fees.maker_frac, fees.taker_frac))
        t_all = _best_of(args.repeat, lambda: label_setups(setups, candles, HOUR))  # noqa: B023
        n = len(setups)
        total_n += n
        total_t += t_all
        print(f"{pair:10s} {len(candles):6d} candles {n:5d} setups | replay "
              f"{n / t_sim:10,.0f}/s | tp/sl grid {n / t_best:8,.0f}/s | label_setups "
              f"{n / t_all:8,.0f}/s ({t_all * 1000:.0f} ms)")
    print(f"overall label_setups: {total_n} setups in {total_t:.2f} s = "
          f"{total_n / total_t:,.0f} setups/s (one core)")


if __name__ == "__main__":
    main()
