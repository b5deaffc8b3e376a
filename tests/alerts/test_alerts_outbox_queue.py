"""The alert outbox on the durable queue core, against the Slack-like server on loopback:
a locked outbox file, two senders reaching one outbox through a symlink, SIGKILL of a
delivering process, pruning of delivered rows and the pending cap."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from servers.queue_faults import LockHolder, child, file_rows, kill_quietly
from servers.slack_like import DEFAULT_TOKEN, SlackLikeServer

from ml_signals.alerts.config import SlackConfig
from ml_signals.alerts.events import SystemNotice
from ml_signals.alerts.sender import AlertSender
from ml_signals.durable_queue import QueueFault, QueueFullError

WAIT_S = 30.0
T0 = 1_760_000_000.0


def notice(i: int) -> SystemNotice:
    return SystemNotice(title=f"queue test {i}", detail="durable queue test",
                        occurred_s=T0 + i, key=f"q-{i}")


def wait_until(predicate: Any, what: str) -> None:
    """Poll ``predicate`` (a guard against hanging, not a timing assertion)."""
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def delivered_count(path: Path) -> int:
    rows = file_rows(path, "SELECT COUNT(*) FROM alert_outbox WHERE status = 'delivered'")
    return int(rows[0][0])


def test_submit_returns_while_the_outbox_is_locked_and_everything_is_posted_once(
        slack_server, make_config):
    faults: list[QueueFault] = []
    failed = threading.Event()

    def on_fault(fault: QueueFault) -> None:
        faults.append(fault)
        if fault.kind == "write_failed":
            failed.set()

    config = make_config()
    sender = AlertSender(config, on_fault=on_fault)
    sender.start()
    events = [notice(i) for i in range(60)]
    try:
        with LockHolder(config.outbox_path) as holder:
            tick = threading.Thread(target=lambda: [sender.submit(e) for e in events],
                                    name="tick-loop")
            tick.start()
            tick.join()
            assert holder.holding and failed.wait(WAIT_S)
            assert sender.counts().buffered >= 60
            holder.release()
        assert sender.flush(WAIT_S)
    finally:
        sender.close()
    keys = [r.key for r in slack_server.accepted()]
    ours = [k for k in keys if k.startswith("notice:q-")]
    assert ours == [e.idempotency_key for e in events]  # once each, in order
    # the outbox reported its own write failure to #system-alerts once it could write again
    fault_notices = [r for r in slack_server.accepted() if "Alert outbox: write failed" in r.text]
    assert fault_notices and "database is locked" in fault_notices[0].text
    assert len(keys) == len(set(keys))


CHILD_CONFIG = """
import os, sys
from pydantic import SecretStr
from ml_signals.alerts.config import SlackConfig
# the dumped config hides the token: it comes through the environment
cfg = SlackConfig.model_validate_json(sys.argv[1]).model_copy(
    update={"bot_token": SecretStr(os.environ["TEST_SLACK_TOKEN"])})
"""
TOKEN_ENV = {"TEST_SLACK_TOKEN": DEFAULT_TOKEN}

SYMLINK_SENDER = CHILD_CONFIG + """
import time
from pathlib import Path
from ml_signals.alerts.events import SystemNotice
from ml_signals.alerts.sender import AlertSender, OutboxLockedError
lo, hi, go, done = int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5])
sender = AlertSender(cfg)
for i in range(lo, hi):
    sender.submit(SystemNotice(title=f"alert {i}", detail="symlink", occurred_s=1e9 + i,
                               key=f"sym-{i}"))
assert sender.outbox.flush_writes(30)
print("ready", flush=True)
while not go.exists():
    time.sleep(0.01)
try:
    sender.start()
except OutboxLockedError as exc:
    print("locked", flush=True)
    sender.close()
    sys.exit(0)
assert sender.flush(60)
print("delivered", flush=True)
while not done.exists():  # hold the delivery lock until the other process has tried
    time.sleep(0.01)
