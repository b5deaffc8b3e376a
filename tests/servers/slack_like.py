"""A local HTTP server that answers like Slack's Web API and Incoming Webhooks.

Loopback only, random port, one daemon thread. It implements the parts the alert sender uses:

* ``POST /api/chat.postMessage`` (JSON or form body, ``Authorization: Bearer <token>``):
  ``{"ok": true, "ts": ...}``; ``invalid_auth`` for an unknown token, ``channel_not_found`` for
  an unknown channel (HTTP 200 with ``ok: false``, as Slack does);
* ``POST /services/<T>/<B>/<secret>`` (webhook): ``ok`` (text) or Slack's webhook errors
  (403 ``invalid_token``, 404 ``no_service``).

Faults are scripted per request: :meth:`SlackLikeServer.add_faults` queues behaviours applied to
the next requests in arrival order — ``("429", retry_after_s)``, ``("500",)``, ``("503",)``,
``("drop",)`` (close the socket without answering), ``("slow", seconds)`` (answer late, then
accept). Every request is recorded with its arrival time (``time.monotonic``) and outcome, and
every accepted message with its channel, text and idempotency key (``metadata``).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

DEFAULT_TOKEN = "xoxb-test-good"  # noqa: S105 - fake token known only to this local server
"""Bot token the server accepts unless told otherwise."""

DEFAULT_CHANNELS = frozenset({"#ml-signals", "#daily-reports", "#system-alerts"})


@dataclass(frozen=True)
class Received:
    """One request as the server saw it.

    Attributes:
        t: arrival time, ``time.monotonic()``.
        kind: ``"api"`` or ``"webhook"``.
        channel: target channel (``"webhook:<path>"`` for webhooks).
        text: message text.
        key: idempotency key from ``metadata`` (Web API), else ``None``.
        outcome: ``"ok"``, ``"429"``, ``"500"``, ``"503"``, ``"drop"``, or a Slack error code.
    """

    t: float
    kind: str
    channel: str
    text: str
    key: str | None
    outcome: str


class SlackLikeServer:
    """Start with :meth:`start`, stop with :meth:`stop` (or use as a context manager)."""

    def __init__(self, tokens: frozenset[str] = frozenset({DEFAULT_TOKEN}),
                 channels: frozenset[str] = DEFAULT_CHANNELS,
                 webhook_paths: frozenset[str] = frozenset()) -> None:
        self.tokens = set(tokens)
        self.channels = set(channels)
        self.webhook_paths = set(webhook_paths)
        self.revoked_webhook_paths: set[str] = set()
        self._faults: deque[tuple[Any, ...]] = deque()
        self._lock = threading.Lock()
        self.requests: list[Received] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control --------------------------------------------------------------------------

    def start(self) -> SlackLikeServer:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, name="slack-like",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> SlackLikeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """Bound port."""
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def api_base_url(self) -> str:
        """``WebClient(base_url=...)`` value."""
        return f"http://127.0.0.1:{self.port}/api/"

    def webhook_url(self, path: str) -> str:
        """Full webhook URL for a ``/services/...`` path."""
        return f"http://127.0.0.1:{self.port}{path}"

    def add_faults(self, *faults: tuple[Any, ...]) -> None:
        """Queue behaviours for the next requests, in order."""
        with self._lock:
            self._faults.extend(faults)

    def next_fault(self) -> tuple[Any, ...] | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def record(self, item: Received) -> None:
        with self._lock:
            self.requests.append(item)

    # -- inspection -----------------------------------------------------------------------

    def accepted(self) -> list[Received]:
        """Messages answered ok, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.outcome == "ok"]

    def accepted_texts(self, channel: str | None = None) -> list[str]:
        """Texts answered ok (optionally of one channel), in arrival order."""
        return [r.text for r in self.accepted() if channel is None or r.channel == channel]

    def attempts_for(self, text_fragment: str) -> list[Received]:
        """All requests whose text contains ``text_fragment``, in arrival order."""
        with self._lock:
            return [r for r in self.requests if text_fragment in r.text]


