"""Slack front end of the control layer: slash commands over Socket Mode.

slack-sdk's built-in :class:`slack_sdk.socket_mode.SocketModeClient` (threads only, no extra
dependency, no public URL) opens ``apps.connections.open`` with the app-level token, keeps the
websocket alive (pings; a new connection when Slack asks with ``disconnect`` or the socket
drops) and hands each ``slash_commands`` envelope to :meth:`SlackControl._on_request` on its
worker threads. That method only submits the command to the
:class:`~ml_signals.control.service.ControlService` and waits up to ``ack_timeout_s`` for the
tick thread's answer, then acknowledges the envelope with the answer as the response payload
(Block Kit + plain-text fallback). When the strategy has not ticked in time the
acknowledgement says so and the answer follows on the command's ``response_url``.

Mutating commands answer in the channel (everyone sees who paused); read-only ones answer only
to the user who asked (``ephemeral``).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Final

from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient

from ml_signals.alerts.secrets import RedactingFilter
from ml_signals.control import blocks
from ml_signals.control.answers import Answer
from ml_signals.control.commands import MUTATING
from ml_signals.control.service import ControlService

log = logging.getLogger(__name__)

CONNECT_RETRY_INITIAL_S: Final[float] = 1.0
CONNECT_RETRY_MAX_S: Final[float] = 60.0


class SlackControl:
    """Socket Mode connection that turns slash commands into control commands.

    Args:
        service: where commands go (and answers come from).
        app_token: Slack app-level token (``xapp-``); never logged.
        base_url: Web API base URL (``apps.connections.open``).
        ack_timeout_s: longest wait for the tick thread before acknowledging "queued".
        ping_interval_s: Socket Mode ping interval (s).
    """

    def __init__(self, service: ControlService, app_token: SecretStr,
                 base_url: str = "https://slack.com/api/", ack_timeout_s: float = 2.0,
                 ping_interval_s: float = 5.0) -> None:
        self.service = service
        self.ack_timeout_s = ack_timeout_s
        self._token = app_token
        self._sdk_log = logging.getLogger("ml_signals.control.slack_sdk")
        if not any(isinstance(f, RedactingFilter) for f in self._sdk_log.filters):
            self._sdk_log.addFilter(RedactingFilter([app_token.get_secret_value()]))
        self.client = SocketModeClient(
            app_token=app_token.get_secret_value(), logger=self._sdk_log,
            web_client=WebClient(base_url=base_url, logger=self._sdk_log),
            ping_interval=ping_interval_s, auto_reconnect_enabled=True)
        self.client.socket_mode_request_listeners.append(self._on_request)
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._late = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack-control-late")

    def start(self) -> None:
        """Connect on a background thread, retrying with back-off (1 s doubling to 60 s) until
        connected or :meth:`close`; the strategy never waits for Slack."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._connect, name="slack-control",
                                        daemon=True)
        self._thread.start()

    def is_connected(self) -> bool:
        """True while a Socket Mode connection is open."""
        return self.client.is_connected()

    def close(self) -> None:
        """Stop reconnecting and close the connection and slack-sdk's threads."""
        self._closed.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self.client.close()
        self._late.shutdown(wait=False, cancel_futures=False)

    def _connect(self) -> None:
        delay = CONNECT_RETRY_INITIAL_S
        while not self._closed.is_set():
            try:
                self.client.connect()
                log.info("Slack control connected over Socket Mode")
                return
            except Exception as exc:  # noqa: BLE001 - Slack down or a bad token: keep trading
                log.error("Slack control: cannot connect (%s: %s); retrying in %.0f s",
                          type(exc).__name__, self._redact(str(exc)), delay)
            self._closed.wait(delay)
            delay = min(delay * 2, CONNECT_RETRY_MAX_S)

    def _redact(self, text: str) -> str:
        return text.replace(self._token.get_secret_value(), "***")

    # --- slack-sdk worker threads -------------------------------------------------------------

    def _on_request(self, client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        """Acknowledge one envelope; slash commands carry the answer in the ack."""
        if request.type != "slash_commands":
            client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
            return
        p: dict[str, Any] = request.payload
        typed = str(p.get("command", ""))
        future = self.service.submit(request.envelope_id, typed, str(p.get("text", "")),
                                     str(p.get("user_id", "")), str(p.get("user_name", "")))
        try:
            answer = future.result(timeout=self.ack_timeout_s)
        except FutureTimeout:
            answer = None
        if answer is None:
            payload = blocks.queued(typed)
            url = p.get("response_url")
            if url:
                # the future completes on the tick thread: post from this front end's own thread
                future.add_done_callback(
                    lambda f: self._late.submit(self._respond_later, str(url), typed, f))
        else:
            payload = {**blocks.message(answer), "response_type": _visibility(typed)}
        client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload=payload))

    def _respond_later(self, url: str, typed: str, future: Future[Answer]) -> None:
        """Post a late answer to the command's response URL (one short HTTP request on this
        front end's own thread; errors logged, the answer is in the journal anyway)."""
        try:
            body = {**blocks.message(future.result()), "response_type": _visibility(typed),
                    "replace_original": False}
            response = WebhookClient(url, timeout=5, logger=self._sdk_log).send_dict(body)
            if response.status_code != 200:
                log.warning("Slack control: late answer to %s refused: HTTP %d", typed,
                            response.status_code)
        except Exception as exc:  # noqa: BLE001 - the answer is journaled; Slack is best effort
            log.warning("Slack control: late answer to %s not delivered: %s", typed, exc)


def _visibility(typed: str) -> str:
    """``in_channel`` for mutating commands, ``ephemeral`` for the read-only ones."""
    name = typed.strip().lstrip("/").lower()
    return "in_channel" if name in {k.value for k in MUTATING} else "ephemeral"
