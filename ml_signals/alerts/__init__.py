"""Slack trade alerts, reports and system alerts that lose nothing.

Flow: an event (:mod:`~ml_signals.alerts.events`) ->
:func:`~ml_signals.alerts.messages.build_message` (pure) -> :meth:`AlertSender.submit` hands
one row to a durable SQLite outbox (:mod:`ml_signals.durable_queue`: memory first, a writer
thread stores it) and returns -> a background thread delivers rows to Slack
(bot token, webhook, or the log when neither is set) in order per channel, rate-limited,
retrying transient failures and parking permanent ones.

Modules: ``config`` (pydantic settings, secrets from env), ``events``, ``messages``,
``formatting``, ``schedule`` (07:00 / 19:00 / Sunday 19:00 America/Los_Angeles), ``watchdog``
(no candles for 10 min), ``outbox``, ``transport``, ``sender``. Hummingbot's ``notify()`` reaches
the outbox through :mod:`ml_signals.hummingbot.slack_notifier` (the adapter, which imports
Hummingbot; nothing here does).
"""

from ml_signals.alerts.config import SlackChannels, SlackConfig
from ml_signals.alerts.events import (
    AlertEvent,
    CandlesStale,
    DailySummary,
    GuardTripped,
    ModelLoaded,
    SystemNotice,
    TradeClosed,
    TradeOpened,
)
from ml_signals.alerts.messages import SlackMessage, build_message
from ml_signals.alerts.schedule import ReportScheduleConfig, ReportTimer, ScheduledReport
from ml_signals.alerts.sender import AlertSender, OutboxLockedError
from ml_signals.alerts.watchdog import CandleWatchdog

__all__ = [
    "AlertEvent",
    "AlertSender",
    "CandleWatchdog",
    "CandlesStale",
    "DailySummary",
    "GuardTripped",
    "ModelLoaded",
    "OutboxLockedError",
    "ReportScheduleConfig",
    "ReportTimer",
    "ScheduledReport",
    "SlackChannels",
    "SlackConfig",
    "SlackMessage",
    "SystemNotice",
    "TradeClosed",
    "TradeOpened",
    "build_message",
]
