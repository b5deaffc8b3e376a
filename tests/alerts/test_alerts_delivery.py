"""AlertSender against a real local HTTP server speaking Slack's Web API and webhooks.

No mocks: slack-sdk's WebClient / WebhookClient send real HTTP to 127.0.0.1. The server records
each request's arrival time, channel, text, idempotency key and outcome; assertions count those.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from servers.slack_like import DEFAULT_TOKEN as GOOD_TOKEN
from servers.slack_like import SlackLikeServer

from ml_signals.alerts.config import SlackConfig
from ml_signals.alerts.events import (
    AlertEvent,
    DailySummary,
    GuardTripped,
    TradeClosed,
    TradeOpened,
)
from ml_signals.alerts.sender import AlertSender, OutboxLockedError

T0 = 1_760_000_000.0
BAD_TOKEN = "xoxb-" + "test-revoked-0123456789"  # noqa: S105 - a dummy the local server refuses
FLUSH_S = 20.0


def opened(i: int) -> TradeOpened:
    return TradeOpened(trade_id=f"ex-{i}", strategy="swing", pair="ETH-USDT",
                       entry_price_quote=2500.0 + i, amount_quote=100.0, confidence=0.7,
                       stop_loss_frac=0.05, take_profit_frac=0.1, opened_s=T0 + i)


def closed(i: int) -> TradeClosed:
    return TradeClosed(trade_id=f"ex-{i}", strategy="swing", pair="ETH-USDT",
                       entry_price_quote=2500.0 + i, exit_price_quote=2550.0 + i,
                       amount_quote=100.0, pnl_quote=1.5 + i, pnl_frac=0.015,
                       close_type="TAKE_PROFIT", opened_s=T0 + i, closed_s=T0 + i + 3600)


def report(i: int) -> DailySummary:
    return DailySummary(kind="evening", period_start_s=T0 + i * 86400,
                        period_end_s=T0 + (i + 1) * 86400, setups_detected=10 + i,
                        setups_taken=3, trades_count=3, wins=2, losses=1, net_pnl_quote=4.2,
                        ml_precision=0.66)


def guard(i: int) -> GuardTripped:
    return GuardTripped(guard="daily_loss", reason=f"day loss #{i} beyond limit",
                        occurred_s=T0 + i)


def mixed_events(n: int) -> list[AlertEvent]:
    """``n`` events cycling over the three channels, each with distinct text."""
    makers: list[Callable[[int], AlertEvent]] = [opened, report, guard, closed]
    return [makers[i % 4](i) for i in range(n)]


def run_sender(config: SlackConfig, events: list[AlertEvent]) -> AlertSender:
    sender = AlertSender(config)
    for event in events:
        assert sender.submit(event)
    sender.start()
    return sender


def assert_exactly_once_in_order(server: SlackLikeServer, sender: AlertSender,
                                 events: list[AlertEvent]) -> None:
    """Every event accepted exactly once, per channel in submission order."""
    rows = {r.key: r for r in sender.outbox.rows()}
    accepted = server.accepted()
    keys = [r.key for r in accepted]
    assert Counter(keys) == Counter(e.idempotency_key for e in events)
    for channel in {r.channel for r in rows.values()}:
        expected = [e.idempotency_key for e in events if rows[e.idempotency_key].channel == channel]
        assert [r.key for r in accepted if r.channel == channel] == expected


def test_delivers_each_alert_once_in_order_per_channel(slack_server, make_config):
    events = mixed_events(24)
    sender = run_sender(make_config(), events)
    try:
        assert sender.flush(FLUSH_S)
    finally:
        sender.stop()
    assert_exactly_once_in_order(slack_server, sender, events)
    counts = sender.counts()
    assert (counts.delivered, counts.pending, counts.failed) == (24, 0, 0)
    # Channels are the plan's defaults.
    assert {r.channel for r in slack_server.accepted()} == {
        "#ml-signals", "#daily-reports", "#system-alerts"}


def test_submitting_the_same_event_twice_sends_once(slack_server, make_config):
    sender = AlertSender(make_config())
    assert sender.submit(opened(1)) is True
    assert sender.submit(opened(1)) is False
    assert sender.submit(closed(1)) is True  # same trade, different event: its own alert
    sender.start()
    try:
        assert sender.flush(FLUSH_S)
        assert sender.submit(opened(1)) is False  # still a no-op after delivery
        time.sleep(0.2)
    finally:
        sender.stop()
    assert [r.key for r in slack_server.accepted()] == ["trade-opened:ex-1", "trade-closed:ex-1"]


def test_retry_after_is_honoured(slack_server, make_config):
    slack_server.add_faults(("429", 1))
    sender = run_sender(make_config(), [opened(7)])
    try:
        assert sender.flush(FLUSH_S)
    finally:
        sender.stop()
    attempts = slack_server.attempts_for("2,507.00")
    assert [a.outcome for a in attempts] == ["429", "ok"]
    assert attempts[1].t - attempts[0].t >= 1.0


def test_server_errors_drops_and_slow_answers_lose_nothing(slack_server, make_config):
    # 500 and a dropped connection are retried inside slack-sdk; the 503 exhausts its one
    # retry and falls back to the sender's own back-off; the slow answer just arrives late.
    slack_server.add_faults(("500",), ("drop",), ("503",), ("slow", 0.5), ("500",), ("drop",),
                            ("drop",), ("drop",))
    events = mixed_events(8)
    sender = run_sender(make_config(), events)
    try:
        assert sender.flush(FLUSH_S)
    finally:
        sender.stop()
    assert_exactly_once_in_order(slack_server, sender, events)
    outcomes = Counter(r.outcome for r in slack_server.requests)
    assert outcomes["500"] == 2 and outcomes["503"] == 1 and outcomes["drop"] == 4
    assert outcomes["ok"] == 8
    first = sender.outbox.rows()[0]
    assert first.attempts >= 2  # the first alert needed the sender's own retry
    keys = [r.key for r in slack_server.accepted()]
    print(f"\nfaults: alerts submitted={len(events)} delivered={len(set(keys))} "
          f"duplicated={len(keys) - len(set(keys))} failed requests={sum(outcomes.values()) - 8}")


def test_restart_mid_way_delivers_the_rest_exactly_once(slack_server, make_config):
    slack_server.add_faults(*[("slow", 0.15)] * 40)
    events = mixed_events(16)
    config = make_config()
    first = run_sender(config, events)
    deadline = time.monotonic() + FLUSH_S
    while len(slack_server.accepted()) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert first.stop(timeout_s=10)
    delivered_before = len(slack_server.accepted())
    pending_at_stop = first.counts().pending
    first.outbox.close()
    assert pending_at_stop > 0, "the stop must leave alerts pending for the restart to matter"
    assert delivered_before + pending_at_stop == len(events)

    second = AlertSender(config)  # same outbox file
    assert second.submit(events[0]) is False  # already known: no new row
    second.start()
    try:
        assert second.flush(FLUSH_S)
    finally:
        second.stop()
    assert_exactly_once_in_order(slack_server, second, events)
    keys = [r.key for r in slack_server.accepted()]
    print(f"\nrestart: alerts submitted={len(events)} delivered before stop={delivered_before} "
          f"after restart={len(keys) - delivered_before} duplicated={len(keys) - len(set(keys))}")


def test_alerts_submitted_by_a_crashed_process_are_delivered(slack_server, make_config,
                                                             tmp_path):
    config = make_config()
    script = (
        "import os, sys\n"
        "from ml_signals.alerts.config import SlackConfig\n"
        "from ml_signals.alerts.events import GuardTripped\n"
        "from ml_signals.alerts.sender import AlertSender\n"
        "cfg = SlackConfig.model_validate_json(sys.argv[1])\n"
        "s = AlertSender(cfg)\n"
        "for i in range(5):\n"
        "    s.submit(GuardTripped(guard='kill', reason=f'crash test {i}', occurred_s=100.0 + i))\n"
        "assert s.outbox.flush_writes(30)  # the writer thread has them in the file\n"
        "os._exit(0)  # no close: the process just dies\n"
    )
    # The child only submits (no delivery), so it needs no token.
    child_cfg = config.model_copy(update={"bot_token": None}).model_dump_json()
    done = subprocess.run([sys.executable, "-c", script, child_cfg], cwd=Path.cwd(),  # noqa: S603
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert done.returncode == 0, done.stderr
    sender = AlertSender(config)
    assert sender.counts().pending == 5
    sender.start()
    try:
        assert sender.flush(FLUSH_S)
    finally:
        sender.stop()
    texts = slack_server.accepted_texts("#system-alerts")
    assert [t.count("crash test") for t in texts] == [1] * 5
    assert [int(t.split("crash test ")[1][0]) for t in texts] == [0, 1, 2, 3, 4]


def test_unknown_channel_is_logged_and_the_rest_delivered(slack_server, make_config, caplog):
    caplog.set_level(logging.INFO)
    config = make_config(channels={"system": "#no-such-channel"})
    events = mixed_events(12)
    sender = run_sender(config, events)
    try:
        assert sender.flush(FLUSH_S)
    finally:
        sender.stop()
    system_keys = [e.idempotency_key for e in events if e.role == "system"]
    other = [e for e in events if e.role != "system"]
    assert_exactly_once_in_order(slack_server, sender, other)
    failed = sender.outbox.rows("failed")
    assert [r.key for r in failed] == system_keys
    assert all("channel_not_found" in (r.last_error or "") for r in failed)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR
              and r.name == "ml_signals.alerts.sender"]
    assert len(errors) == len(system_keys)
    for key, message in zip(system_keys, errors, strict=True):
        assert key in message and "channel_not_found" in message and "#no-such-channel" in message


def test_invalid_token_fails_clearly_then_requeue_delivers(slack_server, make_config, caplog):
    caplog.set_level(logging.DEBUG)
    events = mixed_events(6)
    bad = make_config(bot_token=BAD_TOKEN)
    sender = run_sender(bad, events)
    try:
        assert sender.flush(FLUSH_S)
    finally:
        sender.stop()
    sender.outbox.close()
    assert slack_server.accepted() == []
    assert Counter(r.outcome for r in slack_server.requests) == {"invalid_auth": 6}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR
              and r.name == "ml_signals.alerts.sender"]
    assert len(errors) == 6 and all("invalid_auth" in m for m in errors)
    assert BAD_TOKEN not in caplog.text

    fixed = AlertSender(make_config())  # token fixed, same outbox
    assert fixed.requeue_failed() == 6
    fixed.start()
    try:
        assert fixed.flush(FLUSH_S)
    finally:
        fixed.stop()
    assert_exactly_once_in_order(slack_server, fixed, events)
    assert GOOD_TOKEN not in caplog.text


def test_webhooks_per_role_with_one_revoked(slack_server, make_config, caplog):
    caplog.set_level(logging.DEBUG)
    trades_path = "/services/T0001/B0001/trades-secret-aaaa"
    reports_path = "/services/T0001/B0002/reports-secret-bbbb"
    system_path = "/services/T0001/B0003/system-secret-cccc"
    slack_server.webhook_paths |= {trades_path, reports_path, system_path}
    slack_server.revoked_webhook_paths.add(system_path)
    slack_server.add_faults(("429", 1), ("500",))
    config = make_config(bot_token=None, webhook_urls={
        "trades": slack_server.webhook_url(trades_path),
        "reports": slack_server.webhook_url(reports_path),
        "system": slack_server.webhook_url(system_path),
    })
    assert config.mode == "webhook"
    events = mixed_events(8)
    sender = run_sender(config, events)
    try:
        assert sender.flush(FLUSH_S)
    finally:
        sender.stop()
    delivered = slack_server.accepted()
    by_channel: dict[str, list[str]] = {}
    for r in delivered:
        by_channel.setdefault(r.channel, []).append(r.text)
    rows = {r.key: r for r in sender.outbox.rows()}
    for role, path in (("trades", trades_path), ("reports", reports_path)):
        expected = [rows[e.idempotency_key].text for e in events if e.role == role]
        assert by_channel[f"webhook:{path}"] == expected
    assert f"webhook:{system_path}" not in by_channel
    failed = sender.outbox.rows("failed")
    assert [r.key for r in failed] == [e.idempotency_key for e in events if e.role == "system"]
    assert all("invalid_token" in (r.last_error or "") for r in failed)
    for secret in ("trades-secret-aaaa", "reports-secret-bbbb", "system-secret-cccc"):
        assert secret not in caplog.text


def test_malformed_webhook_url_is_refused_without_echoing_it():
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        SlackConfig.from_env(environ={"SLACK_WEBHOOK_URL": "hooks.slack.com/services/T/B/SECRET42"})
    assert "webhook_url" in str(info.value)
    assert "SECRET42" not in str(info.value)
    with pytest.raises(ValidationError) as info:
        SlackConfig.from_env(environ={"SLACK_WEBHOOK_URL_SYSTEM": "ftp://x/SECRET43"})
    assert "SECRET43" not in str(info.value)


def test_without_slack_settings_alerts_go_to_the_log(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ml_signals.alerts.delivery")
    config = SlackConfig.from_env(environ={}, outbox_path=tmp_path / "outbox.sqlite",
                                  min_interval_per_channel_s=0.0)
    assert config.mode == "log"
    events = mixed_events(5)
    sender = run_sender(config, events)
    try:
        assert sender.flush(FLUSH_S)
    finally:
        sender.stop()
    logged = [r.getMessage() for r in caplog.records if r.name == "ml_signals.alerts.delivery"]
    assert len(logged) == 5
    assert "Trade Opened" in logged[0] and logged[0].startswith("[#ml-signals]")
    assert sender.counts().delivered == 5


def test_secrets_stay_out_of_logs_and_reprs(slack_server, make_config, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    token = GOOD_TOKEN
    env_file = tmp_path / ".env"
    env_file.write_text(f"SLACK_BOT_TOKEN={token}\nSLACK_BASE_URL={slack_server.api_base_url}\n")
    config = SlackConfig.from_env(env_file=env_file, environ={},
                                  outbox_path=tmp_path / "o.sqlite", sdk_backoff_s=0.01,
                                  retry_initial_s=0.1, min_interval_per_channel_s=0.0)
    assert config.mode == "bot"
    for text in (repr(config), str(config), config.model_dump_json()):
        assert token not in text
    slack_server.add_faults(("drop",), ("500",))
    sender = run_sender(config, [opened(3), guard(3)])
    try:
        assert sender.flush(FLUSH_S)
    finally:
        sender.stop()
    assert len(slack_server.accepted()) == 2
    assert "Sending a request" in caplog.text  # slack-sdk's DEBUG lines were captured ...
    assert token not in caplog.text  # ... without the token


def test_rate_limit_spaces_messages_per_channel(slack_server, make_config):
    interval = 0.25
    events = [opened(i) for i in range(3)] + [guard(i) for i in range(3)]
    sender = run_sender(make_config(min_interval_per_channel_s=interval), events)
    try:
        assert sender.flush(FLUSH_S)
    finally:
        sender.stop()
    for channel in ("#ml-signals", "#system-alerts"):
        times = [r.t for r in slack_server.accepted() if r.channel == channel]
        assert len(times) == 3
        assert all(b - a >= interval * 0.95 for a, b in zip(times, times[1:], strict=False))


def test_one_delivering_process_per_outbox(make_config):
    config = make_config()
    first = AlertSender(config)
    first.start()
    try:
        with pytest.raises(OutboxLockedError):
            AlertSender(config).start()
    finally:
        first.stop()


def test_command_line_send_test_and_status(slack_server, tmp_path, monkeypatch, capsys):
    from ml_signals.alerts.__main__ import main

    for name in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SLACK_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text(f"SLACK_BOT_TOKEN={GOOD_TOKEN}\nSLACK_BASE_URL={slack_server.api_base_url}\n")
    outbox = str(tmp_path / "cli.sqlite")
    assert main(["send-test", "--env-file", str(env_file), "--outbox", outbox,
                 "--timeout-s", "10"]) == 0
    assert [t.splitlines()[0] for t in slack_server.accepted_texts("#system-alerts")] == [
        "ℹ️ Test alert"]
    assert main(["status", "--env-file", str(env_file), "--outbox", outbox]) == 0
    assert "mode=bot" in capsys.readouterr().out
