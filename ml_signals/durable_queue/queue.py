"""DurableQueue: records handed over in memory, written to SQLite in order by one thread.

See the package docstring (:mod:`ml_signals.durable_queue`) for the guarantees.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ml_signals.durable_queue.lock import DeliveryLock, real_path
from ml_signals.durable_queue.sqlite_file import (
    RECORD_ERRORS,
    connect,
    ensure_schema,
    insert,
)
from ml_signals.durable_queue.types import (
    CloseReport,
    FaultKind,
    QueueClosedError,
    QueueFault,
    QueueFullError,
    QueueSchema,
    QueueSettings,
    QueueStats,
)

log = logging.getLogger("ml_signals.durable_queue")

IDLE_RECOUNT_S = 1.0
"""While pending records are near the cap, the idle writer recounts them this often, so room
freed by deliveries is seen without any put."""

# Queues whose writer may still hold records at interpreter exit. A module-level registry is
# the one place an ``atexit`` hook can find them; weak references keep it from holding a queue
# alive.
_OPEN: weakref.WeakSet[DurableQueue] = weakref.WeakSet()


def _close_open_queues() -> None:
    for queue in list(_OPEN):
        queue.close(queue.settings.close_timeout_s)


atexit.register(_close_open_queues)


class DurableQueue:
    """A SQLite-backed FIFO whose :meth:`put` never touches the disk.

    Args:
        path: the SQLite file (created with its folder if missing). Opened through its real
            path, so symlinks reach the same file, WAL and lock.
        schema: table and SQL of the owner (outbox, spool).
        settings: limits and timings; defaults documented in :class:`QueueSettings`.
        on_fault: called (on the thread that noticed it: the writer thread, or the caller of
            ``put`` for refusals) with each :class:`QueueFault`; every fault is logged as well.
            Exceptions it raises are logged and ignored.
        on_written: called on the writer thread after each committed batch (e.g. to wake the
            delivery thread); exceptions are logged and ignored.

    Raises:
        sqlite3.DatabaseError: ``path`` exists and is not an SQLite database, or cannot be
            opened.
    """

    def __init__(self, path: Path, schema: QueueSchema, settings: QueueSettings | None = None,
                 on_fault: Callable[[QueueFault], None] | None = None,
                 on_written: Callable[[], None] | None = None) -> None:
        self.path = Path(path)
        self.real_path = real_path(path)
        self.schema = schema
        self.settings = settings or QueueSettings()
        self._on_fault = on_fault
        self._on_written = on_written
        self.real_path.parent.mkdir(parents=True, exist_ok=True)
        self._reader = connect(self.real_path, self.settings.read_timeout_s,
                               self.settings.synchronous, same_thread=False)
        try:
            ensure_schema(self._reader, schema)
            self._reader.execute("PRAGMA journal_mode=WAL")
            self._incremental = self._reader.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
            self._known: set[str] = set()
            if schema.keys_sql is not None:
                self._known = {str(k) for (k,) in self._reader.execute(schema.keys_sql)}
            self._file_pending = int(self._reader.execute(schema.pending_sql).fetchone()[0])
        except sqlite3.Error:
            self._reader.close()
            raise
        self._read_lock = threading.Lock()
        # held by the writer from a batch's INSERT to its removal from memory, so a reader can
        # see memory and file consistently (never taken by put)
        self._commit_lock = threading.Lock()
        self._lock = threading.Lock()
        self._has_work = threading.Condition(self._lock)
        self._drained = threading.Condition(self._lock)
        self._retry_now = threading.Event()
        self._buffer: deque[tuple[Sequence[Any], str | None]] = deque()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._closed = False
        self._deadline = float("inf")
        self._written = 0
        self._refused = 0
        self._failing = False
        self._last_error: str | None = None
        self._refusing: FaultKind | None = None
        self._warned_high = False

    # -- caller side (no disk I/O) --------------------------------------------------------

    def put(self, params: Sequence[Any], key: str | None = None) -> bool:
        """Hand one record to the writer and return at once.

        Args:
            params: the values of ``schema.insert_sql``'s placeholders, already encoded
                (str, int, float, bytes or None).
            key: the record's idempotency key, if it has one.

        Returns:
            True if accepted; False if ``key`` is already known (stored when the file was
            opened, accepted by this handle, and not pruned since): nothing changes.

        Raises:
            QueueFullError: the memory buffer holds ``memory_limit`` records, or pending
                records reached ``max_pending``; the record is not accepted (records accepted
                before are kept). Reported once per episode as a fault.
            QueueClosedError: the queue was closed.
        """
        fault: QueueFault | None = None
        with self._lock:
            if self._closed or self._stopping:
                raise QueueClosedError(f"{self.schema.name} {self.path} is closed")
            if key is not None and key in self._known:
                return False
            buffered = len(self._buffer)
            pending = self._file_pending + buffered
            if buffered >= self.settings.memory_limit or pending >= self.settings.max_pending:
                kind: FaultKind = ("memory_full" if buffered >= self.settings.memory_limit
                                   else "pending_cap")
                detail = (f"{buffered} records in memory (memory_limit "
                          f"{self.settings.memory_limit}; the file cannot be written: "
                          f"{self._last_error})" if kind == "memory_full" else
                          f"{pending} records pending (max_pending {self.settings.max_pending})")
                self._refused += 1
                first = self._refusing != kind
                self._refusing = kind
                error = QueueFullError(f"{self.schema.name} {self.path}: record refused, {detail}")
                fault = QueueFault(kind, str(self.path), detail, buffered, 1) if first else None
            else:
                self._refusing = None
                self._buffer.append((params, key))
                if key is not None:
                    self._known.add(key)
                fault = self._high_water(pending + 1)
                self._start_writer()
                self._has_work.notify()
                error = None
        if fault is not None:
            self._report(fault)
        if error is not None:
            raise error
        return True

    def flush(self, timeout_s: float) -> bool:
        """Wait until every accepted record is in the file. True if reached within
        ``timeout_s``; False if writes are failing or slower (records stay in memory)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or (self._thread is None or not self._thread.is_alive()):
                    return not self._buffer
                self._drained.wait(left)
        return True

    def stats(self) -> QueueStats:
        """Memory-side counters (no disk I/O)."""
        with self._lock:
            return QueueStats(buffered=len(self._buffer), file_pending=self._file_pending,
                              written=self._written, refused=self._refused,
                              failing=self._failing, last_error=self._last_error)

    def delivery_lock(self) -> DeliveryLock:
        """A new :class:`DeliveryLock` on this file's real path (acquire it to deliver)."""
        return DeliveryLock(self.path)

    def close(self, timeout_s: float = 5.0) -> CloseReport:
        """Write what memory still holds (trying for up to ``timeout_s``), stop the writer and
        close the file. Idempotent.

        Returns:
            :class:`CloseReport`; records it could not write are also logged (error, with their
            count) and reported as an ``unwritten_at_close`` fault.
        """
        with self._lock:
            already = self._closed
            self._stopping = True
            self._deadline = time.monotonic() + max(timeout_s, 0.0)
            self._has_work.notify_all()
            thread = self._thread
        self._retry_now.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(timeout_s, 0.0) + self.settings.busy_timeout_s + 1.0)
        with self._lock:
            self._closed = True
            unwritten = len(self._buffer)
            report = CloseReport(self._written, unwritten, self._refused, self._last_error)
        _OPEN.discard(self)
        if not already:
            with self._read_lock:
                self._reader.close()
            if unwritten:
                detail = (f"{unwritten} accepted record(s) could not be written within "
                          f"{timeout_s:.1f} s and are lost with this process; last error: "
                          f"{self._last_error}")
                self._report(QueueFault("unwritten_at_close", str(self.path), detail,
                                        unwritten, unwritten))
        return report

    # -- consumer side --------------------------------------------------------------------

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The consumer's connection (autocommit), held exclusively for the ``with`` block.

        For the owner's delivery thread and inspection: reads rows, marks them done. Waits up
        to ``read_timeout_s`` for another process's write lock.

        Raises:
            sqlite3.ProgrammingError: after :meth:`close`.
        """
        with self._read_lock:
            yield self._reader

    @contextmanager
    def snapshot(self) -> Iterator[tuple[sqlite3.Connection, int]]:
        """The consumer's connection and the number of records in memory, consistent with each
        other: no batch moves from memory to the file during the ``with`` block (so a count of
        file rows plus the buffered number counts every record once). Waits for a write in
        progress (up to ``busy_timeout_s``); for inspection, not for the caller of ``put``."""
        with self._commit_lock, self._read_lock:
            with self._lock:
                buffered = len(self._buffer)
            yield self._reader, buffered

    def prune(self, now_s: float) -> int:
        """Delete delivered rows older than ``now_s - retention_s``; returns how many.

        Their keys are forgotten, so the same key is accepted again afterwards (the duplicate
        window is the retention). Freed pages go back to the file system on files created with
        incremental auto-vacuum (all files this queue creates).

        Raises:
            sqlite3.Error: the file cannot be written now (the caller retries later).
        """
        if self.schema.prune_sql is None:
            return 0
        cutoff = now_s - self.settings.retention_s
        with self.connection() as conn:
            keys = [k for (k,) in conn.execute(self.schema.prune_sql, (cutoff,)).fetchall()]
            if keys and self._incremental:
                conn.execute("PRAGMA incremental_vacuum").fetchall()  # one page per step
        if keys:
            with self._lock:
                self._known.difference_update(str(k) for k in keys if k is not None)
            log.info("%s %s: pruned %d delivered row(s) older than %.0f s", self.schema.name,
                     self.path, len(keys), self.settings.retention_s)
        return len(keys)

    # -- writer thread --------------------------------------------------------------------

    def _start_writer(self) -> None:
        """Start the writer on the first put (called with ``_lock`` held)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"queue-writer:{self.path.name}")
            self._thread.start()
            _OPEN.add(self)

    def _next_batch(self) -> list[tuple[Sequence[Any], str | None]] | None:
        """Wait for records; ``None`` when the writer should end."""
        with self._lock:
            while not self._buffer and not self._stopping:
                near_cap = (self._file_pending
                            >= self.settings.warn_frac * self.settings.max_pending)
                if not self._has_work.wait(IDLE_RECOUNT_S) and near_cap:
                    return []  # idle near the cap: recount
            if not self._buffer or (self._stopping and time.monotonic() >= self._deadline):
                return None
            return list(itertools.islice(self._buffer, self.settings.batch_max))

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        failures = 0
        last_report = 0.0
        while True:
            batch = self._next_batch()
            if batch is None:
                break
            try:
                conn = conn or connect(self.real_path, self.settings.busy_timeout_s,
                                       self.settings.synchronous, same_thread=True)
                if batch:
                    self._write(conn, batch)
                pending = int(conn.execute(self.schema.pending_sql).fetchone()[0])
            except Exception as exc:  # noqa: BLE001 - locked, disk full, I/O error, a bug:
                # whatever it is, the records stay in memory and the writer retries
                if conn is not None:
                    conn.close()
                    conn = None
                failures += 1
                last_report = self._note_failure(exc, failures, last_report)
                self._back_off(failures)
                continue
            self._note_written(pending, failures)
            failures = 0
            if batch and self._on_written is not None:
                try:
                    self._on_written()
                except Exception:  # noqa: BLE001 - a failing listener must not stop the writer
                    log.exception("%s %s: on_written failed", self.schema.name, self.path)
        if conn is not None:
            conn.close()

    def _write(self, conn: sqlite3.Connection,
               batch: list[tuple[Sequence[Any], str | None]]) -> None:
        """Insert ``batch`` in one transaction. A record error makes the batch go one record
        per transaction; each record leaves memory as soon as its transaction is committed (or
        it is refused), so a failure half-way never writes a record twice."""
        with self._commit_lock:
            try:
                insert(conn, self.schema.insert_sql, [params for params, _ in batch])
            except RECORD_ERRORS:
                pass
            else:
                self._pop(len(batch), 0)
                return
        for params, key in batch:
            with self._commit_lock:
                try:
                    insert(conn, self.schema.insert_sql, [params])
                except RECORD_ERRORS as exc:
                    self._pop(1, 1)
                    error: Exception | None = exc
                else:
                    self._pop(1, 0)
                    error = None
            if error is not None:
                self._report(QueueFault(
                    "record_refused", str(self.path),
                    f"record {key or '(no key)'} refused by the file and set aside: "
                    f"{type(error).__name__}: {error}; values {str(params)[:500]}", 0, 1))

    def _pop(self, n: int, refused: int) -> None:
        """``n`` records left memory (committed, or ``refused`` of them set aside)."""
        with self._lock:
            for _ in range(n):
                self._buffer.popleft()
            self._written += n - refused
            self._drained.notify_all()

    def _note_written(self, pending: int, failures: int) -> None:
        with self._lock:
            self._file_pending = pending
            was_failing, self._failing = self._failing, False
            buffered = len(self._buffer)
            if pending + buffered < self.settings.warn_frac * self.settings.max_pending:
                self._warned_high = False
        if was_failing:
            self._report(QueueFault("write_recovered", str(self.path),
                                    f"writes succeed again after {failures} failed attempt(s)",
                                    buffered, 0))

    def _note_failure(self, exc: Exception, failures: int, last_report: float) -> float:
        now = time.monotonic()
        with self._lock:
            self._failing = True
            self._last_error = f"{type(exc).__name__}: {exc}"
            buffered = len(self._buffer)
        if failures == 1 or now - last_report >= self.settings.report_every_s:
            self._report(QueueFault(
                "write_failed", str(self.path),
                f"{self._last_error}; {buffered} record(s) kept in memory, retrying "
                f"(attempt {failures})", buffered, buffered))
            return now
        log.debug("%s %s: write attempt %d failed: %s", self.schema.name, self.path, failures,
                  exc)
        return last_report

    def _back_off(self, failures: int) -> None:
        delay = min(self.settings.retry_initial_s * 2 ** (failures - 1),
                    self.settings.retry_max_s)
        with self._lock:
            if self._stopping:
                delay = min(delay, max(self._deadline - time.monotonic(), 0.0))
        if self._retry_now.wait(delay):
            self._retry_now.clear()  # close() asked for an immediate attempt

    def _high_water(self, pending: int) -> QueueFault | None:
        """A ``pending_high`` fault when ``pending`` first passes ``warn_frac`` of the cap
        (called with ``_lock`` held)."""
        if self._warned_high or pending < self.settings.warn_frac * self.settings.max_pending:
            return None
        self._warned_high = True
        return QueueFault("pending_high", str(self.path),
                          f"{pending} records pending, {self.settings.warn_frac:.0%} of "
                          f"max_pending {self.settings.max_pending}", len(self._buffer))

    def _report(self, fault: QueueFault) -> None:
        level = {"write_recovered": logging.INFO, "pending_high": logging.WARNING}.get(
            fault.kind, logging.ERROR)
        log.log(level, "%s %s: %s: %s", self.schema.name, fault.path, fault.kind, fault.detail)
        if self._on_fault is not None:
            try:
                self._on_fault(fault)
            except Exception:  # noqa: BLE001 - a failing handler must not stop the writer
                log.exception("%s %s: fault handler failed", self.schema.name, fault.path)
