"""The durable queue core on real SQLite files, with real lock-holding processes, a real full
file system (a size-limited tmpfs) and real process kills.

A small ``events`` table stands in for the owners' tables; the outbox and the spool are tested
through their facades in ``tests/alerts`` and ``tests/journal``.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from servers.queue_faults import LockHolder, child, file_rows, fill_disk, kill_quietly, small_tmpfs

from ml_signals.durable_queue import (
    DeliveryLock,
    DurableQueue,
    QueueClosedError,
    QueueFault,
    QueueFullError,
    QueueLockedError,
    QueueSchema,
    QueueSettings,
)

SCHEMA = QueueSchema(
    name="test queue",
    table="events",
    ddl="""CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE,
           seq INTEGER NOT NULL CHECK (seq >= 0), body TEXT NOT NULL,
           status TEXT NOT NULL DEFAULT 'pending', done_s REAL);""",
    insert_sql="INSERT INTO events (key, seq, body) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
    pending_sql="SELECT COUNT(*) FROM events WHERE status = 'pending'",
    keys_sql="SELECT key FROM events",
    prune_sql="DELETE FROM events WHERE status = 'done' AND done_s < ? RETURNING key",
)
FAST = {"retry_initial_s": 0.02, "retry_max_s": 0.2, "busy_timeout_s": 0.1}
WAIT_S = 30.0


class Faults:
    """Collects faults; :meth:`wait_for` blocks until one of a kind arrives."""

    def __init__(self) -> None:
        self.items: list[QueueFault] = []
        self._cond = threading.Condition()

    def __call__(self, fault: QueueFault) -> None:
        with self._cond:
            self.items.append(fault)
            self._cond.notify_all()

    def kinds(self) -> list[str]:
        with self._cond:
            return [f.kind for f in self.items]

    def wait_for(self, kind: str) -> QueueFault:
        with self._cond:
            assert self._cond.wait_for(lambda: any(f.kind == kind for f in self.items), WAIT_S), \
                f"no {kind} fault; got {[f.kind for f in self.items]}"
            return next(f for f in self.items if f.kind == kind)


def open_queue(path: Path, faults: Faults | None = None, **settings: object) -> DurableQueue:
    return DurableQueue(path, SCHEMA, QueueSettings.model_validate({**FAST, **settings}),
                        on_fault=faults)


def record(i: int, size: int = 40) -> tuple[str, int, str]:
    return (f"k{i}", i, f"event {i} " + "x" * size)


def stored_seqs(path: Path) -> list[int]:
    return [int(s) for (s,) in file_rows(path, "SELECT seq FROM events ORDER BY id")]


def test_put_returns_at_once_while_another_process_holds_the_lock(tmp_path):
    path = tmp_path / "q.sqlite"
    faults = Faults()
    queue = open_queue(path, faults)
    returned: list[bool] = []
    durations_s: list[float] = []
    with LockHolder(path) as holder:
        def tick_loop() -> None:
            for i in range(300):
                t0 = time.perf_counter()
                returned.append(queue.put(record(i), key=f"k{i}"))
                durations_s.append(time.perf_counter() - t0)

        tick = threading.Thread(target=tick_loop, name="tick")
        tick.start()
        tick.join()
        # Every put returned while the other process still held the write lock ...
        assert holder.holding and returned == [True] * 300
        fault = faults.wait_for("write_failed")
        assert "locked" in fault.detail and fault.path == str(path)
        assert stored_seqs(path) == []  # ... so none could be in the file yet
        assert queue.stats().buffered == 300 and queue.stats().failing
        assert queue.put(record(5), key="k5") is False  # duplicate known without disk I/O
        holder.release()
    assert queue.flush(WAIT_S)
    faults.wait_for("write_recovered")
    report = queue.close()
    assert stored_seqs(path) == list(range(300))
    assert (report.written, report.unwritten) == (300, 0)
    durations_s.sort()
    print(f"\nput under a held lock: median {durations_s[150] * 1e6:.1f} us, "
          f"max {durations_s[-1] * 1e6:.1f} us over 300 puts")


def test_open_does_not_wait_for_a_held_lock(tmp_path):
    path = tmp_path / "q.sqlite"
    first = open_queue(path)
    first.put(record(0), key="k0")
    assert first.flush(WAIT_S)
    first.close()
    with LockHolder(path) as holder:
        reopened = open_queue(path)  # reads only: schema present, keys, pending count
        assert holder.holding
        assert reopened.put(record(0), key="k0") is False
        assert reopened.stats().file_pending == 1
        holder.release()
        reopened.close()


def test_full_memory_refuses_new_records_loudly_and_keeps_the_accepted(tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="ml_signals.durable_queue")
    path = tmp_path / "q.sqlite"
    faults = Faults()
    queue = open_queue(path, faults, memory_limit=20)
    with LockHolder(path) as holder:
        for i in range(20):
            assert queue.put(record(i), key=f"k{i}")
        for i in range(20, 25):
            with pytest.raises(QueueFullError, match="memory_limit 20"):
                queue.put(record(i), key=f"k{i}")
        assert faults.kinds().count("memory_full") == 1  # once per episode, not per refusal
        assert queue.stats().refused == 5
        holder.release()
    assert queue.flush(WAIT_S)
    assert queue.put(record(20), key="k20")  # room again: the refused key was never taken
    assert queue.flush(WAIT_S)
    queue.close()
    assert stored_seqs(path) == list(range(21))
    assert any("memory_full" in r.getMessage() for r in caplog.records)


def test_close_reports_what_it_could_not_write(tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="ml_signals.durable_queue")
    path = tmp_path / "q.sqlite"
    faults = Faults()
    queue = open_queue(path, faults)
    with LockHolder(path) as holder:
        for i in range(7):
            queue.put(record(i), key=f"k{i}")
        report = queue.close(timeout_s=0.3)
        assert holder.holding  # the lock never went away during close
    assert (report.unwritten, report.written) == (7, 0)
    assert "locked" in (report.last_error or "")
    assert faults.wait_for("unwritten_at_close").count == 7
    assert any("7 accepted record(s) could not be written" in r.getMessage()
               for r in caplog.records)
    assert stored_seqs(path) == []
    with pytest.raises(QueueClosedError):
        queue.put(record(8), key="k8")


def test_close_writes_what_memory_holds(tmp_path):
    path = tmp_path / "q.sqlite"
    queue = open_queue(path)
    with LockHolder(path) as holder:
        for i in range(50):
            queue.put(record(i), key=f"k{i}")
        threading.Timer(0.2, holder.release).start()  # the lock goes while close is waiting
        report = queue.close(timeout_s=WAIT_S)
    assert (report.written, report.unwritten) == (50, 0)
    assert stored_seqs(path) == list(range(50))


def test_full_disk_keeps_records_in_memory_until_space_is_freed(tmp_path):
    with small_tmpfs(tmp_path / "small", "1m") as mount:
        path = mount / "q.sqlite"
        faults = Faults()
        queue = open_queue(path, faults)
        for i in range(10):
            queue.put(record(i), key=f"k{i}")
        assert queue.flush(WAIT_S)
        filler = mount / "filler"
        filled = fill_disk(filler)
        for i in range(10, 400):  # 400 x ~1 kB: far beyond any room left in the WAL
            assert queue.put(record(i, size=1000), key=f"k{i}")
        fault = faults.wait_for("write_failed")
        assert "full" in fault.detail
        assert queue.stats().buffered > 0
        filler.unlink()
        assert queue.flush(WAIT_S)
        faults.wait_for("write_recovered")
        report = queue.close()
        assert stored_seqs(path) == list(range(400))
        assert report.unwritten == 0
        print(f"\nfull disk: filler {filled} B, first error: {fault.detail}")


def test_a_record_the_file_refuses_is_logged_and_does_not_block_the_rest(tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="ml_signals.durable_queue")
    path = tmp_path / "q.sqlite"
    faults = Faults()
    queue = open_queue(path, faults)
    for i in range(5):
        queue.put(record(i if i != 2 else -1), key=f"k{i}")  # seq -1 breaks the CHECK
    assert queue.flush(WAIT_S)
    report = queue.close()
    assert stored_seqs(path) == [0, 1, 3, 4]
    refused = faults.wait_for("record_refused")
    assert "k2" in refused.detail and "CHECK" in refused.detail
    assert report.written == 4


def test_records_of_a_process_that_exits_without_close_are_written(tmp_path):
    path = tmp_path / "q.sqlite"
    open_queue(path).close()
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ml_signals.durable_queue import DurableQueue, QueueSchema\n"
        "import test_durable_queue as t\n"
        "q = t.open_queue(Path(sys.argv[1]))\n"
        "for i in range(500):\n"
        "    q.put(t.record(i), key=f'k{i}')\n"
        "# no flush, no close: the interpreter-exit hook writes them\n"
    )
    proc = child(script, str(path), extra_path=Path(__file__).parent)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert stored_seqs(path) == list(range(500))


def test_sigkill_mid_write_leaves_an_ordered_prefix_without_duplicates(tmp_path):
    path = tmp_path / "q.sqlite"
    open_queue(path).close()
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "import test_durable_queue as t\n"
        "q = t.open_queue(Path(sys.argv[1]), max_pending=10_000_000, memory_limit=10_000_000)\n"
        "i = 0\n"
        "while True:\n"
        "    q.put(t.record(i), key=f'k{i}')\n"
        "    i += 1\n"
        "    if i % 100 == 0:  # the writer's progress, without waiting for it\n"
        "        print(q.stats().written, flush=True)\n"
        "    if q.stats().buffered > 5000:\n"
        "        q.flush(30)\n"
    )
    proc = child(script, str(path), extra_path=Path(__file__).parent)
    assert proc.stdout is not None
    confirmed = 0
    try:
        while confirmed < 2000:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            confirmed = int(line)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        kill_quietly(proc)
    assert proc.returncode == -signal.SIGKILL
    seqs = stored_seqs(path)
    assert len(seqs) >= confirmed  # every record the child saw persisted is there ...
    assert seqs == list(range(len(seqs)))  # ... in order, no gap, none twice
    print(f"\nSIGKILL mid-write: {confirmed} confirmed persisted, {len(seqs)} in the file")


def test_delivery_lock_follows_symlinks(tmp_path):
    real = tmp_path / "data" / "q.sqlite"
    open_queue(real).close()
    (tmp_path / "link.sqlite").symlink_to(real)
    (tmp_path / "linkdir").symlink_to(tmp_path / "data", target_is_directory=True)
    first = DeliveryLock(real)
    first.acquire()
    try:
        for other in (tmp_path / "link.sqlite", tmp_path / "linkdir" / "q.sqlite", real):
            with pytest.raises(QueueLockedError, match="delivered by another process"):
                DeliveryLock(other).acquire()
    finally:
        first.release()
    second = DeliveryLock(tmp_path / "link.sqlite")
    second.acquire()  # free again once released
    assert second.lock_path == Path(f"{real}.lock")
    second.release()


def test_prune_deletes_old_delivered_rows_and_forgets_their_keys(tmp_path):
    path = tmp_path / "q.sqlite"
    queue = open_queue(path, retention_s=100.0)
    for i in range(2000):
        queue.put(record(i, size=400), key=f"k{i}")
    assert queue.flush(WAIT_S)
    with queue.connection() as conn:
        conn.execute("UPDATE events SET status = 'done', done_s = 1000 WHERE seq < 1500")
        conn.execute("UPDATE events SET status = 'done', done_s = 1090 WHERE seq >= 1990")
        pages_before = conn.execute("PRAGMA page_count").fetchone()[0]
    assert queue.prune(now_s=1101.0) == 1500  # older than 100 s; recent and pending stay
    with queue.connection() as conn:
        pages_after = conn.execute("PRAGMA page_count").fetchone()[0]
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert stored_seqs(path) == list(range(1500, 2000))
    assert queue.put(record(3), key="k3") is True  # pruned: outside the duplicate window
    assert queue.put(record(1995), key="k1995") is False  # still stored
    queue.close()
    assert pages_after < pages_before
    print(f"\nprune: pages {pages_before} -> {pages_after} (4 KiB each)")
