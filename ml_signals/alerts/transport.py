"""Transports: deliver one outbox row and say whether it went, may be retried, or never will.

* :class:`WebApiTransport` — slack-sdk ``WebClient.chat_postMessage`` (bot token).
* :class:`WebhookTransport` — slack-sdk ``WebhookClient.send`` (Incoming Webhooks, per role).
* :class:`LogTransport` — writes the message to the log (no Slack configured).

slack-sdk's retry handlers run inside one :meth:`SlackTransport.send`: the rate-limit handler
sleeps for ``Retry-After`` on HTTP 429, the server-error handler retries 500/503 and the
connection handler retries resets and refused connections, each ``sdk_max_retries`` times. What
is still failing after that comes back as ``retry`` (the sender backs off and tries again
later) or ``poison`` (a 4xx such as ``channel_not_found`` or ``invalid_auth``: retrying the
same request cannot succeed).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from http.client import HTTPException
from typing import TYPE_CHECKING, Literal

from ml_signals.alerts.config import SlackConfig
from ml_signals.alerts.events import ChannelRole
from ml_signals.alerts.outbox import OutboxRow
from ml_signals.alerts.secrets import RedactingFilter, redact, secret_fragments

if TYPE_CHECKING:
    from slack_sdk.http_retry import RetryHandler

Outcome = Literal["ok", "retry", "poison"]

TRANSIENT_API_ERRORS = frozenset({
    "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
    "request_timeout", "team_added_to_org",
})
"""Web API ``error`` values worth retrying (Slack docs, chat.postMessage "Errors")."""

METADATA_EVENT_TYPE = "ml_signals_alert"
"""``metadata.event_type`` attached to Web API posts; the payload holds the idempotency key so
a message in Slack can be traced back to its outbox row."""


@dataclass(frozen=True, slots=True)
class SendResult:
    """Outcome of one delivery attempt.

    Attributes:
        outcome: ``"ok"``, ``"retry"`` or ``"poison"``.
        error: short error text (secrets redacted); empty when ok.
        retry_after_s: server-requested wait (``Retry-After``), if any.
    """

    outcome: Outcome
    error: str = ""
    retry_after_s: float | None = None


class SlackTransport(ABC):
    """Delivers one outbox row. Implementations must not raise for delivery failures."""

    name: str = "transport"

    @abstractmethod
    def send(self, row: OutboxRow) -> SendResult:
        """Deliver ``row`` once (plus the SDK's own retries); never raises on HTTP failures."""


def sdk_logger(config: SlackConfig) -> logging.Logger:
    """The logger handed to slack-sdk clients, with a filter hiding this config's secrets.

    slack-sdk logs request URLs (a webhook URL is its own secret) and, on retry, full request
    URLs; the filter rewrites such records before any handler sees them.
    """
    logger = logging.getLogger("ml_signals.alerts.slack_sdk")
    for existing in logger.filters:
        if isinstance(existing, RedactingFilter):
            existing.add(config.secret_values())
            return logger
    logger.addFilter(RedactingFilter(config.secret_values()))
    return logger


def _retry_handlers(config: SlackConfig) -> list[RetryHandler]:
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )
    from slack_sdk.http_retry.builtin_interval_calculators import (
        BackoffRetryIntervalCalculator,
    )

    backoff = BackoffRetryIntervalCalculator(backoff_factor=config.sdk_backoff_s)
    n = config.sdk_max_retries
    return [
        ConnectionErrorRetryHandler(max_retry_count=n, interval_calculator=backoff),
        RateLimitErrorRetryHandler(max_retry_count=n),
        ServerErrorRetryHandler(max_retry_count=n, interval_calculator=backoff),
    ]


def _retry_after(headers: object) -> float | None:
    if not hasattr(headers, "items"):
        return None
    for key, value in headers.items():
        if str(key).lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return None
    return None


def classify_http(status: int, error: str) -> Outcome:
    """Retry 429, 408 and 5xx and the transient API errors; any other failure is poison."""
    if status == 429 or status == 408 or status >= 500 or error in TRANSIENT_API_ERRORS:
        return "retry"
    return "poison"


