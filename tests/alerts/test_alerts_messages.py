"""Message builders: pure functions of frozen events (original plan, "Notification Templates")."""

from __future__ import annotations

import dataclasses
import json

import pytest

from ml_signals.alerts.config import SlackConfig
from ml_signals.alerts.events import (
    CandlesStale,
    DailySummary,
    GuardTripped,
    ModelLoaded,
    SystemNotice,
    TradeClosed,
    TradeOpened,
)
from ml_signals.alerts.formatting import fmt_duration, fmt_price
from ml_signals.alerts.messages import CHANNEL_MENTION, build_message

CONFIG = SlackConfig(big_win_quote=20.0, big_loss_quote=10.0)
T0 = 1_741_500_000.0


def _opened(**kw: object) -> TradeOpened:
    values: dict[str, object] = dict(
        trade_id="ex-1", strategy="swing", pair="BTC-USDT", entry_price_quote=40000.0,
        amount_quote=100.0, confidence=0.724, stop_loss_frac=0.05, take_profit_frac=0.10,
        opened_s=T0)
    values.update(kw)
    return TradeOpened(**values)  # type: ignore[arg-type]


def _closed(pnl_quote: float, **kw: object) -> TradeClosed:
    values: dict[str, object] = dict(
        trade_id="ex-1", strategy="swing", pair="BTC-USDT", entry_price_quote=43210.5,
        exit_price_quote=44000.0, amount_quote=100.0, pnl_quote=pnl_quote,
        pnl_frac=pnl_quote / 100.0, close_type="CloseType.TAKE_PROFIT", opened_s=T0,
        closed_s=T0 + 5 * 3600 + 7 * 60 + 59)
    values.update(kw)
    return TradeClosed(**values)  # type: ignore[arg-type]


