"""What a replay records: setups the script saw, executors Hummingbot ran, and the totals.

:class:`RuntimeRecorder` listens to a script's decisions through the ``ml_signals`` runtime's
observer hooks (:class:`ml_signals.decision.events.RuntimeObserver`: ``setup_skipped``,
``entry_placed``, ``guard_locked``, ``model_in_use``), the scripts' public runtime API. A script
without a ``runtime.observers`` list still replays; its setup counts are then reported as unknown.

Executors are read from Hummingbot's ``ExecutorOrchestrator`` (:class:`ExecutorWatch`), before
the orchestrator's store step can drop closed ones from its active list.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hummingbot.strategy_v2.models.base import RunnableStatus

from ml_signals.decision.engine import Evaluation
from ml_signals.decision.events import EntryPlaced, RuntimeObserver
from training.replay.journal_alerts import AlertCounts, JournalCounts


@dataclass(frozen=True, slots=True)
class SetupSeen:
    """One setup the script evaluated.

    Attributes:
        setup_id: ``strategy:pair:timestamp`` (``ml_signals.setups.base.Setup.setup_id``).
        strategy, pair: detector and pair.
        timestamp: open time (s) of the candle that triggered it.
        decided_s: replay clock when the script decided (s).
        taken: an executor was created for it.
        confidence: model confidence, ``None`` rules-only.
        skip_guard, skip_reason: why it was not taken (``None`` when taken).
    """

    setup_id: str
    strategy: str
    pair: str
    timestamp: int
    decided_s: float
    taken: bool
    confidence: float | None
    skip_guard: str | None
    skip_reason: str | None


@dataclass(frozen=True, slots=True)
class ExecutorRecord:
    """One Hummingbot executor at the end of the replay (or when it closed).

    Attributes:
        executor_id, controller_id, executor_type (``"position_executor"``...), pair, side.
        level_id: the config's ``level_id`` (the ml scripts put the setup id there).
        created_s: config timestamp (decision time, s); closed_s: close time or ``None``.
        close_type: Hummingbot ``CloseType`` name, ``None`` while open.
        filled_quote: quote traded (entry + exit), net_pnl_quote: PnL after fees (quote),
        fees_quote: fees paid (quote).
        entry_price, close_price: average entry and exit price (quote) from the executor's
            ``custom_info`` (``current_position_average_price``, ``close_price``); 0 if absent.
        is_done: terminated.
    """

    executor_id: str
    controller_id: str | None
    executor_type: str
    pair: str
    side: str
    level_id: str | None
    created_s: float
    closed_s: float | None
    close_type: str | None
    filled_quote: float
    net_pnl_quote: float
    fees_quote: float
    entry_price: float
    close_price: float
    is_done: bool


def _price(info: Any, key: str) -> float:
    try:
        value = float(info.custom_info.get(key) or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return value if value == value else 0.0  # NaN -> 0


def executor_record(info: Any) -> ExecutorRecord:
    """:class:`ExecutorRecord` of a Hummingbot ``ExecutorInfo``."""
    config = info.config
    side = getattr(config, "side", None)
    return ExecutorRecord(
        executor_id=str(info.id), controller_id=info.controller_id,
        executor_type=str(info.type), pair=str(info.trading_pair),
        side=side.name if side is not None else "", level_id=getattr(config, "level_id", None),
        created_s=float(info.timestamp),
        closed_s=float(info.close_timestamp) if info.close_timestamp else None,
        close_type=info.close_type.name if info.close_type else None,
        filled_quote=float(info.filled_amount_quote), net_pnl_quote=float(info.net_pnl_quote),
        fees_quote=float(info.cum_fees_quote),
        entry_price=_price(info, "current_position_average_price"),
        close_price=_price(info, "close_price"), is_done=bool(info.is_done),
    )


class ExecutorWatch:
    """Keeps every executor the orchestrator ran: closed ones when they terminate, open ones at
    the end. Call :meth:`watch_archiving` once, :meth:`scan` after each clock tick and
    :meth:`finish` once."""

    def __init__(self) -> None:
        self.created: dict[str, str] = {}  # executor id -> controller id, in creation order
        self.closed: dict[str, ExecutorRecord] = {}

    def scan(self, orchestrator: Any) -> None:
        """Note new executors and record the ones that terminated since the last scan."""
        for controller_id, executors in orchestrator.active_executors.items():
            for executor in executors:
                eid = executor.config.id
                if eid not in self.created:
                    self.created[eid] = controller_id
                if eid not in self.closed and executor.status == RunnableStatus.TERMINATED:
                    self.closed[eid] = executor_record(executor.executor_info)

    def watch_archiving(self, orchestrator: Any) -> None:
        """Scan before the orchestrator archives an executor (``StoreExecutorAction``: a
        strategy's ``closed_executors_buffer`` exceeded), so one that terminated and is archived
        within the same tick is still recorded."""
        store = orchestrator.store_executor

        def scan_then_store(action: Any) -> None:
            self.scan(orchestrator)
            store(action)

        orchestrator.store_executor = scan_then_store

    def finish(self, orchestrator: Any) -> tuple[ExecutorRecord, ...]:
        """Every executor: closed ones as recorded, then the ones still open now."""
        self.scan(orchestrator)
        still_open = [executor_record(e.executor_info)
                      for executors in orchestrator.active_executors.values() for e in executors
                      if e.config.id not in self.closed]
        return (*self.closed.values(), *still_open)


class RuntimeRecorder(RuntimeObserver):
    """Observer appended to a script's ``runtime.observers`` (module docstring)."""

    def __init__(self) -> None:
        self.setups: list[SetupSeen] = []
        self.guard_locks: list[str] = []
        self.models: dict[str, str] = {}

    def setup_skipped(self, evaluation: Evaluation, reason: Any, now_s: float) -> None:
        self.setups.append(_seen(evaluation, now_s, False, reason.guard, reason.reason))

    def entry_placed(self, event: EntryPlaced) -> None:
        self.setups.append(_seen(event.evaluation, event.placed_s, True, None, None))

    def guard_locked(self, lock: Any) -> None:
        self.guard_locks.append(f"{getattr(lock, 'guard', '?')}: {getattr(lock, 'reason', lock)}")

    def model_in_use(self, strategy: str, scorer: Any, now_s: float) -> None:
        self.models[strategy] = ("rules-only" if getattr(scorer, "rules_only", False)
                                 else str(getattr(scorer, "model_version", "unknown")))


def _seen(evaluation: Evaluation, now_s: float, taken: bool, guard: str | None,
          reason: str | None) -> SetupSeen:
    setup = evaluation.setup
    return SetupSeen(setup.setup_id, setup.strategy, setup.pair, int(setup.timestamp),
                     float(now_s), taken, evaluation.score.confidence, guard, reason)


@dataclass(frozen=True)
class ReplayResult:
    """Everything one replay of one script produced.

    Attributes:
        script: module name; config_path: YAML used (``None``: defaults).
        connector: trading connector key; pairs: pairs traded.
        start_s, end_s: first and last candle open time replayed (s, UTC).
        candles: candles per pair replayed; subticks: clock ticks run.
        path_order, steps_per_leg, half_spread_frac: the candle -> book settings.
        models: strategy -> model version or ``"rules-only"`` (empty when not observable).
        setups: setups the script evaluated, ``None`` when the script has no observable runtime.
        guard_locks: guard locks announced (``"guard: reason"``).
        executors: every executor Hummingbot ran.
        balances_start, balances_end: paper account balances (asset -> amount).
        wall_s: wall-clock duration of the run, seconds.
        cpu_s: CPU seconds of the replaying process during the run (all its threads: the
            journal and alert writers included; imports before the run not counted).
        overrides: config values the replay replaced.
        errors: ERROR log records during the run (Hummingbot logs executor failures).
        journal: rows of the script's trade journal after the run; ``None`` when the script
            has no journal.
        alerts: the script's alerts by delivery status; ``None`` when it has no alerts.
    """

    script: str
    config_path: str | None
    connector: str
    pairs: tuple[str, ...]
    start_s: int
    end_s: int
    candles: int
    subticks: int
    path_order: str
    steps_per_leg: int
    half_spread_frac: float
    models: dict[str, str]
    setups: tuple[SetupSeen, ...] | None
    guard_locks: tuple[str, ...]
    executors: tuple[ExecutorRecord, ...]
    balances_start: dict[str, float]
    balances_end: dict[str, float]
    wall_s: float
    cpu_s: float = 0.0
    overrides: dict[str, Any] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    journal: JournalCounts | None = None
    alerts: AlertCounts | None = None

    @property
    def setups_seen(self) -> int | None:
        """Setups evaluated (taken or skipped); ``None`` when not observable."""
        return None if self.setups is None else len(self.setups)

    @property
    def setups_taken(self) -> int | None:
        """Setups an executor was created for; ``None`` when not observable."""
        return None if self.setups is None else sum(s.taken for s in self.setups)

    @property
    def skip_reasons(self) -> dict[str, int]:
        """Skipped setups per guard name."""
        return dict(Counter(str(s.skip_guard) for s in self.setups or () if not s.taken))

    @property
    def executors_opened(self) -> int:
        """Executors created."""
        return len(self.executors)

    @property
    def executors_filled(self) -> int:
        """Executors whose entry traded (filled quote > 0)."""
        return sum(e.filled_quote > 0 for e in self.executors)

    @property
    def closed_by_type(self) -> dict[str, int]:
        """Terminated executors per Hummingbot close type."""
        return dict(Counter(e.close_type or "NONE" for e in self.executors if e.is_done))

    @property
    def net_pnl_quote(self) -> float:
        """PnL after fees of the terminated executors (quote)."""
        return sum(e.net_pnl_quote for e in self.executors if e.is_done)

    @property
    def fees_quote(self) -> float:
        """Fees paid by all executors (quote)."""
        return sum(e.fees_quote for e in self.executors)

    @property
    def open_at_end(self) -> int:
        """Executors still running when the replay ended."""
        return sum(not e.is_done for e in self.executors)

    @property
    def unrealised_pnl_quote(self) -> float:
        """PnL after fees of the executors still open at the end, at the last price (quote)."""
        return sum(e.net_pnl_quote for e in self.executors if not e.is_done)