sender.close()
"""


def test_two_senders_through_a_symlink_post_each_alert_once(slack_server, make_config,
                                                           tmp_path):
    real = tmp_path / "real" / "outbox.sqlite"
    link = tmp_path / "link.sqlite"
    AlertSender(make_config(outbox_path=real)).close()  # create the file
    link.symlink_to(real)
    go, done = tmp_path / "go", tmp_path / "done"
    procs = [child(SYMLINK_SENDER, make_config(outbox_path=path).model_dump_json(),
                   str(lo), str(lo + 200), str(go), str(done), env=TOKEN_ENV,
                   stderr_path=tmp_path / f"sender-{lo}.log")
             for path, lo in ((real, 0), (link, 200))]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
        go.touch()
        outcomes = sorted(proc.stdout.readline().strip() for proc in procs if proc.stdout)
        done.touch()
        for proc in procs:
            proc.communicate(timeout=60)
            assert proc.returncode == 0, (tmp_path / "sender-0.log").read_text()
    finally:
        for proc in procs:
            kill_quietly(proc)
    assert outcomes == ["delivered", "locked"]
    keys = Counter(r.key for r in slack_server.accepted())
    assert keys == Counter({f"notice:sym-{i}": 1 for i in range(400)})


DELIVERING_CHILD = CHILD_CONFIG + """
import time
from ml_signals.alerts.sender import AlertSender
sender = AlertSender(cfg)
sender.start()
print("started", flush=True)
time.sleep(600)  # killed by the test
"""


def submit_all(config: SlackConfig, events: list[Any]) -> None:
    sender = AlertSender(config)
    for event in events:
        assert sender.submit(event)
    assert sender.close().unwritten == 0


def mixed(n: int) -> list[Any]:
    from test_alerts_delivery import mixed_events

    return mixed_events(n)


def test_sigkill_between_sends_then_restart_posts_each_alert_exactly_once(
        slack_server, make_config, tmp_path):
    events = mixed(12)  # three channels
    config = make_config(min_interval_per_channel_s=60.0)  # one post per channel, then a gap
    submit_all(config, events)
    proc = child(DELIVERING_CHILD, config.model_dump_json(), env=TOKEN_ENV,
                 stderr_path=tmp_path / "child.log")
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
        wait_until(lambda: len(slack_server.accepted()) == 3
                   and delivered_count(config.outbox_path) == 3, "three deliveries")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        kill_quietly(proc)
    restarted = AlertSender(make_config())
    restarted.start()
    try:
        assert restarted.flush(WAIT_S)
    finally:
        restarted.close()
    keys = [r.key for r in slack_server.accepted()]
    assert Counter(keys) == Counter(e.idempotency_key for e in events)
    for channel in {r.channel for r in slack_server.accepted()}:
        sent = [r.key for r in slack_server.accepted() if r.channel == channel]
        assert sent == [k for k in [e.idempotency_key for e in events] if k in set(sent)]


class ArrivalServer(SlackLikeServer):
    """The Slack-like server, noting when a long "slow" fault's request has arrived."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.slow_arrived = threading.Event()

    def next_fault(self) -> tuple[Any, ...] | None:
        fault = super().next_fault()
        if fault is not None and fault[0] == "slow" and float(fault[1]) >= 1.0:
            self.slow_arrived.set()
        return fault


def test_sigkill_while_slack_holds_the_answer_repeats_only_that_alert(make_config, tmp_path):
    """Slack's at-least-once caveat, measured: the message Slack stored while the sender died
    waiting for the answer is posted again after the restart; no other alert is."""
    server = ArrivalServer().start()
    try:
        config = make_config(base_url=server.api_base_url)
        events = [notice(i) for i in range(8)]
        submit_all(config, events)
        server.add_faults(("slow", 0.0), ("slow", 0.0), ("slow", 3.0))  # the third is held
        proc = child(DELIVERING_CHILD, config.model_dump_json(), env=TOKEN_ENV,
                     stderr_path=tmp_path / "child.log")
        try:
            assert server.slow_arrived.wait(WAIT_S)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            kill_quietly(proc)
        restarted = AlertSender(config)
        restarted.start()
        try:
            assert restarted.flush(WAIT_S)
        finally:
            restarted.close()
        wait_until(lambda: len(server.accepted()) == 9, "the held request to finish")
        keys = Counter(r.key for r in server.accepted())
    finally:
        server.stop()
    assert keys == Counter({**{e.idempotency_key: 1 for e in events}, "notice:q-2": 2})


def test_delivering_sender_prunes_delivered_rows_after_the_retention(make_config, caplog):
    caplog.set_level(logging.INFO, logger="ml_signals.durable_queue")
    now = [T0]
    config = make_config(outbox_retention_s=3600.0)
    sender = AlertSender(config, clock=lambda: now[0])
    for i in range(5):
        sender.submit(notice(i))
    sender.start()
    try:
        assert sender.flush(WAIT_S)
        assert sender.counts().delivered == 5
        assert sender.submit(notice(1)) is False  # delivered and inside the retention
        now[0] += 3600.0 + 600.0 + 1.0  # past the retention and the prune interval
        sender.submit(notice(99))  # wakes the delivery thread
        wait_until(lambda: sender.counts().delivered == 1, "the prune")
        assert [r.key for r in sender.outbox.rows()] == ["notice:q-99"]
        assert sender.submit(notice(1)) is True  # pruned: outside the duplicate window
    finally:
        sender.close()
    assert any("pruned 5 delivered row(s)" in r.getMessage() for r in caplog.records)


def test_pending_cap_refuses_new_alerts_loudly_and_keeps_the_accepted(make_config, caplog):
    caplog.set_level(logging.WARNING, logger="ml_signals.durable_queue")
    faults: list[QueueFault] = []
    config = make_config(outbox_max_pending=30)
    sender = AlertSender(config, on_fault=faults.append)
    accepted = 0
    with pytest.raises(QueueFullError, match="max_pending 30"):
        for i in range(40):
            sender.submit(notice(i))
            accepted += 1
    for i in range(accepted + 1, accepted + 4):  # still refused, reported once
        with pytest.raises(QueueFullError):
            sender.submit(notice(i))
    kinds = [f.kind for f in faults]
    assert kinds.count("pending_high") == 1 and kinds.count("pending_cap") == 1
    rows = sender.outbox.rows()
    ours = [r.key for r in rows if r.key.startswith("notice:q-")]
    assert ours == [f"notice:q-{i}" for i in range(accepted)]
    assert len(rows) == 30  # our alerts plus the outbox's own "pending high" notice
    assert any("pending high" in r.text for r in rows)
    sender.start()
    try:
        assert sender.flush(WAIT_S)
        wait_until(lambda: _accepts(sender, notice(100)), "room after delivery")
        assert sender.flush(WAIT_S)
    finally:
        sender.close()
    assert any("pending_cap" in r.getMessage() and r.levelno == logging.ERROR
               for r in caplog.records)


def _accepts(sender: AlertSender, event: SystemNotice) -> bool:
    try:
        return sender.submit(event)
    except QueueFullError:
        return False