def _all_texts(blocks: tuple[dict, ...]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_trade_opened_shows_the_plan_fields():
    msg = build_message(_opened(), CONFIG)
    assert msg.channel == "#ml-signals" and msg.key == "trade-opened:ex-1"
    lines = msg.text.splitlines()
    assert lines[0] == "💰 Trade Opened"
    assert "Coin: BTC-USDT" in lines
    assert "Entry: $40,000.00" in lines
    assert "Confidence: 72%" in lines
    assert "Stop: $38,000.00 (-5.0%)" in lines
    assert "Target: $44,000.00 (+10.0%)" in lines
    assert not msg.mention
    assert msg.blocks[0]["type"] == "header"
    assert "38,000.00" in _all_texts(msg.blocks)


def test_short_trade_puts_stop_above_and_target_below():
    msg = build_message(_opened(side="sell"), CONFIG)
    assert "Stop: $42,000.00 (+5.0%)" in msg.text.splitlines()
    assert "Target: $36,000.00 (-10.0%)" in msg.text.splitlines()


def test_small_prices_keep_significant_digits_and_rules_only_confidence():
    msg = build_message(_opened(pair="DOGE-USDT", entry_price_quote=0.1234, confidence=None),
                        CONFIG)
    assert "Entry: $0.1234" in msg.text.splitlines()
    assert "Confidence: rules-only" in msg.text.splitlines()
    assert fmt_price(0.00001234, "USDT") == "$0.00001234"
    assert fmt_price(12.5, "EUR") == "12.50 EUR"


def test_trade_closed_pnl_reason_duration():
    msg = build_message(_closed(3.45), CONFIG)
    lines = msg.text.splitlines()
    assert lines[0] == "✅ Trade Closed"
    assert "P&L: +$3.45 (+3.5%)" in lines  # 0.0345 -> one decimal
    assert "Reason: take profit" in lines
    assert "Duration: 5h 7m" in lines
    assert not msg.mention and CHANNEL_MENTION not in msg.text


@pytest.mark.parametrize(("pnl", "expected"), [
    (19.99, None),
    (20.0, "<!channel> Big WIN! BTC-USDT +$20.00"),
    (-9.99, None),
    (-10.0, "<!channel> Loss Alert: BTC-USDT -$10.00"),
])
def test_big_win_and_big_loss_mention_the_channel(pnl, expected):
    msg = build_message(_closed(pnl, close_type="STOP_LOSS"), CONFIG)
    if expected is None:
        assert not msg.mention and CHANNEL_MENTION not in msg.text
    else:
        assert msg.mention
        assert msg.text.splitlines()[0] == expected
        assert msg.blocks[0]["text"]["text"] == expected  # shown in the layout too


def test_loss_emoji_and_durations():
    assert build_message(_closed(-1.0), CONFIG).text.startswith("🔻 Trade Closed")
    assert build_message(_closed(0.0), CONFIG).text.startswith("➖ Trade Closed")
    assert fmt_duration(59) == "0h 0m"
    assert fmt_duration(93784) == "26h 3m"


def test_daily_summary_numbers():
    event = DailySummary(kind="morning", period_start_s=T0, period_end_s=T0 + 12 * 3600,
                         setups_detected=14, setups_taken=5, trades_count=4, wins=3, losses=1,
                         net_pnl_quote=-2.5, ml_precision=None)
    msg = build_message(event, CONFIG)
    assert msg.channel == "#daily-reports"
    lines = msg.text.splitlines()
    assert lines[0] == "🌅 Morning report — last 12 hours"
    for line in ("Setups seen: 14", "Setups taken: 5", "Trades closed: 4", "Wins / Losses: 3 / 1",
                 "Win rate: 75%", "Net P&L: -$2.50", "ML precision: n/a"):
        assert line in lines
    assert msg.key == f"report:morning:{int(T0 + 12 * 3600)}"


def test_system_alerts():
    stale = build_message(CandlesStale(pair="SOL-USDT", last_update_s=T0, occurred_s=T0 + 720),
                          CONFIG)
    assert stale.channel == "#system-alerts" and stale.mention
    assert "Silent for: 0h 12m" in stale.text.splitlines()
    kill = build_message(GuardTripped(guard="daily_loss", reason="day P&L -51.20 <= -50",
                                      occurred_s=T0, kill_switch=True), CONFIG)
    assert kill.mention and "Kill switch" in kill.text
    guard = build_message(GuardTripped(guard="max_positions", reason="5 open", occurred_s=T0),
                          CONFIG)
    assert not guard.mention and "Risk guard tripped: max_positions" in guard.text
    changed = build_message(ModelLoaded(model_version="v2", artifact_path="models/v2",
                                        occurred_s=T0, previous_version="v1"), CONFIG)
    assert changed.text.startswith("🧠 Model changed: v1 → v2")


def test_user_text_is_escaped_and_blocks_respect_limits():
    notice = SystemNotice(title="Hummingbot: <b>&", detail="x < y > z & <!channel>" + "a" * 5000,
                          occurred_s=T0, key="n1", severity="info")
    msg = build_message(notice, CONFIG)
    assert "<!channel>" not in msg.text and not msg.mention
    assert "&lt;!channel&gt;" in msg.text
    for block in msg.blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000


def test_builders_are_pure():
    event = _closed(25.0)
    assert build_message(event, CONFIG) == build_message(event, CONFIG)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.pnl_quote = 1.0  # type: ignore[misc]


def test_channel_names_come_from_config():
    config = SlackConfig(channels={"trades": "#paper-trades"})
    assert build_message(_opened(), config).channel == "#paper-trades"


@pytest.mark.parametrize("bad", [
    {"entry_price_quote": 0.0},
    {"confidence": 1.2},
    {"stop_loss_frac": -0.05},
    {"trade_id": ""},
])
def test_invalid_events_are_refused(bad):
    with pytest.raises(ValueError, match="TradeOpened"):
        _opened(**bad)


def test_build_message_refuses_non_events():
    with pytest.raises(TypeError, match="not an alert event"):
        build_message("hello", CONFIG)  # type: ignore[arg-type]
