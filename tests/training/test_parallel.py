"""Training on a Dask LocalCluster (2 worker processes on loopback) equals the in-process run on
the shipped real candles: per-pair features, labelled setup tables, and train_strategy's
out-of-fold table, fold metrics, evidence and published boosters."""

from __future__ import annotations

import json
import math
import os
import socket
from typing import Any

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from ml_signals.scoring.config import DEFAULT_SCORING
from ml_signals.setups import STRATEGIES
from training.labels.dataset import build_dataset, compute_pair_features, label_config_for
from training.models.compare import settings_for
from training.models.train import train_strategy
from training.parallel import (
    IN_PROCESS,
    ClusterError,
    DaskRunner,
    InProcessRunner,
    make_runner,
)


@pytest.fixture(scope="module")
def dask_runner():
    """A LocalCluster of 2 worker processes, 1 thread each, no dashboard, on 127.0.0.1;
    closed after the module's tests."""
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, host="127.0.0.1")
    client = Client(cluster, set_as_default=False)
    runner = DaskRunner(client, cluster, "test cluster")
    yield runner
    runner.close()
    assert cluster.status.name == "closed"


@pytest.fixture(scope="module")
def features_pair(sample_binance, dask_runner):
    local = compute_pair_features(sample_binance, "BTC-USDT")
    remote = compute_pair_features(sample_binance, "BTC-USDT", dask_runner)
    return local, remote


def _canonical(value: Any) -> str:
    """JSON text in which NaN compares equal to NaN (``nan != nan`` in a dict comparison)."""
    def fix(v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return "NaN"
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [fix(x) for x in v]
        return v
    return json.dumps(fix(value), sort_keys=True, default=str)


def test_cluster_listens_on_loopback_with_two_single_thread_workers(dask_runner):
    client = dask_runner.client
    assert client.scheduler.address.startswith("tcp://127.0.0.1:")
    nthreads = client.nthreads()
    assert len(nthreads) == 2 and set(nthreads.values()) == {1}
    assert all(addr.startswith("tcp://127.0.0.1:") for addr in nthreads)
    assert dask_runner.workers == 2
    # the tasks run in the worker processes, not here
    pids = client.run(os.getpid)
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()


def test_map_returns_results_in_input_order_with_shared_values(dask_runner):
    sizes = [7, 1, 5, 3, 9, 2, 8]
    remote = dask_runner.map(np.full, sizes, fill_value=3.5)
    local = IN_PROCESS.map(np.full, sizes, fill_value=3.5)
    assert [len(a) for a in remote] == sizes
    assert all(np.array_equal(a, b) for a, b in zip(remote, local, strict=True))
    assert dask_runner.map(np.full, [], fill_value=1.0) == []


def test_task_errors_are_raised_with_their_type(dask_runner):
    with pytest.raises(ValueError, match="negative dimensions"):
        dask_runner.map(np.zeros, [3, -1])


def test_features_equal_in_process(features_pair, sample_binance):
    local, remote = features_pair
    assert list(remote) == list(local) == list(sample_binance)
    for pair in local:
        pd.testing.assert_frame_equal(remote[pair].features, local[pair].features,
                                      check_exact=True)
        assert remote[pair].candles is sample_binance[pair]
        assert (remote[pair].reference is None) == (local[pair].reference is None)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_datasets_equal_in_process(features_pair, dask_runner, strategy):
    local_features, _ = features_pair
    config = label_config_for(DEFAULT_SCORING[strategy])
    local = build_dataset(strategy, local_features, label_config=config)
    remote = build_dataset(strategy, local_features, label_config=config, runner=dask_runner)
    assert len(local.frame) > 0
    pd.testing.assert_frame_equal(remote.frame, local.frame, check_exact=True)
    assert remote.setups == local.setups
    assert remote.input_columns == local.input_columns
    assert remote.data_end_s == local.data_end_s
    assert remote.dropped_bad_candles == local.dropped_bad_candles


@pytest.mark.parametrize("strategy", ["dca", "channel"])
def test_train_strategy_equals_in_process(features_pair, dask_runner, strategy):
    local_features, _ = features_pair
    scoring = DEFAULT_SCORING[strategy]
    ds = build_dataset(strategy, local_features, label_config=label_config_for(scoring))
    settings = settings_for(strategy)
    local = train_strategy(ds, scoring, settings=settings)
    remote = train_strategy(ds, scoring, settings=settings, runner=dask_runner)
    assert len(local.fold_metrics) >= 2  # more folds than workers went through the cluster
    pd.testing.assert_frame_equal(remote.oof, local.oof, check_exact=True)
    assert _canonical(remote.fold_metrics) == _canonical(local.fold_metrics)
    assert _canonical(remote.evidence) == _canonical(local.evidence)
    assert "null" in local.evidence
    assert remote.verdict == local.verdict
    assert remote.rule == local.rule and remote.calibration == local.calibration
    x = ds.inputs()
    cols = list(ds.input_columns)
    import xgboost as xgb

    for role, booster in local.models.items():
        other = remote.models[role]
        assert bytes(other.save_raw("ubj")) == bytes(booster.save_raw("ubj")), role
        matrix = xgb.DMatrix(x, feature_names=cols)
        assert np.array_equal(other.predict(matrix), booster.predict(matrix)), role


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_cluster_is_one_line_naming_the_address():
    address = f"tcp://127.0.0.1:{_closed_port()}"
    with pytest.raises(ClusterError) as info:
        make_runner(address, timeout_s=2)
    message = str(info.value)
    assert address in message and "\n" not in message


@pytest.mark.parametrize("address", ["127.0.0.1:8786", "tcp://scheduler", "http://h:8786"])
def test_malformed_cluster_address_is_refused(address):
    with pytest.raises(ClusterError, match="expected tcp://HOST:PORT"):
        make_runner(address)


def test_default_runner_is_in_process_and_workers_must_be_positive():
    assert isinstance(make_runner(), InProcessRunner)
    with pytest.raises(ClusterError, match="at least 1"):
        make_runner(workers=0)


def _train_cli(repo_root, sample_dir, out, *extra: str):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "training", "train", "--data", str(sample_dir / "binance"),
           "--models", str(out / "models"), "--reports", str(out / "reports"),
           "--strategies", "dca", "--publish", "never", "--no-progress", *extra]
    return subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True,  # noqa: S603
                          timeout=900, check=False)


