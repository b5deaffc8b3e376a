"""A local server that speaks Slack's Socket Mode protocol to slack-sdk's real client.

Loopback only, random port, one daemon thread running an aiohttp application:

* ``POST /api/apps.connections.open`` with ``Authorization: Bearer <app token>``: ``{"ok":
  true, "url": "ws://127.0.0.1:<port>/link/?ticket=<n>"}``; an unknown token gets Slack's
  ``{"ok": false, "error": "invalid_auth"}`` (HTTP 200, as Slack answers);
* ``GET /link/`` upgrades to the websocket: the server sends ``hello`` (``num_connections``,
  ``debug_info``, ``connection_info``), then the envelopes a test pushes
  (:meth:`SocketModeLikeServer.slash_command`) and records every acknowledgement the client
  sends back (``{"envelope_id": ..., "payload": ...}``). Pings are answered by aiohttp;
* ``POST /commands/<id>``: a slash command's ``response_url`` (late answers), recorded.

Protocol after https://api.slack.com/apis/socket-mode and slack-sdk's own Socket Mode tests
(``tests/slack_sdk/socket_mode/mock_socket_mode_server.py``): envelope ``type``
``slash_commands`` with ``accepts_response_payload: true``, a ``disconnect`` message with a
``reason`` asking the client to reconnect. :meth:`SocketModeLikeServer.drop` ends the open
connections without a close frame (a network drop); the client must open a new one through
``apps.connections.open``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_TOKEN = "xapp-" + "1-A0TEST-0000-not-a-token"  # noqa: S105 - dummy known only to this server
APP_ID = "A0TEST"
TEAM_ID = "T0TEST"


@dataclass
class Ack:
    """An acknowledgement the client sent for an envelope: its payload (``None`` when the
    client acknowledged without one) and the connection number it came on."""

    envelope_id: str
    payload: dict[str, Any] | None
    connection: int


@dataclass
class _State:
    opened: int = 0                                       # apps.connections.open calls answered
    links: int = 0                                        # websockets accepted
    hellos: int = 0                                       # websockets that got their hello
    sockets: dict[int, web.WebSocketResponse] = field(default_factory=dict)
    transports: dict[int, asyncio.BaseTransport] = field(default_factory=dict)
    acks: dict[str, Ack] = field(default_factory=dict)
    late: list[dict[str, Any]] = field(default_factory=list)
    refused_tokens: int = 0


class SocketModeLikeServer:
    """Start with :meth:`start`, stop with :meth:`stop` (or use as a context manager).

    Args:
        app_token: the only app-level token ``apps.connections.open`` accepts.
    """

    def __init__(self, app_token: str = APP_TOKEN) -> None:
        self.app_token = app_token
        self.port = 0
        self._state = _State()
        self._changed = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """Web API base URL for slack-sdk's ``WebClient(base_url=...)``."""
        return f"http://127.0.0.1:{self.port}/api/"

    def start(self) -> SocketModeLikeServer:
        """Listen on 127.0.0.1, a free port; returns when ready."""
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="socket-mode-like", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("Socket Mode test server did not start")
        return self

    def stop(self) -> None:
        """Close every connection and the listener; stop the thread."""
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> SocketModeLikeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what a test does -----------------------------------------------------------------------

    def slash_command(self, command: str, text: str = "", user_id: str = "U0OPERATOR",
                      user_name: str = "operator") -> str:
        """Push a ``slash_commands`` envelope on the newest connection; returns its id.

        Raises:
            RuntimeError: no client is connected.
        """
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "token": "verification-token-unused", "team_id": TEAM_ID, "team_domain": "test",
                "channel_id": "C0OPS", "channel_name": "ops", "user_id": user_id,
                "user_name": user_name, "command": command, "text": text,
                "api_app_id": APP_ID, "is_enterprise_install": "false",
                "response_url": f"http://127.0.0.1:{self.port}/commands/{envelope_id}",
                "trigger_id": f"{envelope_id}.trigger",
            },
        }
        self._send(json.dumps(envelope))
        return envelope_id

    def ask_to_reconnect(self) -> None:
        """Send Slack's ``disconnect`` message (``refresh_requested``) on the newest connection."""
        self._send(json.dumps({"type": "disconnect", "reason": "refresh_requested",
                               "debug_info": {"host": "applink-test"}}))

    def drop(self) -> None:
        """End every open connection abruptly: the TCP connection closes, no close frame."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._drop(), self._loop).result(10)

    def wait_ack(self, envelope_id: str, timeout_s: float = 10.0) -> Ack | None:
        """The client's acknowledgement of ``envelope_id``, waiting up to ``timeout_s``."""
        with self._changed:
            self._changed.wait_for(lambda: envelope_id in self._state.acks, timeout_s)
            return self._state.acks.get(envelope_id)

    def wait_hellos(self, count: int, timeout_s: float = 10.0) -> bool:
        """True once ``count`` connections have been opened and greeted."""
        with self._changed:
            return self._changed.wait_for(lambda: self._state.hellos >= count, timeout_s)

    def wait_late(self, count: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Bodies posted to response URLs, once there are ``count`` (or at the timeout)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._state.late) >= count, timeout_s)
            return list(self._state.late)

    @property
    def connections_opened(self) -> int:
        """``apps.connections.open`` calls answered with a URL."""
        return self._state.opened

    @property
    def refused_tokens(self) -> int:
        """``apps.connections.open`` calls refused with ``invalid_auth``."""
        return self._state.refused_tokens

    def acks(self) -> list[Ack]:
        """Every acknowledgement so far."""
        with self._changed:
            return list(self._state.acks.values())

    # --- the server -----------------------------------------------------------------------------

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/api/apps.connections.open", self._open)
        app.router.add_get("/link/", self._link)
        app.router.add_post("/commands/{envelope_id}", self._late)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        await self._drop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _open(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.app_token}":
            self._state.refused_tokens += 1
            return web.json_response({"ok": False, "error": "invalid_auth"})
        self._state.opened += 1
        url = f"ws://127.0.0.1:{self.port}/link/?ticket={uuid.uuid4()}&app_id={APP_ID}"
        return web.json_response({"ok": True, "url": url})

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._state.links += 1
        number = self._state.links
        self._state.sockets[number] = ws
        if request.transport is not None:
            self._state.transports[number] = request.transport
        await ws.send_str(json.dumps({
            "type": "hello", "num_connections": len(self._state.sockets),
            "debug_info": {"host": "applink-test", "build_number": 1,
                           "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID}}))
        self._notify(lambda s: setattr(s, "hellos", s.hellos + 1))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                body = json.loads(msg.data)
                if "envelope_id" in body:
                    ack = Ack(body["envelope_id"], body.get("payload"), number)
                    self._notify(lambda s, a=ack: s.acks.__setitem__(a.envelope_id, a))
        finally:
            self._state.sockets.pop(number, None)
            self._state.transports.pop(number, None)
        return ws

    async def _late(self, request: web.Request) -> web.Response:
        body = await request.json()
        body["envelope_id"] = request.match_info["envelope_id"]
        self._notify(lambda s: s.late.append(body))
        return web.Response(text="ok")

    async def _drop(self) -> None:
        for transport in list(self._state.transports.values()):
            transport.abort()  # type: ignore[attr-defined]  # a TCP transport: close, no frame
        self._state.transports.clear()
        self._state.sockets.clear()

    def _send(self, text: str) -> None:
        assert self._loop is not None

        async def send() -> None:
            if not self._state.sockets:
                raise RuntimeError("no Socket Mode client is connected")
            newest = self._state.sockets[max(self._state.sockets)]
            await newest.send_str(text)

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(10)

    def _notify(self, change: Any) -> None:
        with self._changed:
            change(self._state)
            self._changed.notify_all()


def wait_until(predicate: Any, timeout_s: float = 10.0, step_s: float = 0.02) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` of wall time (a failure deadline, not a
    timing assertion)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())
