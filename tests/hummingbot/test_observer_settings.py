"""``alerts.destination`` and ``journal.backend`` of the scripts' config: the observers the
config builds honour them whatever Slack / Supabase secrets the environment holds.

The secrets point at a loopback socket that listens but never answers: a client that tried to
reach Slack or Supabase would leave a connection in its backlog (``accept`` would return it).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

import hummingbot_scripts.ml_dca_grid as dca_script
from ml_signals.alerts import SystemNotice
from ml_signals.hummingbot.alerts_observer import AlertsObserver
from ml_signals.hummingbot.observers import JournalObserver
from ml_signals.journal import SetupRecord
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend


@pytest.fixture
def listener(monkeypatch, tmp_path) -> Iterator[socket.socket]:
    """Slack and Supabase secrets in the environment and in an env file, all pointing at a
    loopback socket nobody should connect to."""
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    url = f"http://127.0.0.1:{server.getsockname()[1]}/"
    secrets = {"SLACK_BOT_TOKEN": "xoxb-" + "0000-not-a-token", "SLACK_WEBHOOK_URL": url + "hook",
               "SLACK_BASE_URL": url + "api/", "SUPABASE_URL": url,
               "SUPABASE_SERVICE_KEY": "not-a-key", "JOURNAL_BACKEND": "supabase"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "secrets.env").write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
    yield server
    server.close()


def _config(tmp_path, alerts=None, journal=None):
    return dca_script.MlDcaGridConfig(
        trading_pairs=["BTC-USD"], models_dir=str(tmp_path / "no-models"),
        no_model_policy="rules_only",
        alerts={"enabled": True, "outbox_path": str(tmp_path / "outbox.sqlite"),
                "env_file": str(tmp_path / "secrets.env"), **(alerts or {})},
        journal={"enabled": True, "sqlite_path": str(tmp_path / "journal.sqlite"),
                 "spool_path": str(tmp_path / "spool.sqlite"),
                 "env_file": str(tmp_path / "secrets.env"), **(journal or {})})


def _observer(observers, kind):
    (found,) = [o for o in observers if isinstance(o, kind)]
    return found


def test_defaults_keep_the_live_behaviour():
    config = dca_script.MlDcaGridConfig()
    assert config.alerts.destination == "slack"
    assert config.journal.backend == "auto"


def test_unknown_values_are_refused(tmp_path):
    with pytest.raises(ValueError, match="destination"):
        _config(tmp_path, alerts={"destination": "email"})
    with pytest.raises(ValueError, match="backend"):
        _config(tmp_path, journal={"backend": "supabase"})


def test_log_destination_delivers_to_the_log_and_ignores_slack_secrets(listener, tmp_path,
                                                                       caplog):
    caplog.set_level(logging.INFO, logger="ml_signals.alerts")
    sender = _observer(_config(tmp_path, alerts={"destination": "log"}).observers(),
                       AlertsObserver).sender
    sender.start()
    for i in range(3):  # one channel: no per-channel rate limit towards the log
        sender.submit(SystemNotice(title="replay", detail=f"notice {i}", occurred_s=1.0,
                                   key=f"test:{i}"))
    assert sender.flush(5.0)
    counts = sender.counts()
    sender.close()
    assert (counts.delivered, counts.pending, counts.failed) == (3, 0, 0)
    assert "delivering via log" in caplog.text
    delivered = [r for r in caplog.records if r.name == "ml_signals.alerts.delivery"]
    assert len(delivered) == 3 and all("replay" in r.getMessage() for r in delivered)
    with pytest.raises(BlockingIOError):
        listener.accept()


def test_slack_destination_reads_the_secrets(listener, tmp_path, caplog):
    """The same environment with the default destination does select Slack (so the test
    above is about the setting, not about an environment without secrets)."""
    caplog.set_level(logging.INFO, logger="ml_signals.alerts")
    sender = _observer(_config(tmp_path).observers(), AlertsObserver).sender
    sender.start()  # nothing submitted: nothing sent
    sender.close()
    assert "delivering via" in caplog.text and "delivering via log" not in caplog.text


def test_sqlite_backend_ignores_supabase_secrets(listener, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ml_signals.journal")
    journal = _observer(_config(tmp_path, journal={"backend": "sqlite"}).observers(),
                        JournalObserver).journal
    journal.start()
    journal.record(SetupRecord(setup_id="dca:BTC-USD:1700000000", strategy="dca",
                               pair="BTC-USD", candle_ts_s=1_700_000_000,
                               reference_price_quote=37_000.0, entry_type="limit_grid",
                               taken=True, skip_reason=None, recorded_s=1_700_003_605.0))
    assert journal.flush(5.0)
    journal.close()
    assert "writing to sqlite" in caplog.text
    backend = SQLiteJournalBackend(tmp_path / "journal.sqlite", create_schema=False)
    rows = backend.fetch_rows("strategy_setups", "setup_id")
    backend.close()
    assert [r["setup_id"] for r in rows] == ["dca:BTC-USD:1700000000"]
    with pytest.raises(BlockingIOError):
        listener.accept()


def test_auto_backend_follows_the_supabase_secrets(listener, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ml_signals.journal")
    journal = _observer(_config(tmp_path).observers(), JournalObserver).journal
    journal.start()  # nothing recorded: nothing sent
    journal.close()
    assert "writing to supabase" in caplog.text
