"""Hummingbot notifier that routes ``notify()`` messages to Slack through the alert outbox.

It lives in the Hummingbot adapter (:mod:`ml_signals.hummingbot`, the only package of
``ml_signals`` that imports Hummingbot), so :mod:`ml_signals.alerts` works without the compiled
Hummingbot build.

Hummingbot (``hummingbot/core/trading_core.py``) keeps a list of ``NotifierBase`` objects;
``TradingCore.notify(msg)`` and ``HummingbotApplication.notify(msg)`` call
``add_message_to_queue(msg)`` on each, and ``start()`` runs a task that feeds queued messages to
``_send_message`` one per second. Here ``_send_message`` turns the text into a
:class:`~ml_signals.alerts.events.SystemNotice` for ``#system-alerts`` and hands it to the
:class:`~ml_signals.alerts.sender.AlertSender` on a worker thread (the SQLite write stays off the
event loop). From a V2 script::

    from hummingbot.client.hummingbot_application import HummingbotApplication
    from ml_signals.hummingbot.slack_notifier import attach_slack_notifier

    notifier = attach_slack_notifier(HummingbotApplication.main_application().trading_core,
                                     sender)
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

from hummingbot.notifier.notifier_base import NotifierBase

from ml_signals.alerts.events import SystemNotice
from ml_signals.alerts.sender import AlertSender

TITLE_LIMIT = 80


class SlackNotifier(NotifierBase):
    """``NotifierBase`` whose messages become ``#system-alerts`` notices.

    Args:
        sender: the alert sender (started by the caller).
        clock: UTC seconds, for the notice time and key.
        title: prefix of the Slack header line.

    Each ``notify()`` call is its own alert (key ``hb:<pid-start-ns>:<seq>``), so repeated
    identical texts are all posted, as Hummingbot intends.
    """

    def __init__(self, sender: AlertSender, clock: Callable[[], float] = time.time,
                 title: str = "Hummingbot") -> None:
        super().__init__()
        self._sender = sender
        self._clock = clock
        self._title = title
        self._seq = itertools.count(1)
        self._instance = time.time_ns()

    def _notice(self, message: str) -> SystemNotice:
        first_line = message.strip().splitlines()[0] if message.strip() else ""
        title = f"{self._title}: {first_line}"
        if len(title) > TITLE_LIMIT:
            title = title[: TITLE_LIMIT - 1] + "…"
        return SystemNotice(title=title, detail=message, occurred_s=self._clock(),
                            key=f"hb:{self._instance}:{next(self._seq)}")

    async def _send_message(self, message: str) -> None:
        """Queue ``message`` in the durable outbox (off the event loop thread)."""
        await asyncio.to_thread(self._sender.submit, self._notice(message))

    def stop(self) -> None:
        """Stop the queue task and move messages still queued to the outbox.

        Hummingbot's ``exit`` calls ``stop()`` right after notifying "Winding down notifiers...";
        draining here keeps those last messages.
        """
        super().stop()
        queue: asyncio.Queue[Any] = self._message_queue
        while not queue.empty():
            message = queue.get_nowait()
            if isinstance(message, str) and message:
                self._sender.submit(self._notice(message))


def attach_slack_notifier(trading_core: Any, sender: AlertSender) -> SlackNotifier:
    """Create a :class:`SlackNotifier`, register it with ``trading_core.add_notifier`` and start it.

    Must be called on Hummingbot's event loop thread (from a script's ``__init__`` or
    ``on_tick``), because ``start()`` schedules the queue task on the running loop.

    Args:
        trading_core: ``HummingbotApplication.main_application().trading_core``.
        sender: a started :class:`AlertSender`.
    """
    notifier = SlackNotifier(sender)
    trading_core.add_notifier(notifier)
    notifier.start()
    return notifier
