"""Task runners: one seam through which training maps its independent pieces of work.

Per-pair feature and label computation (:mod:`training.labels.dataset`) and per-fold model fitting
(:mod:`training.models.train`) are independent tasks. They go through a :class:`TaskRunner`, whose
``map(fn, items, **shared)`` returns ``[fn(item, **shared) for item in items]`` **in input
order**, wherever it ran. Any model family (XGBoost today, a torch family fitted one model per
task) schedules its folds the same way: a top-level, picklable function of one item.

- :class:`InProcessRunner` (the default): a plain loop in this process, today's path.
- :class:`DaskRunner`: the tasks run on a Dask cluster, either one this process starts on
  loopback (``--workers N``: a ``LocalCluster`` of N worker processes, one thread each, no
  dashboard; the scheduler's HTTP health endpoint stays on 127.0.0.1) or an existing
  scheduler (``--cluster tcp://HOST:8786``). ``shared`` values (the dataset, the input matrix,
  the BTC candles) are sent to the workers once per ``map``, not once per task.

Results are bit-identical across runners: the same functions on the same inputs, the same seeds
(``training.models.boosters.BASE_PARAMS``), one XGBoost thread per task (``nthread`` 1) and one
thread per
Dask worker, so N workers use N cores (a torch family's task likewise calls
``torch.set_num_threads(1)``). Each model is still fitted by one task on one node: XGBoost's own
``xgboost.dask`` splits one model's rows over workers and merges per-worker quantile sketches
and histograms, so bins and float sums depend on the partitioning: not used. Task errors are
re-raised here with their own type. Logging inside a task happens where the task runs (a remote
worker's log), so the tasks of this package return what is worth logging and the caller logs it.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
from collections.abc import Callable, Iterable
from typing import Any, Final, Self

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S: Final = 5.0
"""How long ``--cluster`` waits for the scheduler before giving up (seconds)."""
WORKER_WAIT_S: Final = 120.0
"""How long a ``map`` waits for a first worker on a cluster that has none (seconds)."""

_ADDRESS = re.compile(r"^(tcp|tls)://[^\s:/]+:\d{1,5}$")


class ClusterError(ValueError):
    """A cluster option that cannot be honoured: a malformed or unreachable scheduler address,
    or a worker count below 1. The message is one line naming the address or the value."""


class TaskRunner:
    """Runs independent tasks; subclasses decide where.

    Use as a context manager (``with make_runner(...) as runner``) so a cluster this process
    started is shut down.
    """

    workers: int = 1
    """Tasks that can run at the same time."""

    def map(self, fn: Callable[..., Any], items: Iterable[Any], **shared: Any) -> list[Any]:
        """``[fn(item, **shared) for item in items]``, in input order.

        ``fn`` must be a top-level (picklable) function; ``shared`` keyword values are the same
        for every task. Raises whatever ``fn`` raises (the first failing task's error).
        """
        raise NotImplementedError

    def describe(self) -> str:
        """One line for logs: where the tasks run."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the runner holds (a cluster it started); idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessRunner(TaskRunner):
    """Every task in this process, one after the other (the default)."""

    def map(self, fn: Callable[..., Any], items: Iterable[Any], **shared: Any) -> list[Any]:
        """See :meth:`TaskRunner.map`."""
        return [fn(item, **shared) for item in items]

    def describe(self) -> str:
        """See :meth:`TaskRunner.describe`."""
        return "in-process"


IN_PROCESS: Final = InProcessRunner()
"""Stateless default runner."""


class DaskRunner(TaskRunner):
    """Tasks on a Dask cluster through a ``distributed.Client``.

    Build it with :meth:`local` or :meth:`connect`. ``map`` scatters each ``shared`` value to
    every worker once (``broadcast``) and the items across the workers, submits one task per
    item (``pure=False``: nothing is cached between calls) and gathers the results in input
    order.
    """

    def __init__(self, client: Any, cluster: Any | None = None, label: str = "") -> None:
        """Wrap ``client``; ``cluster`` (a ``LocalCluster`` this runner owns) is closed by
        :meth:`close`."""
        self._client = client
        self._cluster = cluster
        self._label = label
        self.workers = max(1, sum(client.nthreads().values()))

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (diagnostics such as ``client.run``); ``None`` once
        closed."""
        return self._client

    @classmethod
    def local(cls, n_workers: int) -> DaskRunner:
        """Start a ``LocalCluster`` on 127.0.0.1: ``n_workers`` processes, one thread each,
        no dashboard.

        Raises:
            ClusterError: ``n_workers`` < 1.
        """
        if n_workers < 1:
            raise ClusterError(f"--workers must be at least 1, got {n_workers}")
        from distributed import Client, LocalCluster

        cores = os.cpu_count() or 1
        if n_workers > cores:
            log.warning("%d workers on %d cores: tasks will share cores", n_workers, cores)
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, host="127.0.0.1",
                               silence_logs=logging.WARNING)
        try:
            client = Client(cluster, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
        return cls(client, cluster, f"local Dask cluster, {n_workers} workers x 1 thread")

    @classmethod
    def connect(cls, address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> DaskRunner:
        """Connect to the scheduler at ``address`` (``tcp://HOST:PORT``).

        Raises:
            ClusterError: the address is malformed, or no scheduler answered within
                ``timeout_s`` seconds (the message names the address).
        """
        if not _ADDRESS.match(address):
            raise ClusterError(f"--cluster {address!r}: expected tcp://HOST:PORT "
                               "(e.g. tcp://scheduler:8786)")
        from distributed import Client

        try:
            client = Client(address, timeout=timeout_s, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ClusterError(f"--cluster {address}: no Dask scheduler answered within "
                               f"{timeout_s:g} s ({reason})") from None
        runner = cls(client, None, f"Dask cluster {address}")
        if not client.nthreads():
            log.warning("Dask cluster %s has no workers yet; tasks wait for one", address)
        return runner

    def map(self, fn: Callable[..., Any], items: Iterable[Any], **shared: Any) -> list[Any]:
        """See :meth:`TaskRunner.map`.

        Raises:
            ClusterError: the cluster has no worker and none joined within
                :data:`WORKER_WAIT_S` seconds.
        """
        items = list(items)
        if not items:
            return []
        if not self._client.nthreads():
            try:
                self._client.wait_for_workers(1, timeout=WORKER_WAIT_S)
            except TimeoutError:
                raise ClusterError(f"{self._label}: no worker joined within "
                                   f"{WORKER_WAIT_S:g} s") from None
        # data goes to the workers as data, not inside the task graph; scatter([v]) keeps a
        # list or dict value whole (scatter(v) would split it)
        remote = {k: self._client.scatter([v], broadcast=True, hash=False)[0]
                  for k, v in shared.items()}
        inputs = self._client.scatter(items, hash=False)
        futures = self._client.map(fn, inputs, pure=False, **remote)
        try:
            return list(self._client.gather(futures))
        finally:
            for fut in (*futures, *inputs, *remote.values()):
                fut.release()

    def describe(self) -> str:
        """See :meth:`TaskRunner.describe`."""
        return self._label

    def close(self) -> None:
        """Close the client, and the cluster when this runner started it."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_runner(cluster: str | None = None, workers: int | None = None,
                timeout_s: float = CONNECT_TIMEOUT_S) -> TaskRunner:
    """The runner the options ask for: ``cluster`` (a scheduler address) wins, else a local
    cluster of ``workers`` processes, else :data:`IN_PROCESS`.

    Raises:
        ClusterError: see :meth:`DaskRunner.connect` and :meth:`DaskRunner.local`.
    """
    if cluster:
        if workers is not None:
            log.warning("--workers %d ignored: --cluster %s decides the workers", workers,
                        cluster)
        return DaskRunner.connect(cluster, timeout_s)
    if workers is not None:
        return DaskRunner.local(workers)
    return IN_PROCESS


def add_runner_args(p: argparse.ArgumentParser) -> None:
    """``--cluster`` and ``--workers`` (read back by :func:`runner_from_args`)."""
    p.add_argument("--cluster", default=None, metavar="tcp://HOST:8786",
                   help="run per-pair features/labels and per-fold training on this Dask "
                        "scheduler (results identical to the default in-process run)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="without --cluster: start a local Dask cluster of N worker processes "
                        "(one thread each) on 127.0.0.1")


def runner_from_args(args: argparse.Namespace) -> TaskRunner:
    """:func:`make_runner` from parsed :func:`add_runner_args` options.

    Raises:
        ClusterError: see :func:`make_runner`.
    """
    return make_runner(getattr(args, "cluster", None), getattr(args, "workers", None))