def _manifests(models) -> dict[str, dict]:
    out = {}
    for strategy_dir in sorted(models.iterdir()):
        (version,) = (v for v in strategy_dir.iterdir() if v.name != "current")
        manifest = json.loads((version / "manifest.json").read_text())
        for volatile in ("version", "created_at_s"):
            manifest.pop(volatile)
        out[strategy_dir.name] = manifest
    return out


def test_cli_workers_2_writes_the_same_manifests(repo_root, sample_dir, tmp_path):
    plain = _train_cli(repo_root, sample_dir, tmp_path / "plain")
    assert plain.returncode == 0, plain.stderr[-2000:]
    dask = _train_cli(repo_root, sample_dir, tmp_path / "dask", "--workers", "2")
    assert dask.returncode == 0, dask.stderr[-2000:]
    assert "tasks: local Dask cluster, 2 workers x 1 thread" in dask.stderr
    assert "tasks: in-process" in plain.stderr
    local, remote = (_manifests(tmp_path / p / "models") for p in ("plain", "dask"))
    assert set(local) == {"dca"} == set(remote)
    for strategy in local:
        assert remote[strategy]["evidence"] == local[strategy]["evidence"], strategy
        # the whole manifest: folds, metrics, rule, calibration, sha256 of every model file
        assert remote[strategy] == local[strategy], strategy


def test_cli_unreachable_cluster_exits_2_with_one_line(repo_root, sample_dir, tmp_path):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    result = _train_cli(repo_root, sample_dir, tmp_path, "--cluster", address)
    assert result.returncode == 2
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert address in line and "no Dask scheduler answered" in line
    assert not (tmp_path / "models").exists()