class _Handler(BaseHTTPRequestHandler):
    owner: SlackLikeServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # keep test output clean

    def _reply(self, status: int, body: bytes, content_type: str,
               headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        self._reply(status, json.dumps(payload).encode(), "application/json; charset=utf-8",
                    headers)

    def _read_body(self) -> tuple[dict[str, Any], bytes]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = self.headers.get("Content-Type", "")
        if "json" in ctype:
            return json.loads(raw or b"{}"), raw
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        for key in ("blocks", "metadata"):
            if isinstance(form.get(key), str):
                form[key] = json.loads(form[key])
        return form, raw

    def _apply_fault(self, kind: str, channel: str, text: str, key: str | None,
                     webhook: bool) -> bool:
        """Apply the next scripted fault; True if the request was answered (or dropped)."""
        fault = self.owner.next_fault()
        if fault is None:
            return False
        t = time.monotonic()
        name = str(fault[0])
        if name == "slow":
            time.sleep(float(fault[1]))
            return False  # then answer normally
        if name == "drop":
            self.owner.record(Received(t, kind, channel, text, key, "drop"))
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        if name == "429":
            self.owner.record(Received(t, kind, channel, text, key, "429"))
            headers = {"Retry-After": str(int(fault[1]))}
            if webhook:
                self._reply(429, b"rate_limited", "text/plain", headers)
            else:
                self._json(429, {"ok": False, "error": "ratelimited"}, headers)
            return True
        status = int(name)
        self.owner.record(Received(t, kind, channel, text, key, name))
        if webhook:
            self._reply(status, b"internal error", "text/plain")
        else:
            self._json(status, {"ok": False, "error": "internal_error"})
        return True

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        if self.path.startswith("/api/"):
            self._api()
        elif self.path.startswith("/services/"):
            self._webhook()
        else:
            self._json(404, {"ok": False, "error": "unknown_method"})

    def _api(self) -> None:
        body, _ = self._read_body()
        method = self.path[len("/api/"):]
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else body.get("token", "")
        channel = str(body.get("channel", ""))
        text = str(body.get("text", ""))
        metadata = body.get("metadata") or {}
        key = (metadata.get("event_payload") or {}).get("idempotency_key")
        if self._apply_fault("api", channel, text, key, webhook=False):
            return
        t = time.monotonic()
        if method != "chat.postMessage":
            self._json(200, {"ok": False, "error": "unknown_method"})
            return
        if token not in self.owner.tokens:
            self.owner.record(Received(t, "api", channel, text, key, "invalid_auth"))
            self._json(200, {"ok": False, "error": "invalid_auth"})
            return
        if channel not in self.owner.channels:
            self.owner.record(Received(t, "api", channel, text, key, "channel_not_found"))
            self._json(200, {"ok": False, "error": "channel_not_found"})
            return
        self.owner.record(Received(t, "api", channel, text, key, "ok"))
        self._json(200, {"ok": True, "channel": channel, "ts": f"{time.time():.6f}",
                         "message": {"text": text}})

    def _webhook(self) -> None:
        body, _ = self._read_body()
        channel = f"webhook:{self.path}"
        text = str(body.get("text", ""))
        if self._apply_fault("webhook", channel, text, None, webhook=True):
            return
        t = time.monotonic()
        if self.path in self.owner.revoked_webhook_paths:
            self.owner.record(Received(t, "webhook", channel, text, None, "invalid_token"))
            self._reply(403, b"invalid_token", "text/plain")
            return
        if self.path not in self.owner.webhook_paths:
            self.owner.record(Received(t, "webhook", channel, text, None, "no_service"))
            self._reply(404, b"no_service", "text/plain")
            return
        self.owner.record(Received(t, "webhook", channel, text, None, "ok"))
        self._reply(200, b"ok", "text/html")
