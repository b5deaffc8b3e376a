"""The Journal facade: accept records on the tick thread, write them on a worker thread.

``record(...)`` hands the record to the local spool's memory and returns (no disk I/O, no
network); that is the moment a record is *accepted*. The spool's writer thread stores it in the
SQLite file in acceptance order (:mod:`ml_signals.durable_queue`: a locked file or a full disk
keeps records in memory and is reported through ``on_fault`` and the log; limits refuse new
records loudly). The worker drains the file in acceptance order:

* consecutive records of one table go as one idempotent upsert (the last version of a natural
  id wins, as it would row by row);
* the backend unreachable (:class:`TransientJournalError`): the rows stay spooled, the worker
  backs off (``retry_initial_s * 2**(failures-1)`` up to ``retry_max_s``) and resumes from
  the same row, so order is kept and nothing is skipped;
* the backend rejecting a batch (:class:`PermanentJournalError`): the batch is retried row by
  row; each offending row is logged with its table and natural id and set aside as ``rejected``
  in the spool, and the rest is written.

Upserts by natural id make replays harmless: a row written just before a crash and written
again after it is still one row.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ml_signals.alerts.secrets import RedactingFilter
from ml_signals.durable_queue import QueueFault
from ml_signals.journal.backend import (
    JournalBackend,
    PermanentJournalError,
    TransientJournalError,
)
from ml_signals.journal.config import JournalConfig
from ml_signals.journal.records import RECORD_TYPES, JournalRecord
from ml_signals.journal.spool import Spool, SpoolCounts, SpoolRow

log = logging.getLogger("ml_signals.journal")

IDLE_POLL_S = 1.0


def make_backend(config: JournalConfig) -> JournalBackend:
    """The backend named by ``config.backend``."""
    if config.backend == "supabase":
        from ml_signals.journal.supabase_backend import SupabaseJournalBackend

        return SupabaseJournalBackend(config)
    from ml_signals.journal.sqlite_backend import SQLiteJournalBackend

    return SQLiteJournalBackend(config.sqlite_path)


@dataclass(frozen=True, slots=True)
class DrainResult:
    """One pass over the spool: rows ``written`` and ``rejected``, and whether it stopped on a
    ``transient`` failure."""

    written: int
    rejected: int
    transient: bool


class Journal:
    """Off-thread, spooled, idempotent trade journal.

    Constructing it opens (and creates if missing) the spool file; the backend connection and
    the worker thread only exist after :meth:`start`.

    Args:
        config: backend choice, paths, retry timings.
        backend: use this backend instead of building one from ``config`` (the Journal closes
            it on :meth:`close`).
        clock: UTC seconds for acceptance times.
        on_fault: called with each spool fault (write failures, limits, records left unwritten
            at close), e.g. to raise a Slack alert; faults are logged either way.

    Usage::

        journal = Journal(JournalConfig.from_env(env_file=Path(".env")))
        journal.start()
        journal.record(SetupRecord.from_setup(setup, taken=True, skip_reason=None,
                                              recorded_s=now))
        ...
        journal.close()   # writes what it can in the time given; the rest stays spooled
    """

    def __init__(self, config: JournalConfig, backend: JournalBackend | None = None,
                 clock: Callable[[], float] = time.time,
                 on_fault: Callable[[QueueFault], None] | None = None) -> None:
        self._config = config
        self._clock = clock
        self._wake = threading.Event()
        self._spool = Spool(config.spool_path, config.spool_settings(), on_fault=on_fault,
                            on_written=self._wake.set)
        self._backend = backend
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        if config.secret_values() and not any(isinstance(f, RedactingFilter) for f in log.filters):
            log.addFilter(RedactingFilter(config.secret_values()))

    @property
    def config(self) -> JournalConfig:
        """Backend choice and paths this journal writes with (read-only)."""
        return self._config

    @property
    def spool(self) -> Spool:
        """The local spool (counts, rejected rows)."""
        return self._spool

    def record(self, record: JournalRecord) -> None:
        """Accept ``record`` and return at once: no disk I/O, no lock wait. The spool's writer
        thread stores it; the worker writes it to the backend.

        Raises:
            TypeError: not a journal record.
            ValueError: the record holds NaN or infinity.
            QueueFullError: the spool's memory buffer (file unwritable) or its pending cap
                (``spool_max_pending``) is full: this record is not accepted (an error is
                logged; records accepted before are kept).
            QueueClosedError: after :meth:`close`.
        """
        if type(record) not in RECORD_TYPES.values():
            raise TypeError(f"not a journal record: {type(record).__name__}")
        self._spool.add(record.TABLE, record.natural_id, record.to_row(), self._clock())

    def start(self) -> None:
        """Start the worker (idempotent).

        Raises:
            SpoolLockedError: another process drains the same spool.
        """
        if self._thread is not None and self._thread.is_alive():
            return
        self._spool.acquire_drain_lock()
        if self._backend is None:
            self._backend = make_backend(self._config)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="journal", daemon=True)
        self._thread.start()
        stats = self._spool.queue.stats()  # no disk I/O: the file may be locked right now
        log.info("Journal: writing to %s, spool %s (%d pending)", self._backend.name,
                 self._config.spool_path, stats.file_pending + stats.buffered)

    def flush(self, timeout_s: float) -> bool:
        """Wait until nothing is pending (in memory or in the spool file: written or rejected).
        True if reached in time."""
        deadline = time.monotonic() + timeout_s
        if not self._spool.flush_writes(timeout_s):
            return False
        while time.monotonic() < deadline:
            if self._spool.counts().pending == 0:
                return True
            self._wake.set()
            time.sleep(0.02)
        return self._spool.counts().pending == 0

    def close(self, timeout_s: float = 10.0) -> bool:
        """Store records still in memory in the spool file, stop the worker after one last
        attempt to write to the backend, close the spool and the backend.

        All steps share ``timeout_s``. Rows not written to the backend stay in the spool for
        the next start; records that could not even reach the spool file are logged as an error
        with their count. Returns True if the worker ended in time.
        """
        deadline = time.monotonic() + timeout_s
        self._spool.flush_writes(timeout_s)
        thread = self._thread
        self._stopping.set()
        self._wake.set()
        ended = True
        if thread is not None:
            thread.join(max(deadline - time.monotonic(), 0.0))
            ended = not thread.is_alive()
        if ended:
            self._thread = None
            if self._backend is not None:
                self._backend.close()
        # a worker still running stops at its next spool call
        self._spool.close(max(deadline - time.monotonic(), 0.0))
        return ended

    def counts(self) -> SpoolCounts:
        """Pending, rejected and written totals of the spool."""
        return self._spool.counts()

    def requeue_rejected(self) -> int:
        """Retry rejected rows (after applying a migration or fixing data)."""
        n = self._spool.requeue_rejected()
        self._wake.set()
        return n

    # -- worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.clear()
            stopping = self._stopping.is_set()
            try:
                result = self.drain_once()
            except Exception:  # noqa: BLE001 - the worker must outlive a spool/backend bug
                log.exception("Journal: unexpected error while writing; retrying")
                result = DrainResult(0, 0, transient=True)
            if result.transient:
                self._failures += 1
                if stopping:
                    return
                delay = min(self._config.retry_initial_s * 2 ** (self._failures - 1),
                            self._config.retry_max_s)
                self._stopping.wait(delay)
                continue
            self._failures = 0
            if result.written or result.rejected:
                continue  # more may be pending
            if stopping:
                return
            self._wake.wait(IDLE_POLL_S)

    def drain_once(self) -> DrainResult:
        """Write up to ``batch_size`` pending rows in order (the worker's step; also usable
        directly when no worker runs)."""
        assert self._backend is not None, "start() the journal or pass a backend"
        rows = self._spool.pending(self._config.batch_size)
        written = rejected = 0
        run: list[SpoolRow] = []
        for row in [*rows, None]:
            if row is not None and (not run or run[-1].table == row.table):
                run.append(row)
                continue
            ok, bad, transient = self._write_run(run)
            written, rejected = written + ok, rejected + bad
            if transient:
                return DrainResult(written, rejected, transient=True)
            run = [row] if row is not None else []
        return DrainResult(written, rejected, transient=False)

    def _write_run(self, run: list[SpoolRow]) -> tuple[int, int, bool]:
        """Upsert one table's consecutive rows; returns (written, rejected, transient)."""
        if not run:
            return 0, 0, False
        assert self._backend is not None
        table = run[0].table
        latest: dict[str, SpoolRow] = {}
        for row in run:  # the last version of a natural id is the one that counts
            latest.pop(row.natural_id, None)
            latest[row.natural_id] = row
        try:
            self._backend.upsert_rows(table, [r.row for r in latest.values()])
        except TransientJournalError as exc:
            self._note_transient(run, exc)
            return 0, 0, True
        except PermanentJournalError as exc:
            if len(run) == 1:
                return 0, self._reject(run[0], exc.detail), False
            return self._write_one_by_one(run)
        self._spool.mark_written([r.id for r in run])
        if self._failures:
            log.info("Journal: %s reachable again; replaying spooled rows", self._backend.name)
            self._failures = 0
        return len(run), 0, False

    def _write_one_by_one(self, run: list[SpoolRow]) -> tuple[int, int, bool]:
        assert self._backend is not None
        written = rejected = 0
        for row in run:
            try:
                self._backend.upsert_rows(row.table, [row.row])
            except TransientJournalError as exc:
                self._note_transient([row], exc)
                return written, rejected, True
            except PermanentJournalError as exc:
                rejected += self._reject(row, exc.detail)
                continue
            self._spool.mark_written([row.id])
            written += 1
        return written, rejected, False

    def _reject(self, row: SpoolRow, detail: str) -> int:
        assert self._backend is not None
        self._spool.mark_rejected(row.id, detail)
        log.error("Journal: %s row %s rejected by %s: %s. Kept in the spool %s as 'rejected' "
                  "(Journal.requeue_rejected() after fixing); other rows continue.",
                  row.table, row.natural_id, self._backend.name, detail, self._config.spool_path)
        return 1

    def _note_transient(self, rows: list[SpoolRow], exc: TransientJournalError) -> None:
        assert self._backend is not None
        self._spool.mark_attempt([r.id for r in rows], exc.detail)
        log.warning("Journal: %s unavailable (%s); %d row(s) stay spooled, retry %d",
                    self._backend.name, exc.detail, self._spool.counts().pending,
                    self._failures + 1)
