"""Hummingbot's executor reports without recomputing what cannot change.

``StrategyV2Base.update_executors_info`` asks the ``ExecutorOrchestrator`` for every listed
executor's ``ExecutorInfo`` about five times a tick (the executors, positions and performance
reports each read it, and ``executor_info`` is a property that builds a pydantic model from the
executor's orders with ``Decimal`` arithmetic), and the orchestrator keeps up to
``closed_executors_buffer`` (100) terminated executors listed. An executor reaches
``TERMINATED`` in ``ExecutorBase.stop``, which in the same call stamps its close time and
removes its order-event listeners: from then on its orders, fills, PnL and close type are final.

Two savings rest on that, both off when a script's ``reuse_executor_reports`` is off (the
replay's exhaustive mode, the reference they are tested against):

- :func:`freeze_finished` swaps each terminated executor in the orchestrator's lists for a
  :class:`FinishedExecutor`, which holds the report computed once and reads everything else from
  the executor, so Hummingbot's reports, archiving (``StoreExecutorAction``) and stop keep
  working on it;
- :func:`reports_key` names the listed executors while all are terminated and no position is
  held, so a script keeps the last reports when the key has not changed.
"""

from __future__ import annotations

from typing import Any

from hummingbot.strategy_v2.models.base import RunnableStatus


class FinishedExecutor:
    """A terminated Hummingbot executor whose ``executor_info`` was computed once.

    Args:
        executor: a Hummingbot executor (``ExecutorBase``) whose status is ``TERMINATED``.

    Attributes:
        executor: the executor itself; every attribute other than ``executor_info`` is read
            from it.
        executor_info: its ``ExecutorInfo`` at the time of wrapping. What a terminated report
            could still show moving is informational only: the market price in a DCA
            executor's ``custom_info``, and the close price of one that closed with nothing
            filled (Hummingbot shows the current price there); both stay as at wrapping.

    Raises:
        ValueError: the executor is not terminated.
    """

    __slots__ = ("executor", "executor_info")

    def __init__(self, executor: Any) -> None:
        if executor.status != RunnableStatus.TERMINATED:
            raise ValueError(f"executor {executor.config.id} is {executor.status.name}, "
                             "not terminated: its report can still change")
        self.executor = executor
        self.executor_info = executor.executor_info

    def __getattr__(self, name: str) -> Any:
        return getattr(self.executor, name)


def freeze_finished(orchestrator: Any) -> int:
    """Wrap every terminated executor listed by ``orchestrator`` (an ``ExecutorOrchestrator``)
    in a :class:`FinishedExecutor`, in place; returns how many were wrapped now."""
    wrapped = 0
    for group in orchestrator.active_executors.values():
        for i, executor in enumerate(group):
            if (not isinstance(executor, FinishedExecutor)
                    and executor.status == RunnableStatus.TERMINATED):
                group[i] = FinishedExecutor(executor)
                wrapped += 1
    return wrapped


def reports_key(orchestrator: Any) -> tuple[str, ...] | None:
    """Ids of the executors ``orchestrator`` lists when all are terminated and no position is
    held (``POSITION_HOLD`` closes are valued at the mid price; these scripts never keep
    positions); ``None`` otherwise: the reports must be rebuilt."""
    if any(orchestrator.positions_held.values()):
        return None
    key = []
    for group in orchestrator.active_executors.values():
        for executor in group:
            if executor.status != RunnableStatus.TERMINATED:
                return None
            key.append(executor.config.id)
    return tuple(key)
