"""Slash commands end to end: slack-sdk's real Socket Mode client against a loopback server
that speaks Slack's protocol, a real runtime on the shipped candles, a real SQLite journal.

The test thread plays the strategy: it ticks the runtime (``sync``) while the client waits for
the answer, as Hummingbot's clock would every second.
"""

from __future__ import annotations

import logging

import pytest
from control_support import OPERATOR, dca_runtime, executor, operator_settings
from hummingbot.strategy_v2.models.base import RunnableStatus
from hummingbot.strategy_v2.models.executors import CloseType
from pydantic import ValidationError
from servers.socket_mode_like import APP_TOKEN, SocketModeLikeServer, wait_until

import hummingbot_scripts.ml_swing as swing_script
from ml_signals.control import ControlSettings, start_slack_control
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend

NOW = 1_650_000_000.0


def environ(server: SocketModeLikeServer, token: str = APP_TOKEN) -> dict[str, str]:
    """What the process environment holds: the app token and the server's API URL."""
    return {"SLACK_APP_TOKEN": token, "SLACK_BASE_URL": server.api_url}


def settings(tmp_path, **overrides) -> ControlSettings:
    return operator_settings(tmp_path, ping_interval_s=0.5, **overrides)


def answer_while_ticking(server, runtime, envelope_id, now_s=NOW, executors=()):
    """Tick the runtime until the client has acknowledged ``envelope_id``; its ack."""
    ack = None

    def acked() -> bool:
        nonlocal ack
        runtime.sync(now_s, list(executors))
        ack = server.wait_ack(envelope_id, 0.02)
        return ack is not None

    assert wait_until(acked, timeout_s=20), f"no ack for {envelope_id}"
    return ack


def header(ack) -> str:
    return ack.payload["blocks"][0]["text"]["text"]


def test_slash_commands_end_to_end_authorised_and_not(socket_mode_server, tmp_path):
    server = socket_mode_server
    runtime = dca_runtime(tmp_path)
    runtime.start(NOW)
    front = start_slack_control(runtime, settings(tmp_path), environ(server))
    try:
        assert server.wait_hellos(1)

        refused = server.slash_command("/pause", user_id="U0STRANGER", user_name="stranger")
        ack = server.wait_ack(refused)  # answered without any tick
        assert ack is not None and ack.payload["response_type"] == "in_channel"
        assert header(ack).startswith(":no_entry: /pause: only the bot's operators")
        assert runtime.entry_blocks() == []

        paused = server.slash_command("/pause", "exchange maintenance")
        ack = answer_while_ticking(server, runtime, paused)
        assert header(ack) == "New entries PAUSED."
        assert "exchange maintenance" in ack.payload["text"]  # plain-text fallback
        assert [b.guard for b in runtime.entry_blocks()] == ["paused"]

        status = server.slash_command("/ml-status", user_id="U0STRANGER", user_name="stranger")
        ack = answer_while_ticking(server, runtime, status)
        assert ack.payload["response_type"] == "ephemeral"
        assert header(ack) == "ML status: new entries PAUSED by an operator"
        assert any("*dca*" in b.get("text", {}).get("text", "") for b in ack.payload["blocks"])

        for command, expected in (("/positions", "0 open executors, unrealised +0.00"),
                                  ("/performance", "Performance: realised +0.00 since start")):
            ack = answer_while_ticking(server, runtime, server.slash_command(command))
            assert header(ack) == expected

        resumed = server.slash_command("/resume")
        assert header(answer_while_ticking(server, runtime, resumed)) == "New entries RESUMED."
        assert runtime.entry_blocks() == []
    finally:
        front.close()
        runtime.close()

    backend = SQLiteJournalBackend(tmp_path / "journal.sqlite", create_schema=False)
    rows = {r["command_id"]: r for r in backend.fetch_rows("control_commands", "requested_s")}
    backend.close()
    assert {(r["command"], r["user_id"], r["authorised"], r["outcome"]) for r in rows.values()} \
        == {("/pause", "U0STRANGER", False, "refused"), ("/pause", OPERATOR, True, "ok"),
            ("/ml-status", "U0STRANGER", True, "ok"), ("/positions", OPERATOR, True, "ok"),
            ("/performance", OPERATOR, True, "ok"), ("/resume", OPERATOR, True, "ok")}
    assert set(rows) == {a.envelope_id for a in server.acks()}
    assert rows[paused]["args"] == "exchange maintenance"


