"""The exit kernel's on-disk numba cache (training/labels/jit.py): one stamp over all kernel
modules, so a cached batch driver is recompiled when a function it calls changes in another
file. Runs the kernel in fresh processes on a copy of the kernel modules (the repository's own
files are never touched)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from training.labels import batch, executor_walk, hb_parity, jit

# Replays two positions (one market entry, one 2-level grid) and prints, per cached kernel
# function, whether this process loaded it from the cache (hits) or compiled it (misses).
PROBE = """
import json
import numpy as np
from training.labels import batch, hb_parity
from training.labels.batch import PositionBatch, simulate_positions

n = 40
close = 100.0 + np.sin(np.arange(n) / 3.0) * 5.0
open_, high, low = close.copy(), close * 1.01, close * 0.99
nan = np.nan
b = PositionBatch(
    entry_bar=np.array([1, 2]), market_entry=np.array([True, False]),
    level_price=np.array([[nan, nan], [99.0, 98.0]]),
    level_quote=np.array([[100.0, nan], [50.0, 50.0]]), n_levels=np.array([1, 2]),
    take_profit_frac=np.array([0.03, 0.03]), stop_loss_frac=np.array([0.05, 0.05]),
    trailing_activation_frac=np.array([nan, nan]), trailing_delta_frac=np.array([nan, nan]),
    time_limit_bars=np.array([20, 20]), tp_limit_order=np.array([True, False]),
    sl_needs_all_levels=np.array([False, True]),
)
simulate_positions(open_, high, low, close, b, 0.0016, 0.0026)
simulate_positions(open_, high, low, close, b, 0.0016, 0.0026, hummingbot_sim=True)
out = {}
for name, fn in (("_simulate_batch", batch._simulate_batch), ("_hb_batch", hb_parity._hb_batch)):
    out[name] = {"hits": sum(fn.stats.cache_hits.values()),
                 "misses": sum(fn.stats.cache_misses.values())}
print(json.dumps(out))
"""


def _kernel_functions() -> dict[str, object]:
    return {f"{mod.__name__}.{name}": obj for mod in (executor_walk, hb_parity, batch)
            for name, obj in vars(mod).items() if hasattr(obj, "_cache")}


def test_every_kernel_function_carries_the_stamp_of_all_kernel_files() -> None:
    functions = _kernel_functions()
    for name in ("executor_walk.simulate_one", "executor_walk._store", "hb_parity._hb_batch",
                 "batch._simulate_batch", "batch._best_batch"):
        assert f"training.labels.{name}" in functions
    expected = tuple((p.stat().st_mtime, p.stat().st_size) for p in jit.KERNEL_FILES)
    assert {p.name for p in jit.KERNEL_FILES} == {
        "jit.py", "executor_walk.py", "hb_parity.py", "batch.py"}
    for name, fn in functions.items():
        locator = fn._cache._impl.locator  # type: ignore[attr-defined]
        assert locator.get_source_stamp() == expected, name


def _copy_kernel(dst: Path) -> Path:
    """The kernel modules as a package ``training.labels`` under ``dst`` (they import nothing
    else from the project)."""
    pkg = dst / "training" / "labels"
    pkg.mkdir(parents=True)
    (dst / "training" / "__init__.py").write_text("")
    for src in [*jit.KERNEL_FILES, Path(jit.__file__).with_name("__init__.py")]:
        shutil.copy2(src, pkg / src.name)
    return pkg


def _probe(root: Path) -> dict[str, dict[str, int]]:
    env = {k: v for k, v in os.environ.items() if k not in {"NUMBA_CACHE_DIR", "PYTHONPATH"}}
    env["PYTHONPATH"] = str(root)
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=root, env=env, capture_output=True,  # noqa: S603
                          text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cache_is_reused_and_invalidated_by_an_edit_in_another_kernel_file(
        tmp_path: Path) -> None:
    pkg = _copy_kernel(tmp_path)
    first = _probe(tmp_path)
    assert first["_simulate_batch"]["misses"] > 0  # empty cache: compiled
    second = _probe(tmp_path)
    assert second["_simulate_batch"] == {"hits": 1, "misses": 0}
    assert second["_hb_batch"] == {"hits": 1, "misses": 0}
    assert list((pkg / "__pycache__").glob("batch._simulate_batch-*.nbi"))
    # an edit of the walk only (the file _simulate_batch calls into, not its own file)
    walk = pkg / "executor_walk.py"
    walk.write_text(walk.read_text() + "\n# edited\n")
    third = _probe(tmp_path)
    assert third["_simulate_batch"]["hits"] == 0
    assert third["_simulate_batch"]["misses"] > 0
    assert third["_hb_batch"]["hits"] == 0  # hb_parity calls _store from the walk's file
