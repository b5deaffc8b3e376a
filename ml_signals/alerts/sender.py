"""AlertSender: ``submit()`` on the tick thread, Slack I/O on a background thread.

``submit(event)`` renders the event (pure, microseconds) and hands one row to the outbox's
memory; it never touches the disk or the network. The outbox's writer thread stores it in the
SQLite file (:mod:`ml_signals.durable_queue`: a locked file or a full disk keeps alerts in
memory and is reported; limits refuse new alerts loudly). A single worker thread delivers
pending rows from the file:

* in submission order per channel (a channel's next row waits for its head);
* at most one message per channel per ``min_interval_per_channel_s``;
* a transient failure (429, 5xx, timeout, reset, refused) backs the row off
  (``retry_initial_s * 2**(attempt-1)``, capped at ``retry_max_s``, and never sooner than the
  server's ``Retry-After``) and retries it forever — nothing is dropped;
* a permanent failure (``channel_not_found``, ``invalid_auth``, a 4xx other than 429) logs an
  error naming the alert, marks the row ``failed`` (kept, see :meth:`AlertSender.requeue_failed`)
  and the channel moves on.

A row is marked delivered only after Slack answered ok, so a stop or crash before that leaves it
pending and the next sender on the same outbox sends it. One outbox file has one delivering
process at a time (an advisory lock file ``<real path of the outbox>.lock`` enforces it, so a
symlink cannot let two senders deliver the same rows); any number of threads or processes may
``submit``. The delivering sender also prunes delivered rows older than
``outbox_retention_s`` (every ``prune_interval_s``).

Delivery is exactly-once per idempotency key up to the HTTP exchange itself: if the connection
dies after Slack stored a message but before its answer arrived, the retry posts it again —
Slack's ``chat.postMessage`` has no idempotency key to prevent that.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ml_signals.alerts.config import SlackConfig
from ml_signals.alerts.events import AlertEvent, SystemNotice
from ml_signals.alerts.messages import build_message
from ml_signals.alerts.outbox import Outbox, OutboxCounts, OutboxRow
from ml_signals.alerts.secrets import RedactingFilter
from ml_signals.alerts.transport import SendResult, SlackTransport, make_transport
from ml_signals.durable_queue import (
    CloseReport,
    DeliveryLock,
    QueueClosedError,
    QueueFault,
    QueueFullError,
    QueueLockedError,
)

log = logging.getLogger("ml_signals.alerts.sender")

IDLE_POLL_S = 1.0
"""Longest the worker sleeps without a wake-up (also bounds reaction to other processes'
submissions)."""


SELF_REPORTED_FAULTS = frozenset({"write_failed", "pending_high", "record_refused"})
"""Outbox faults the sender also posts to ``#system-alerts`` (through its own outbox: a write
failure's notice is delivered once the file can be written again). Refusals at a full memory
buffer or pending cap cannot go through the full outbox; they are logged as errors."""


class OutboxLockedError(QueueLockedError):
    """Another process (or sender) is already delivering from this outbox file."""


class AlertSender:
    """Durable, ordered, rate-limited Slack delivery off the caller's thread.

    Constructing it opens (and creates if missing) the outbox file ``config.outbox_path``; the
    delivery thread and the Slack clients only exist after :meth:`start`.

    Args:
        config: Slack settings (secrets, channels, thresholds, outbox, retry timings).
        transport: deliver through this :class:`SlackTransport` instead of the one
            ``config.mode`` selects.
        clock: returns UTC seconds; used for back-off, rate-limit bookkeeping and pruning.
        on_fault: also called with each outbox fault (write failures, limits, records left
            unwritten at close); faults are logged and the ones in
            :data:`SELF_REPORTED_FAULTS` are posted to ``#system-alerts`` either way.

    Usage::

        sender = AlertSender(SlackConfig.from_env(env_file=Path(".env")))
        sender.start()
        sender.submit(TradeOpened(...))   # returns at once
        ...
        sender.close()                    # pending rows stay in the outbox
    """

    def __init__(
        self,
        config: SlackConfig,
        transport: SlackTransport | None = None,
        clock: Callable[[], float] = time.time,
        on_fault: Callable[[QueueFault], None] | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._on_fault = on_fault
        self._wake = threading.Event()
        self._outbox = Outbox(config.outbox_path, config.outbox_settings(),
                              on_fault=self._queue_fault, on_written=self._wake.set)
        self._transport = transport
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock: DeliveryLock | None = None
        self._next_prune_s = 0.0
        self._channel_free_at: dict[str, float] = {}
        self._redactor = RedactingFilter(config.secret_values())
        if not any(isinstance(f, RedactingFilter) for f in log.filters):
            log.addFilter(self._redactor)
        else:
            for existing in log.filters:
                if isinstance(existing, RedactingFilter):
                    existing.add(config.secret_values())

    @property
    def outbox(self) -> Outbox:
        """The underlying outbox (inspection, counts)."""
        return self._outbox

    def submit(self, event: AlertEvent) -> bool:
        """Queue ``event`` durably and return at once.

        No disk I/O and no lock wait: the outbox's writer thread stores the alert.

        Returns:
            True if the alert was new; False if an alert with the same idempotency key was
            already accepted (nothing changes).

        Raises:
            TypeError: if ``event`` is not an alert event.
            QueueFullError: the outbox's memory buffer (file unwritable) or its pending cap
                (``outbox_max_pending``) is full: this alert is not accepted (an error is
                logged; alerts accepted before are kept).
            QueueClosedError: after :meth:`close`.
        """
        message = build_message(event, self._config)
        return self._outbox.add(message, self._clock())

    def start(self) -> None:
        """Start the delivery thread (idempotent).

        Raises:
            OutboxLockedError: if another process delivers from the same outbox.
        """
        if self._thread is not None and self._thread.is_alive():
            return
        lock = self._lock or self._outbox.delivery_lock()
        lock.acquire(OutboxLockedError, "delivered")
        self._lock = lock
        if self._transport is None:
            self._transport = make_transport(self._config)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="slack-alerts", daemon=True)
        self._thread.start()
        stats = self._outbox.queue.stats()  # no disk I/O: the file may be locked right now
        log.info("Slack alerts: delivering via %s from %s (%d pending)", self._transport.name,
                 self._config.outbox_path, stats.file_pending + stats.buffered)

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop delivering; the attempt in flight finishes and is recorded first.

        Pending rows stay in the outbox for the next start. Returns True if the thread ended
        within ``timeout_s``.
        """
        thread = self._thread
        self._stopping.set()
        self._wake.set()
        ended = True
        if thread is not None:
            thread.join(timeout_s)
            ended = not thread.is_alive()
        if ended:
            self._thread = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None
        return ended

    def close(self, timeout_s: float = 10.0) -> CloseReport:
        """Write alerts still in memory to the outbox file, :meth:`stop`, and close the file,
        all within ``timeout_s``.

        Returns:
            the outbox's :class:`~ml_signals.durable_queue.CloseReport`; alerts it could not
            write are logged as an error with their count.
        """
        deadline = time.monotonic() + timeout_s
        self._outbox.flush_writes(timeout_s)  # first: a slow Slack call must not eat its time
        self.stop(max(deadline - time.monotonic(), 0.0))
        return self._outbox.close(max(deadline - time.monotonic(), 0.0))

    def flush(self, timeout_s: float) -> bool:
        """Wait until no alert is pending (in memory or in the file: all delivered or failed).
        True if reached.

        Rows backing off after a failure keep this waiting; use it in tests and at shutdown.
        """
        deadline = time.monotonic() + timeout_s
        if not self._outbox.flush_writes(timeout_s):
            return False
        while time.monotonic() < deadline:
            if self._outbox.counts().pending == 0:
                return True
            time.sleep(0.02)
        return self._outbox.counts().pending == 0

    def counts(self) -> OutboxCounts:
        """Outbox rows per status."""
        return self._outbox.counts()

    def requeue_failed(self) -> int:
        """Retry rows that failed permanently (after fixing the token, channel or URL)."""
        n = self._outbox.requeue_failed(self._clock())
        self._wake.set()
        return n

    # -- worker ---------------------------------------------------------------------------

    def _queue_fault(self, fault: QueueFault) -> None:
        """Outbox fault (already logged): post the reportable ones, then the caller's hook."""
        if fault.kind in SELF_REPORTED_FAULTS:
            now = self._clock()
            notice = build_message(SystemNotice(
                title=f"Alert outbox: {fault.kind.replace('_', ' ')}",
                detail=f"{fault.path}: {fault.detail}", occurred_s=now,
                key=f"outbox-fault:{fault.path}:{fault.kind}:{now:.3f}",
                severity="critical" if fault.kind == "write_failed" else "warning",
            ), self._config)
            try:
                self._outbox.add(notice, now)
            except (QueueFullError, QueueClosedError):
                pass  # the fault itself is already logged as an error
        if self._on_fault is not None:
            self._on_fault(fault)

    def _prune_if_due(self, now_s: float) -> None:
        if now_s >= self._next_prune_s:
            self._next_prune_s = now_s + self._outbox.queue.settings.prune_interval_s
            self._outbox.prune(now_s)

    def _pick(self, now_s: float) -> tuple[OutboxRow | None, float | None]:
        """The oldest channel head that is due and not rate-limited, and the next wake time."""
        wake_at: float | None = None
        for row in self._outbox.channel_heads():
            ready_at = max(row.next_attempt_s, self._channel_free_at.get(row.channel, 0.0))
            if ready_at <= now_s:
                return row, None
            wake_at = ready_at if wake_at is None else min(wake_at, ready_at)
        return None, wake_at

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self._prune_if_due(self._clock())
                row, wake_at = self._pick(self._clock())
                if row is not None:
                    self._deliver(row)
                    continue
            except Exception:  # noqa: BLE001 - a locked/full/corrupt file must not end delivery
                log.exception("Slack alerts: outbox %s unusable; retrying",
                              self._config.outbox_path)
                wake_at = None
            wait = IDLE_POLL_S if wake_at is None else wake_at - self._clock()
            self._wake.wait(min(max(wait, 0.0), IDLE_POLL_S))

    def _deliver(self, row: OutboxRow) -> None:
        assert self._transport is not None
        try:
            result = self._transport.send(row)
        except Exception as exc:  # noqa: BLE001 - a transport bug must not stall other alerts
            log.exception("Slack alert %s (%s to %s): unexpected error", row.key, row.kind,
                          row.channel)
            result = SendResult("poison", f"{type(exc).__name__}: {exc}")
        now = self._clock()
        if result.outcome == "ok":
            self._outbox.mark_delivered(row.id, now)
            self._channel_free_at[row.channel] = now + self._config.min_interval_per_channel_s
            log.debug("Slack alert %s delivered to %s", row.key, row.channel)
        elif result.outcome == "retry":
            backoff = min(self._config.retry_initial_s * 2 ** row.attempts,
                          self._config.retry_max_s)
            delay = max(backoff, result.retry_after_s or 0.0)
            attempts = self._outbox.mark_retry(row.id, now + delay, result.error)
            log.warning("Slack alert %s (%s to %s) not delivered (attempt %d): %s; retrying in "
                        "%.1f s", row.key, row.kind, row.channel, attempts, result.error, delay)
        else:
            self._outbox.mark_failed(row.id, result.error)
            log.error("Slack alert %s (%s to %s) failed permanently: %s. Kept in %s as 'failed'; "
                      "fix the setting and call requeue_failed(). Other alerts continue.",
                      row.key, row.kind, row.channel, result.error, self._config.outbox_path)
