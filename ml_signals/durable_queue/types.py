"""Settings, table description, fault reports and errors of the durable queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DAY_S = 86_400.0

FaultKind = Literal[
    "write_failed",  # a write to the file failed (locked, disk full, I/O error); kept in memory
    "write_recovered",  # writes succeed again after a failure
    "memory_full",  # the memory buffer is full: new records are refused
    "pending_high",  # pending records passed ``warn_frac`` of ``max_pending``
    "pending_cap",  # pending records reached ``max_pending``: new records are refused
    "record_refused",  # the file refused one record for good (constraint, bad value): logged
    "unwritten_at_close",  # close() ran out of time; ``count`` records were not written
]


class QueueSettings(BaseModel):
    """How a :class:`~ml_signals.durable_queue.DurableQueue` holds and writes records.

    Attributes:
        synchronous: SQLite ``synchronous`` (the file runs in WAL mode). ``NORMAL``: a written
            record survives a crash of the process; ``FULL``: also power loss / an OS crash, at
            one fsync per write batch.
        memory_limit: records held in memory while the file cannot be written (locked, disk
            full). Beyond it :meth:`put` refuses new records (``QueueFullError``); accepted ones
            are kept. 10,000 alerts or journal rows is days of a live bot's output.
        max_pending: cap on records awaiting delivery (in the file plus in memory). At the cap
            new records are refused loudly (``QueueFullError``, an error log and a
            ``pending_cap`` fault), so a long outage cannot fill the disk. Measured: 10,000
            pending alerts of the project's kinds, 11 MB; 10,000 journal spool rows, 4 MB.
        warn_frac: a ``pending_high`` warning when pending records pass this fraction of
            ``max_pending`` (0.8 = 80 %).
        retention_s: delivered rows older than this are deleted by :meth:`DurableQueue.prune`
            (the owner's delivery thread calls it every ``prune_interval_s``). Also the window
            in which an idempotency key already delivered is recognised as a duplicate.
            Default 7 days: a restart within a week never re-sends a delivered alert.
        prune_interval_s: how often the delivering process prunes.
        busy_timeout_s: how long one write attempt waits for another process's SQLite lock
            before it counts as failed and is retried (on the writer thread, never the caller's).
        read_timeout_s: the same wait for the consumer's connection (delivery thread,
            inspection).
        retry_initial_s, retry_max_s: writer back-off after a failed write:
            ``initial * 2**(failures-1)`` capped at ``max`` (seconds).
        batch_max: records per write transaction.
        report_every_s: while writes keep failing, the fault is reported again this often.
        close_timeout_s: time the interpreter-exit hook gives a queue that was not closed to
            write what it holds.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    memory_limit: int = Field(default=10_000, ge=1, le=10_000_000)
    max_pending: int = Field(default=10_000, ge=1, le=100_000_000)
    warn_frac: float = Field(default=0.8, gt=0, le=1)
    retention_s: float = Field(default=7 * DAY_S, ge=0)
    prune_interval_s: float = Field(default=600.0, gt=0)
    busy_timeout_s: float = Field(default=1.0, gt=0, le=60)
    read_timeout_s: float = Field(default=10.0, gt=0, le=120)
    retry_initial_s: float = Field(default=0.05, gt=0, le=60)
    retry_max_s: float = Field(default=5.0, gt=0, le=600)
    batch_max: int = Field(default=500, ge=1, le=100_000)
    report_every_s: float = Field(default=60.0, gt=0)
    close_timeout_s: float = Field(default=5.0, ge=0, le=600)


@dataclass(frozen=True, slots=True)
class QueueSchema:
    """The table a queue writes, as SQL the queue runs (constants of the owning module).

    Attributes:
        name: human name in messages (``"alert outbox"``).
        table: main table; ``ddl`` runs when it does not exist yet.
        ddl: ``CREATE TABLE`` / ``INDEX`` script (and seed rows).
        insert_sql: one record's ``INSERT`` with ``?`` placeholders, the order of ``put``'s
            parameters. ``ON CONFLICT (key) DO NOTHING`` on a ``UNIQUE`` key skips a key
            another process stored meanwhile (not ``OR IGNORE``: it would also drop rows
            breaking NOT NULL or CHECK without a word).
        pending_sql: ``SELECT COUNT(*)`` of rows awaiting delivery (for ``max_pending``).
        keys_sql: ``SELECT`` of every stored idempotency key (loaded at open for duplicate
            checks without disk I/O), or ``None`` when records have no key.
        prune_sql: ``DELETE`` of delivered rows older than the ``?`` cutoff (UTC s),
            ``RETURNING`` their key (or ``NULL``); ``None`` when delivered rows are deleted at
            once by the owner.
    """

    name: str
    table: str
    ddl: str
    insert_sql: str
    pending_sql: str
    keys_sql: str | None = None
    prune_sql: str | None = None


@dataclass(frozen=True, slots=True)
class QueueFault:
    """A fault the queue reports to its ``on_fault`` callback (and logs).

    Attributes:
        kind: see :data:`FaultKind`.
        path: the queue file (as given).
        detail: the SQLite error or the limit reached (no secrets: file paths and counts).
        buffered: records in memory, not yet in the file, at the time of the report.
        count: records concerned (written at recovery, unwritten at close, refused), else 0.
    """

    kind: FaultKind
    path: str
    detail: str
    buffered: int
    count: int = 0


@dataclass(frozen=True, slots=True)
class CloseReport:
    """What :meth:`DurableQueue.close` achieved.

    Attributes:
        written: records this handle wrote to the file since it was opened.
        unwritten: records still in memory when the time ran out (lost with the process;
            logged with their count).
        refused: :meth:`put` calls refused because memory or the pending cap was full.
        last_error: the last write error, if any.
    """

    written: int
    unwritten: int
    refused: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class QueueStats:
    """A snapshot of a queue's memory side (no disk I/O to take it).

    Attributes:
        buffered: records accepted and not yet written to the file.
        file_pending: pending rows in the file when the writer last counted them.
        written: records written by this handle.
        refused: ``put`` calls refused (memory or pending cap full).
        failing: True while writes fail.
        last_error: the last write error, if any.
    """

    buffered: int
    file_pending: int
    written: int
    refused: int
    failing: bool
    last_error: str | None


class QueueFullError(RuntimeError):
    """:meth:`DurableQueue.put` refused a record: the memory buffer or the pending cap is full.

    Records accepted before are kept; the caller decides what to do with the refused one.
    """


class QueueClosedError(RuntimeError):
    """:meth:`DurableQueue.put` after :meth:`DurableQueue.close`."""


class QueueLockedError(RuntimeError):
    """Another holder (process or handle) already delivers from this queue file."""
