"""The control layer's entry point: accept commands on any thread, run them on the tick thread.

A front end (Slack's Socket Mode thread) calls :meth:`ControlService.submit`, which parses the
request, journals it, answers refusals and bad input at once and queues the rest; the returned
``concurrent.futures.Future`` completes when the strategy's next tick has run it. The runtime
calls :meth:`ControlService.drain` from ``StrategyRuntime.sync`` (its ``inbox``), so every
command reads and changes the bot between ticks, on the thread that trades, never on a network
thread. Each command is journaled twice under its id: ``pending`` when accepted, then with its
answer (:class:`~ml_signals.journal.ControlRecord`).
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ml_signals.control import compute
from ml_signals.control.answers import ActionAnswer, Answer, PerformanceAnswer
from ml_signals.control.commands import Command, CommandError, CommandKind, parse_command
from ml_signals.control.performance import JournalPerformance
from ml_signals.journal.control_records import ControlRecord

if TYPE_CHECKING:
    from ml_signals.hummingbot.strategy_runtime import StrategyRuntime
    from ml_signals.journal import Journal

log = logging.getLogger(__name__)

MAX_PENDING: Final[int] = 100
"""Commands waiting for a tick beyond which new ones are rejected (a stopped strategy must not
collect commands without bound)."""

REMEMBERED_IDS: Final[int] = 1000
"""Recent command ids kept to answer a redelivered request without running it twice."""


@dataclass(frozen=True, slots=True)
class _Ticket:
    command: Command
    future: Future[Answer]


class ControlService:
    """Queue of operator commands between a front end and the tick thread.

    Args:
        operators: user ids (Slack ``U…``) allowed to run the mutating commands (``/pause``,
            ``/resume``, ``/reset-guard``); everyone may run the read-only ones.
        journal: where commands and answers are recorded; ``None``: the log only.
        performance: journal reader for ``/performance``; ``None``: the answer says the
            journal is off and shows the runtime's realised P&L only.
        clock: UTC seconds for acceptance times.
        state_path: JSON file keeping an operator pause across restarts (written on
            ``/pause``, removed on ``/resume``, read by :meth:`restore`); ``None``: the pause
            lasts until the process ends.
    """

    def __init__(self, operators: Iterable[str], journal: Journal | None = None,
                 performance: JournalPerformance | None = None,
                 clock: Callable[[], float] = time.time, state_path: Path | None = None) -> None:
        self.operators = frozenset(operators)
        self.journal = journal
        self.performance = performance
        self.state_path = state_path
        self._clock = clock
        self._queue: queue.SimpleQueue[_Ticket] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, Future[Answer]] = OrderedDict()
        self.start_s: float | None = None

    # --- any thread ----------------------------------------------------------------------------

    def submit(self, command_id: str, typed: str, args: str, user_id: str, user_name: str = "",
               transport: str = "slack") -> Future[Answer]:
        """Accept a request; the future completes with its :data:`Answer`.

        Refusals (a mutating command from someone not in ``operators``), unknown commands and
        bad arguments are answered at once; the rest waits for the next tick. A ``command_id``
        seen before returns the first request's future (redelivery runs nothing twice).
        """
        now = self._clock()
        with self._lock:
            known = self._seen.get(command_id)
            if known is not None:
                return known
            future: Future[Answer] = Future()
            self._seen[command_id] = future
            while len(self._seen) > REMEMBERED_IDS:
                self._seen.popitem(last=False)
        try:
            command = parse_command(command_id, typed, args, user_id, user_name, transport, now)
        except CommandError as exc:
            command = Command(command_id, CommandKind.STATUS, args, user_id, user_name, transport,
                              typed, now)  # journaled under the name typed
            self._finish(command, future, ActionAnswer("rejected", str(exc)), authorised=False)
            return future
        authorised = not command.kind.mutating or user_id in self.operators
        self._record(command, authorised, "pending", "", None)
        if not authorised:
            answer = ActionAnswer("refused", f"{command.typed}: only the bot's operators may "
                                             "pause, resume or reset guards; you are not one.")
            log.warning("control: %s by %s (%s) refused: not an operator", command.typed,
                        user_id, user_name)
            self._finish(command, future, answer, authorised=False)
        elif self._queue.qsize() >= MAX_PENDING:
            self._finish(command, future, ActionAnswer(
                "rejected", f"{MAX_PENDING} commands already wait for the strategy's tick; "
                            "is the strategy running?"), authorised=True)
        else:
            self._queue.put(_Ticket(command, future))
        return future

    def restore(self, runtime: StrategyRuntime) -> None:
        """Pause ``runtime`` again if an operator's pause was in force when the bot stopped
        (``state_path``). An unreadable file is logged and treated as paused: a pause must not
        be lost by a damaged file."""
        if self.state_path is None or not self.state_path.exists():
            return
        try:
            reason = str(json.loads(self.state_path.read_text(encoding="utf-8"))["paused"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            reason = f"pause state {self.state_path} unreadable ({exc}); /resume to trade"
            log.error("control: %s", reason)
        runtime.pause(f"{reason} (still paused after a restart)")

    def _persist(self, runtime: StrategyRuntime) -> None:
        """Write the pause (or remove the file) after ``/pause`` / ``/resume``; atomic."""
        if self.state_path is None:
            return
        paused = next((b for b in runtime.entry_blocks() if b.guard == "paused"), None)
        if paused is None:
            self.state_path.unlink(missing_ok=True)
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"paused": paused.reason}), encoding="utf-8")
        tmp.replace(self.state_path)

    def pending(self) -> int:
        """Commands waiting for the tick thread."""
        return self._queue.qsize()

    # --- tick thread ---------------------------------------------------------------------------

    def drain(self, runtime: StrategyRuntime, now_s: float, executors: Sequence[Any]) -> None:
        """Run every queued command against ``runtime`` (``StrategyRuntime.sync`` calls this)."""
        if self.start_s is None:
            self.start_s = now_s
        while True:
            try:
                ticket = self._queue.get_nowait()
            except queue.Empty:
                return
            try:
                answer = self._execute(runtime, ticket.command, now_s, executors)
            except CommandError as exc:
                answer = ActionAnswer("rejected", str(exc))
            except Exception as exc:  # noqa: BLE001 - a command must never stop the tick
                log.exception("control: %s failed", ticket.command.typed)
                answer = ActionAnswer("error", f"{ticket.command.typed} failed: "
                                               f"{type(exc).__name__}: {exc}")
            self._finish(ticket.command, ticket.future, answer, authorised=True)

    def _execute(self, runtime: StrategyRuntime, command: Command, now_s: float,
                 executors: Sequence[Any]) -> Answer:
        kind = command.kind
        if kind is CommandKind.STATUS:
            return compute.status(runtime, now_s)
        if kind is CommandKind.POSITIONS:
            return compute.positions(runtime, executors, now_s)
        if kind is CommandKind.PERFORMANCE:
            realised = runtime.realised_pnl_quote()
            if self.performance is None:
                return PerformanceAnswer(now_s, (), "the runtime only: the journal is off "
                                         "(journal.enabled: false)", realised)
            start = self.start_s if self.start_s is not None else now_s
            return self.performance.answer(now_s, start, realised)
        if kind in (CommandKind.PAUSE, CommandKind.RESUME):
            change = compute.pause if kind is CommandKind.PAUSE else compute.resume
            answer = change(runtime, command)
            self._persist(runtime)
            return answer
        if kind is CommandKind.RELOAD_MODELS:
            return compute.reload_models(runtime, command, now_s)
        return compute.reset_guard(runtime, command, now_s)

    # --- journal -------------------------------------------------------------------------------

    def _finish(self, command: Command, future: Future[Answer], answer: Answer,
                authorised: bool) -> None:
        answered = max(self._clock(), command.requested_s)
        self._record(command, authorised, answer.outcome, answer.text(), answered)
        log.info("control: %s %s by %s -> %s: %s", command.typed, command.args, command.user_id,
                 answer.outcome, answer.headline)
        if not future.done():
            future.set_result(answer)

    def _record(self, command: Command, authorised: bool, outcome: str, answer: str,
                answered_s: float | None) -> None:
        if self.journal is None:
            return
        try:
            self.journal.record(ControlRecord(
                command_id=command.command_id, transport=command.transport,
                command=command.typed, args=command.args, user_id=command.user_id,
                user_name=command.user_name, authorised=authorised, outcome=outcome,
                answer=answer, requested_s=command.requested_s, answered_s=answered_s))
        except (sqlite3.Error, ValueError) as exc:
            log.error("control: %s %s not journaled: %s", command.typed, command.command_id, exc)