class WebApiTransport(SlackTransport):
    """``chat.postMessage`` with a bot token to the row's channel.

    The row's idempotency key travels in the message ``metadata`` (``event_type``
    :data:`METADATA_EVENT_TYPE`), visible to apps reading the channel.
    """

    name = "web-api"

    def __init__(self, config: SlackConfig) -> None:
        from slack_sdk import WebClient

        if config.bot_token is None:
            raise ValueError("WebApiTransport needs bot_token (SLACK_BOT_TOKEN)")
        self._secrets = [f for s in config.secret_values() for f in secret_fragments(s)]
        self._client = WebClient(
            token=config.bot_token.get_secret_value(),
            base_url=config.base_url,
            timeout=int(max(1, round(config.request_timeout_s))),
            logger=sdk_logger(config),
            retry_handlers=_retry_handlers(config),
        )

    def send(self, row: OutboxRow) -> SendResult:
        from slack_sdk.errors import SlackApiError, SlackRequestError

        try:
            response = self._client.chat_postMessage(
                channel=row.channel,
                text=row.text,
                blocks=row.blocks,
                metadata={"event_type": METADATA_EVENT_TYPE,
                          "event_payload": {"idempotency_key": row.key}},
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            status = int(getattr(exc.response, "status_code", 0) or 0)
            data = getattr(exc.response, "data", None)
            error = str(data.get("error", "")) if isinstance(data, dict) else ""
            outcome = classify_http(status, error)
            return SendResult(outcome, redact(f"HTTP {status} {error or 'error'}", self._secrets),
                              _retry_after(getattr(exc.response, "headers", {})))
        except SlackRequestError as exc:  # a request slack-sdk refuses to build: config error
            return SendResult("poison", redact(f"{type(exc).__name__}: {exc}", self._secrets))
        except (OSError, HTTPException) as exc:  # timeouts, resets, refused, truncated replies
            return SendResult("retry", redact(f"{type(exc).__name__}: {exc}", self._secrets))
        if response.get("ok"):
            return SendResult("ok")
        return SendResult("poison", str(response.get("error", "not ok")))


class WebhookTransport(SlackTransport):
    """Incoming Webhook per role (``SlackConfig.webhook_for``).

    A role without a URL is poison for its rows (named in the error) while other roles deliver.
    """

    name = "webhook"

    def __init__(self, config: SlackConfig) -> None:
        from slack_sdk.webhook import WebhookClient

        self._secrets = [f for s in config.secret_values() for f in secret_fragments(s)]
        self._clients: dict[str, WebhookClient] = {}
        logger = sdk_logger(config)
        roles: tuple[ChannelRole, ...] = ("trades", "reports", "system")
        for role in roles:
            url = config.webhook_for(role)
            if url is not None:
                self._clients[role] = WebhookClient(
                    url=url, timeout=int(max(1, round(config.request_timeout_s))),
                    logger=logger, retry_handlers=_retry_handlers(config),
                )

    def send(self, row: OutboxRow) -> SendResult:
        client = self._clients.get(row.role)
        if client is None:
            return SendResult("poison", f"no webhook URL configured for role {row.role!r} "
                                        f"(set SLACK_WEBHOOK_URL or SLACK_WEBHOOK_URL_"
                                        f"{row.role.upper()})")
        try:
            response = client.send(text=row.text, blocks=row.blocks,
                                   unfurl_links=False, unfurl_media=False)
        except (OSError, HTTPException) as exc:  # timeouts, resets, refused, truncated replies
            return SendResult("retry", redact(f"{type(exc).__name__}: {exc}", self._secrets))
        except Exception as exc:  # noqa: BLE001 - SlackRequestError / ValueError on a bad URL
            return SendResult("poison", redact(f"{type(exc).__name__}: {exc}", self._secrets))
        body = (response.body or "").strip()
        if response.status_code == 200 and body == "ok":
            return SendResult("ok")
        outcome = classify_http(response.status_code, body)
        return SendResult(outcome, redact(f"HTTP {response.status_code} {body[:200]}",
                                          self._secrets),
                          _retry_after(response.headers))


class LogTransport(SlackTransport):
    """No Slack configured: each alert is logged at INFO on ``ml_signals.alerts.delivery``."""

    name = "log"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger("ml_signals.alerts.delivery")

    def send(self, row: OutboxRow) -> SendResult:
        self._logger.info("[%s] %s", row.channel, row.text)
        return SendResult("ok")


def make_transport(config: SlackConfig) -> SlackTransport:
    """The transport for ``config.mode``: bot token, webhook, or the log."""
    if config.mode == "bot":
        return WebApiTransport(config)
    if config.mode == "webhook":
        return WebhookTransport(config)
    return LogTransport()
