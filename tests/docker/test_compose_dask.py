"""The compose file's ``dask`` profile, checked without a Docker engine: the YAML parses, the
scheduler and workers come from this project's image (same code and Dask version as the
client), each worker runs one single-threaded process, and the training service points
``--cluster`` at the scheduler. Then the scheduler's and a worker's command lines, as written
there, are started as real processes on 127.0.0.1 and the per-pair features run on them."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from training.data import load_dir
from training.labels.dataset import compute_pair_features
from training.parallel import make_runner

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_BIN = "/opt/conda/envs/hummingbot/bin/"


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_dask_profile_services(services: dict) -> None:
    dask = {n: s for n, s in services.items() if "dask" in s.get("profiles", [])}
    assert set(dask) == {"dask-scheduler", "dask-worker", "training-dask"}
    for name, service in dask.items():
        assert service["image"] == services["training"]["image"], name
        assert service["build"] == services["training"]["build"], name
    scheduler = dask["dask-scheduler"]["command"]
    assert scheduler[:2] == [f"{ENV_BIN}dask", "scheduler"]
    assert scheduler[scheduler.index("--port") + 1] == "8786"
    assert dask["dask-scheduler"]["ports"] == ["127.0.0.1:8786:8786"]  # host loopback only
    worker = dask["dask-worker"]["command"]
    assert worker[:3] == [f"{ENV_BIN}dask", "worker", "tcp://dask-scheduler:8786"]
    assert worker[worker.index("--nthreads") + 1] == "1"
    assert worker[worker.index("--nworkers") + 1] == "1"
    assert dask["dask-worker"]["deploy"]["replicas"] == 2
    train = dask["training-dask"]["command"]
    assert train[:4] == [f"{ENV_BIN}python", "-m", "training", "train"]
    assert train[train.index("--cluster") + 1] == "tcp://dask-scheduler:8786"
    assert set(dask["training-dask"]["depends_on"]) == {"dask-scheduler", "dask-worker"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local(command: list[str], port: int) -> list[str]:
    """A compose command run from this venv, on 127.0.0.1 and ``port``."""
    dask = shutil.which("dask", path=str(Path(sys.executable).parent))
    assert dask is not None, "dask's command line is not in the venv"
    args = [dask, *command[1:]]
    args = [f"tcp://127.0.0.1:{port}" if a == "tcp://dask-scheduler:8786" else a for a in args]
    if "--port" in args:
        args[args.index("--port") + 1] = str(port)
    return [*args, "--host", "127.0.0.1"]


def test_compose_commands_run_a_cluster_the_features_run_on(services: dict, tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path.joinpath("s.log").open("w")
    procs = [subprocess.Popen(_local(services["dask-scheduler"]["command"], port),  # noqa: S603
                              stdout=subprocess.DEVNULL, stderr=log)]
    try:
        procs.append(subprocess.Popen(_local(services["dask-worker"]["command"], port),  # noqa: S603
                                      stdout=subprocess.DEVNULL, stderr=log))
        address = f"tcp://127.0.0.1:{port}"
        runner = None
        for _ in range(60):  # the scheduler takes a few seconds to listen
            try:
                runner = make_runner(address, timeout_s=2)
                break
            except ValueError:
                assert procs[0].poll() is None, tmp_path.joinpath("s.log").read_text()[-2000:]
                time.sleep(0.5)
        assert runner is not None, f"no scheduler at {address}"
        with runner:
            sets = load_dir(REPO / "data" / "sample" / "binance", interval="1h",
                            pairs=["BTC-USDT", "ETH-USDT"])
            remote = compute_pair_features(sets, "BTC-USDT", runner)
        local = compute_pair_features(sets, "BTC-USDT")
        for pair in local:
            pd.testing.assert_frame_equal(remote[pair].features, local[pair].features,
                                          check_exact=True)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