def test_reset_guard_over_slack_lifts_a_tripped_kill_switch(socket_mode_server, tmp_path):
    server = socket_mode_server
    # a one-trade hit-rate window: one losing close trips the kill switch
    runtime = dca_runtime(risk={"kill_switch_window_trades": 1})
    lost = executor("BTC-USD", status=RunnableStatus.TERMINATED, filled_quote=200.0,
                    pnl_quote=-9.0, pnl_frac=-0.045, close_type=CloseType.STOP_LOSS,
                    timestamp=NOW - 7200, close_ts=NOW - 60, entry=40_000.0, exit_=38_200.0)
    runtime.sync(NOW, [lost])
    assert [b.guard for b in runtime.entry_blocks()] == ["kill_switch"]
    front = start_slack_control(runtime, settings(tmp_path), environ(server))
    try:
        assert server.wait_hellos(1)
        refused = server.wait_ack(server.slash_command("/reset-guard", "kill_switch",
                                                       user_id="U0STRANGER"))
        assert refused is not None and refused.payload["text"].startswith("/reset-guard: only")
        assert [b.guard for b in runtime.entry_blocks()] == ["kill_switch"]

        ack = answer_while_ticking(server, runtime, server.slash_command(
            "/reset-guard", "kill_switch"), executors=[lost])
        assert header(ack) == "kill_switch RESET by operator."
        sections = [b["text"]["text"] for b in ack.payload["blocks"][1:]]
        assert sections[1].startswith("*before* · kill_switch: BLOCKING: hit rate 0/1 = 0.00")
        assert sections[2].startswith("*after* · kill_switch: not blocking")
        assert runtime.entry_blocks() == []
    finally:
        front.close()


def test_client_reconnects_after_a_drop_and_a_refresh(socket_mode_server, tmp_path):
    server = socket_mode_server
    runtime = dca_runtime()
    front = start_slack_control(runtime, settings(tmp_path), environ(server))
    try:
        assert server.wait_hellos(1)
        server.drop()  # the TCP connection ends without a close frame
        assert server.wait_hellos(2, timeout_s=30)
        assert server.connections_opened == 2  # a fresh URL from apps.connections.open
        ack = answer_while_ticking(server, runtime, server.slash_command("/ml-status"))
        assert ack.connection == 2 and header(ack) == "ML status: taking new entries"

        server.ask_to_reconnect()  # Slack's "disconnect" / refresh_requested
        assert server.wait_hellos(3, timeout_s=30)
        assert wait_until(front.is_connected)
        ack = answer_while_ticking(server, runtime, server.slash_command("/pause"))
        assert ack.connection == 3 and header(ack) == "New entries PAUSED."
    finally:
        front.close()


def test_an_answer_later_than_the_ack_goes_to_the_response_url(socket_mode_server, tmp_path):
    server = socket_mode_server
    runtime = dca_runtime()
    front = start_slack_control(runtime, settings(tmp_path, ack_timeout_s=0.1), environ(server))
    try:
        assert server.wait_hellos(1)
        envelope = server.slash_command("/pause")
        ack = server.wait_ack(envelope)  # no tick ran: the ack says it is queued
        assert ack is not None and "queued for the strategy's next tick" in ack.payload["text"]
        assert runtime.entry_blocks() == []
        runtime.sync(NOW, [])  # the strategy ticks: the command runs now
        late = server.wait_late(1)
        assert [(b["envelope_id"], b["blocks"][0]["text"]["text"], b["response_type"])
                for b in late] == [(envelope, "New entries PAUSED.", "in_channel")]
        assert [b.guard for b in runtime.entry_blocks()] == ["paused"]
    finally:
        front.close()


def test_a_refused_token_keeps_the_bot_running_and_is_never_logged(socket_mode_server, caplog,
                                                                   tmp_path):
    server = socket_mode_server
    runtime = dca_runtime()
    wrong = "xapp-" + "1-A0TEST-9999-revoked"
    caplog.set_level(logging.DEBUG)
    front = start_slack_control(runtime, settings(tmp_path), environ(server, wrong))
    try:
        assert wait_until(lambda: server.refused_tokens >= 1)
        assert not front.is_connected()
        runtime.sync(NOW, [])  # trading goes on
    finally:
        front.close()
    assert "cannot connect (SlackApiError" in caplog.text
    assert wrong not in caplog.text and "9999-revoked" not in caplog.text


def test_settings_need_an_app_token_and_slack_user_ids(tmp_path, caplog):
    with pytest.raises(ValidationError, match="Slack user ids like U012AB3CD"):
        ControlSettings(operators=["alice"])
    env_file = tmp_path / ".env"
    env_file.write_text(f"SLACK_APP_TOKEN={APP_TOKEN}\n")
    assert ControlSettings(env_file=str(env_file)).app_token({}).get_secret_value() == APP_TOKEN
    with pytest.raises(ValueError, match="must start with xapp- \\(value hidden\\)"):
        ControlSettings().app_token({"SLACK_APP_TOKEN": "xoxb-" + "0000-not-a-token"})
    caplog.set_level(logging.ERROR)
    assert start_slack_control(dca_runtime(), settings(tmp_path), {}) is None
    assert "Slack control not started: control.enabled needs SLACK_APP_TOKEN" in caplog.text
    config = swing_script.MlSwingConfig(control={"enabled": True, "operators": ["U012AB3CD"]})
    assert config.control.operators == ["U012AB3CD"] and config.control.ack_timeout_s == 2.0
    assert swing_script.MlSwingConfig().control.enabled is False
