"""The journal spool under real faults: another process holding the spool's write lock while
the tick thread records, a SIGKILL while records are being written, and spool faults raised as
Slack notices through the alert outbox."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from pathlib import Path

from journal_factories import setup_record
from servers.queue_faults import LockHolder, child, file_rows, kill_quietly

from ml_signals.alerts import AlertSender, SlackConfig
from ml_signals.durable_queue import QueueFault
from ml_signals.hummingbot.observers import journal_fault_alerts
from ml_signals.journal import Journal, JournalConfig

WAIT_S = 30.0


def config(tmp_path: Path, **overrides: object) -> JournalConfig:
    values: dict[str, object] = {"sqlite_path": tmp_path / "journal.sqlite",
                                 "spool_path": tmp_path / "spool.sqlite",
                                 "retry_initial_s": 0.05, "retry_max_s": 0.2}
    values.update(overrides)
    return JournalConfig.model_validate(values)


def spooled_ids(path: Path) -> list[str]:
    return [str(n) for (n,) in file_rows(path, "SELECT natural_id FROM journal_spool ORDER BY id")]


def journal_ids(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [str(i) for (i,) in conn.execute("SELECT setup_id FROM strategy_setups")]


def test_tick_thread_records_while_the_spool_is_locked_and_all_arrive_once(tmp_path):
    cfg = config(tmp_path)
    faults: list[QueueFault] = []
    failed = threading.Event()

    def on_fault(fault: QueueFault) -> None:
        faults.append(fault)
        if fault.kind == "write_failed":
            failed.set()

    journal = Journal(cfg, on_fault=on_fault)
    journal.start()
    records = [setup_record(i) for i in range(120)]
    with LockHolder(cfg.spool_path) as holder:
        tick = threading.Thread(target=lambda: [journal.record(r) for r in records],
                                name="tick-loop")
        tick.start()
        tick.join()
        assert holder.holding  # every record() returned while the lock was held
        assert failed.wait(WAIT_S)
        assert spooled_ids(cfg.spool_path) == []
        assert journal.counts().buffered == 120
        holder.release()
    assert journal.flush(WAIT_S)
    counts = journal.counts()
    assert journal.close()
    assert (counts.pending, counts.written, counts.buffered) == (0, 120, 0)
    assert sorted(journal_ids(cfg.sqlite_path)) == sorted(r.setup_id for r in records)
    kinds = [f.kind for f in faults]
    assert kinds[0] == "write_failed" and "write_recovered" in kinds
    assert "locked" in faults[0].detail


def test_sigkill_while_writing_then_restart_stores_each_persisted_record_once(tmp_path):
    cfg = config(tmp_path, spool_max_pending=1_000_000, spool_memory_limit=1_000_000)
    Journal(cfg).close()  # create the spool file
    script = (
        "import sys\n"
        "from journal_factories import setup_record\n"
        "from ml_signals.journal import Journal, JournalConfig\n"
        "journal = Journal(JournalConfig.model_validate_json(sys.argv[1]))  # never started\n"
        "i = 0\n"
        "while True:\n"
        "    journal.record(setup_record(i))\n"
        "    i += 1\n"
        "    if i % 100 == 0:  # the writer's progress, without waiting for it\n"
        "        print(journal.spool.queue.stats().written, flush=True)\n"
        "    if journal.spool.queue.stats().buffered > 5000:\n"
        "        journal.spool.flush_writes(30)\n"
    )
    proc = child(script, cfg.model_dump_json(), extra_path=Path(__file__).parent)
    assert proc.stdout is not None
    persisted = 0
    try:
        while persisted < 1500:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            persisted = int(line)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        kill_quietly(proc)
    assert proc.returncode == -signal.SIGKILL
    spooled = spooled_ids(cfg.spool_path)
    assert len(spooled) >= persisted
    assert spooled == [setup_record(i).setup_id for i in range(len(spooled))]  # ordered prefix

    restarted = Journal(cfg)
    restarted.start()
    assert restarted.flush(WAIT_S)
    counts = restarted.counts()
    assert restarted.close()
    assert (counts.pending, counts.rejected, counts.written) == (0, 0, len(spooled))
    stored = journal_ids(cfg.sqlite_path)
    assert len(stored) == len(set(stored)) == len(spooled)
    print(f"\nSIGKILL mid-write: {persisted} seen persisted, {len(spooled)} in the spool, "
          f"{len(stored)} in the journal")


def test_spool_faults_become_system_alerts(tmp_path):
    cfg = config(tmp_path)
    sender = AlertSender(SlackConfig(outbox_path=tmp_path / "outbox.sqlite"))
    post = journal_fault_alerts(sender, lambda: 1_760_000_000.0)
    failed = threading.Event()

    def on_fault(fault: QueueFault) -> None:
        post(fault)
        if fault.kind == "write_failed":
            failed.set()

    journal = Journal(cfg, on_fault=on_fault)
    with LockHolder(cfg.spool_path) as holder:
        journal.record(setup_record(1))
        assert failed.wait(WAIT_S) and holder.holding
        holder.release()
    assert journal.spool.flush_writes(WAIT_S)
    journal.close()
    notices = [r for r in sender.outbox.rows() if r.key.startswith("notice:spool-fault:")]
    sender.close()
    titles = [r.text.splitlines()[0] for r in notices]
    assert any("Journal spool: write failed" in t for t in titles), titles
    failed = next(r for r in notices if "write failed" in r.text)
    assert failed.channel == "#system-alerts" and failed.mention
    assert "database is locked" in failed.text and str(cfg.spool_path) in failed.text
