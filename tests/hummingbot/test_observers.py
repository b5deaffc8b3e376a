"""Runtime events -> Slack alerts in the durable outbox (the journal is covered end to end in
``test_script_paper_run.py``).

The sender runs without Slack secrets (log mode) and is not started, so the alerts stay in its
SQLite outbox where the test reads them.
"""

from __future__ import annotations

import pytest

from ml_signals.alerts import AlertSender, SlackConfig
from ml_signals.decision.events import ExecutorClosed, PositionFilled
from ml_signals.exits import ExitRules
from ml_signals.hummingbot.alerts_observer import AlertsObserver
from ml_signals.risk import ClosedTrade, GuardLock
from ml_signals.scoring.score import Score


@pytest.fixture
def sender(tmp_path):
    sender = AlertSender(SlackConfig(outbox_path=tmp_path / "outbox.sqlite"))
    yield sender
    sender.close()


def test_trade_and_guard_events_become_alerts(sender):
    observer = AlertsObserver(sender)
    score = Score(confidence=0.72, take=True, take_profit_frac=0.05, stop_loss_frac=0.04,
                  size_multiplier=1.2, expected_hold_s=86400, model_version="v7")
    filled = PositionFilled(
        executor_id="ex1", setup_id="swing:ETH-USD:1640995200", strategy="swing",
        pair="ETH-USD", entry_price_quote=3700.0, amount_quote=240.0, amount_base=240 / 3700,
        filled_s=1_640_998_900.0, score=score,
        exits=ExitRules(0.05, 0.04, 86400, 0.07, 0.07))
    closed = ExecutorClosed(
        executor_id="ex1", setup_id=filled.setup_id, strategy="swing", pair="ETH-USD",
        close_type="STOP_LOSS",
        trade=ClosedTrade("ETH-USD", "swing", 1_641_010_000, -10.1, -0.042, filled.setup_id),
        entry_price_quote=3700.0, exit_price_quote=3552.0, amount_quote=240.0,
        amount_base=240 / 3700, fees_quote=0.5, opened_s=filled.filled_s,
        closed_s=1_641_010_000.0)
    never_filled = ExecutorClosed(
        executor_id="ex2", setup_id="dca:BTC-USD:1640995200", strategy="dca", pair="BTC-USD",
        close_type="EARLY_STOP", trade=None, entry_price_quote=0.0, exit_price_quote=0.0,
        amount_quote=0.0, amount_base=0.0, fees_quote=0.0, opened_s=1.0, closed_s=2.0)
    lock = GuardLock("kill_switch", "hit rate 0.40 < 0.45 over 20 trades", 1_641_010_000, None)

    observer.position_filled(filled)
    observer.executor_closed(closed)
    observer.executor_closed(never_filled)  # no trade: no alert
    observer.guard_locked(lock)
    observer.position_filled(filled)  # the same fill reported twice: one alert

    rows = sender.outbox.rows()
    assert [(r.role, r.key) for r in rows] == [
        ("trades", "trade-opened:ex1"),
        ("trades", "trade-closed:ex1"),
        ("system", "guard:kill_switch:*:1641010000"),
    ]
    opened_text, closed_text, guard_text = (r.text for r in rows)
    assert "ETH-USD" in opened_text and "72" in opened_text  # confidence 72 %
    assert "-10.10" in closed_text or "10.10" in closed_text
    assert rows[2].mention  # the kill switch mentions the channel
    assert "hit rate" in guard_text
