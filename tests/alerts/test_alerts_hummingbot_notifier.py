"""Hummingbot's notify() -> SlackNotifier -> outbox -> the local Slack-like server.

Uses Hummingbot's real ``TradingCore`` (``add_notifier`` / ``notify``) on a real event loop.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from ml_signals.alerts.sender import AlertSender

pytest.importorskip("hummingbot", reason="the compiled Hummingbot package is not installed")

# Hummingbot's own import-time deprecations, and its gateway monitor task cancelled before it
# ever ran (this test has no gateway).
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:coroutine 'GatewayHttpClient._monitor_loop':RuntimeWarning"),
]


def test_trading_core_notify_reaches_slack(slack_server, make_config):
    from hummingbot.core.trading_core import TradingCore

    from ml_signals.hummingbot.slack_notifier import SlackNotifier, attach_slack_notifier

    sender = AlertSender(make_config())
    sender.start()

    async def scenario() -> None:
        core = TradingCore({})
        if core.gateway_monitor is not None:  # no gateway in this test
            core.gateway_monitor.stop_monitor()
        notifier = attach_slack_notifier(core, sender)
        assert isinstance(notifier, SlackNotifier) and notifier in core.notifiers
        core.notify("Strategy started <ok> & running")
        core.notify("Balance check\nUSDT 1000.00")
        deadline = time.monotonic() + 10
        while sender.counts().delivered + sender.counts().pending < 2:
            assert time.monotonic() < deadline, "notifier never queued the messages"
            await asyncio.sleep(0.05)
        # Hummingbot's exit stops notifiers right after one last notify: it must not be lost.
        core.notify("Winding down notifiers...")
        notifier.stop()

    try:
        asyncio.run(scenario())
        assert sender.flush(10)
    finally:
        sender.stop()
    texts = slack_server.accepted_texts("#system-alerts")
    assert len(texts) == 3
    assert texts[0].startswith("ℹ️ Hummingbot: Strategy started &lt;ok&gt; &amp; running")
    assert "USDT 1000.00" in texts[1]
    assert "Winding down notifiers..." in texts[2]
