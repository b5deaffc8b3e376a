"""One durable queue core for the Slack alert outbox and the journal spool.

A record goes through three states:

1. **accepted** — :meth:`DurableQueue.put` appended it to a bounded memory buffer and returned.
   The caller's thread (Hummingbot's tick) does no disk I/O and waits for no lock: a file
   locked by another process or a full disk cannot stall trading or make ``put`` raise
   ``sqlite3`` errors.
2. **persisted** — one writer thread per queue commits records to the SQLite file (WAL) in
   acceptance order, up to ``batch_max`` per transaction. A record leaves memory only after its
   transaction committed. From here it survives a crash or SIGKILL of the process
   (``synchronous=NORMAL``; ``FULL`` also survives power loss).
3. **delivered** — the owner's single delivering thread (Slack sender, journal worker) reads
   pending rows from the file, delivers them and marks them (outbox rows become
   ``delivered`` and are pruned after ``retention_s``; spool rows are deleted at once).

Faults and limits, none of which drops an accepted record silently:

* **File locked or disk full**: the writer keeps the records in memory, retries with
  exponential back-off (``retry_initial_s`` doubling up to ``retry_max_s``) and reports the
  fault to ``on_fault`` and the log (``write_failed``, repeated every ``report_every_s`` while
  it lasts, then ``write_recovered``), so the owner can raise an alert.
* **Memory buffer full** (``memory_limit`` records waiting for the file): ``put`` refuses new
  records with :class:`QueueFullError`; accepted ones are kept. Loud: the exception, an error
  log and a ``memory_full`` fault once per episode.
* **Pending cap** (``max_pending`` records awaiting delivery, file plus memory): the same
  refusal (``pending_cap``), with a ``pending_high`` warning first at ``warn_frac`` of the cap.
* **A record the file refuses** (constraint violation, a value SQLite cannot bind): retried
  alone, then logged with its values and set aside (``record_refused``) so it cannot block the
  records behind it.
* **Close**: :meth:`DurableQueue.close` writes what memory holds for up to ``timeout_s`` and
  reports what it could not write, with the count (``unwritten_at_close``, error log,
  :class:`CloseReport`). A queue never closed is closed by an interpreter-exit hook
  (``close_timeout_s``). Only a kill of the process loses records accepted but not yet
  persisted; the writer commits them within milliseconds when the file is writable, and
  :meth:`DurableQueue.flush` waits for exactly that.

Exactly once: a batch whose commit fails is rolled back and re-written whole; a record that
committed is never written again by the same handle. Idempotency keys (``UNIQUE`` in the
outbox) are checked in memory at ``put`` against the keys stored when the file was opened and
those accepted since, and again in the file by ``ON CONFLICT (key) DO NOTHING`` (a key another
process stored after this handle opened the file). The duplicate window is the retention: a
key pruned after ``retention_s`` is accepted again.

One delivering holder per file: :class:`DeliveryLock` ``flock``s ``<real path>.lock``, with
the path resolved by :func:`os.path.realpath`, so a symlink to the file or its folder cannot
let two senders deliver the same rows. Any number of processes may ``put`` into one file.

Slack's own at-least-once caveat: a row is marked delivered only after Slack answered ok. If
the connection is cut (or the process killed) after Slack stored a message but before its
answer arrived, the row is still pending and the next attempt posts that one message again —
``chat.postMessage`` and Incoming Webhooks take no idempotency key that would let Slack drop
the repeat. Every other alert is posted exactly once.
"""

from ml_signals.durable_queue.lock import DeliveryLock, real_path
from ml_signals.durable_queue.queue import DurableQueue
from ml_signals.durable_queue.types import (
    CloseReport,
    FaultKind,
    QueueClosedError,
    QueueFault,
    QueueFullError,
    QueueLockedError,
    QueueSchema,
    QueueSettings,
    QueueStats,
)

__all__ = [
    "CloseReport",
    "DeliveryLock",
    "DurableQueue",
    "FaultKind",
    "QueueClosedError",
    "QueueFault",
    "QueueFullError",
    "QueueLockedError",
    "QueueSchema",
    "QueueSettings",
    "QueueStats",
    "real_path",
]
