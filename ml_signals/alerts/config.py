"""Slack alert configuration (pydantic v2).

Delivery mode follows whichever secret is given (original plan, "Slack Integration"):

* ``bot_token`` (``SLACK_BOT_TOKEN``, ``xoxb-…``): Web API ``chat.postMessage`` to the three
  channels by name; the bot must be invited to each channel. Preferred when both are set.
* ``webhook_url`` (``SLACK_WEBHOOK_URL``): an Incoming Webhook. A webhook is bound to one
  channel, so ``webhook_urls`` (``SLACK_WEBHOOK_URL_TRADES`` / ``_REPORTS`` / ``_SYSTEM``) can
  give one per role; roles without their own URL use ``webhook_url``.
* neither: messages are written to the log (logger ``ml_signals.alerts.delivery``) through the
  same outbox, so the embedded default needs no account.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ml_signals.alerts.events import ChannelRole
from ml_signals.alerts.secrets import lookup
from ml_signals.durable_queue import QueueSettings

DeliveryMode = Literal["bot", "webhook", "log"]

ROLE_ENV_SUFFIX: dict[ChannelRole, str] = {"trades": "TRADES", "reports": "REPORTS",
                                           "system": "SYSTEM"}


class SlackChannels(BaseModel):
    """Channel names per role (original plan, "Channel Configuration")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trades: str = Field(default="#ml-signals", min_length=2, description="trades opened/closed")
    reports: str = Field(default="#daily-reports", min_length=2, description="07:00/19:00 reports")
    system: str = Field(default="#system-alerts", min_length=2, description="critical issues only")

    def for_role(self, role: ChannelRole) -> str:
        """Channel name for ``role``."""
        return str(getattr(self, role))


def _check_http_url(value: SecretStr | None, what: str) -> SecretStr | None:
    return None if value is None else _checked_url(value, what)


def _checked_url(value: SecretStr, what: str) -> SecretStr:
    # The message names the setting, never the value: a webhook URL is a secret.
    raw = value.get_secret_value().strip()
    if not raw.startswith(("https://", "http://")) or len(raw.split("://", 1)[1]) < 3:
        raise ValueError(f"{what} is not an http(s) URL (value hidden)")
    return SecretStr(raw)


class SlackConfig(BaseModel):
    """Everything the alert sender needs.

    Attributes:
        bot_token: Slack bot token; secret.
        webhook_url: default Incoming Webhook URL; secret.
        webhook_urls: per-role webhook URLs overriding ``webhook_url``; secrets.
        channels: channel names per role.
        base_url: Web API base URL override (tests, self-hosted proxies); default Slack's.
        big_win_quote: a closed trade netting at least this much (quote) mentions
            ``<!channel>``. The plan names the alert but no figure; 20 is twice the +10 % target
            on the plan's $100 position.
        big_loss_quote: a closed trade losing at least this much (quote, positive number)
            mentions ``<!channel>``; 10 is twice the plan's -5 % stop on $100.
        min_interval_per_channel_s: at most one message per channel per this many seconds
            (Slack allows about one message per second per channel).
        outbox_path: SQLite outbox file (WAL); one delivering process per file (symlinks
            resolved), any number of submitting ones.
        outbox_synchronous: SQLite ``synchronous`` of the outbox (WAL). ``NORMAL`` (default):
            an alert in the file survives a crash or kill of the process; ``FULL`` also power
            loss / an OS crash, at one fsync per write batch. Either way ``submit`` does no disk
            I/O: the outbox's writer thread stores the alert (``ml_signals.durable_queue``).
        outbox_retention_s: delivered alerts are deleted this long after delivery (default 7
            days); also the window in which a re-submitted key is recognised as a duplicate.
        outbox_max_pending: cap on alerts awaiting delivery; at the cap ``submit`` refuses new
            alerts with ``QueueFullError`` and logs an error (default 10,000: 11 MB measured).
        outbox_memory_limit: alerts held in memory while the outbox file cannot be written
            (locked, disk full); beyond it ``submit`` refuses with ``QueueFullError``.
        request_timeout_s: HTTP timeout of one Slack request.
        sdk_max_retries: retries slack-sdk's own handlers make inside one delivery attempt
            (rate limit honouring Retry-After, 500/503, connection errors).
        sdk_backoff_s: slack-sdk back-off factor for server and connection retries.
        retry_initial_s, retry_max_s: the sender's own back-off between delivery attempts
            once slack-sdk gives up: ``initial * 2**(attempt-1)`` capped at ``max``.
        env_file: optional env file the secrets were read from (informational).

    Secrets are :class:`~pydantic.SecretStr`: ``repr``/``str``/``model_dump_json`` show
    ``**********`` and validation errors never echo input (``hide_input_in_errors``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    bot_token: SecretStr | None = None
    webhook_url: SecretStr | None = None
    webhook_urls: dict[ChannelRole, SecretStr] = Field(default_factory=dict)
    channels: SlackChannels = Field(default_factory=SlackChannels)
    base_url: str = Field(default="https://slack.com/api/", min_length=8)
    big_win_quote: float = Field(default=20.0, gt=0)
    big_loss_quote: float = Field(default=10.0, gt=0)
    min_interval_per_channel_s: float = Field(default=1.0, ge=0, le=60)
    outbox_path: Path = Path("runtime/alerts_outbox.sqlite")
    outbox_synchronous: Literal["FULL", "NORMAL"] = "NORMAL"
    outbox_retention_s: float = Field(default=7 * 86_400.0, ge=0)
    outbox_max_pending: int = Field(default=10_000, ge=1)
    outbox_memory_limit: int = Field(default=10_000, ge=1)
    request_timeout_s: float = Field(default=10.0, gt=0, le=120)
    sdk_max_retries: int = Field(default=2, ge=0, le=10)
    sdk_backoff_s: float = Field(default=0.5, ge=0, le=30)
    retry_initial_s: float = Field(default=5.0, gt=0, le=3600)
    retry_max_s: float = Field(default=300.0, gt=0, le=86400)
    env_file: Path | None = None

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        if value is not None and any(c.isspace() for c in value.get_secret_value().strip()):
            raise ValueError("bot_token contains whitespace (value hidden)")
        return SecretStr(value.get_secret_value().strip()) if value is not None else None

    @field_validator("webhook_url")
    @classmethod
    def _webhook_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        return _check_http_url(value, "webhook_url")

    @field_validator("webhook_urls")
    @classmethod
    def _webhooks_shape(cls, value: dict[ChannelRole, SecretStr]) -> dict[ChannelRole, SecretStr]:
        checked: dict[ChannelRole, SecretStr] = {}
        for role, url in value.items():
            if url.get_secret_value().strip():
                checked[role] = _checked_url(url, f"webhook_urls[{role}]")
        return checked

    @field_validator("base_url")
    @classmethod
    def _base_url_shape(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    def outbox_settings(self) -> QueueSettings:
        """The outbox's durable queue settings (other timings: the queue's defaults)."""
        return QueueSettings(synchronous=self.outbox_synchronous,
                             retention_s=self.outbox_retention_s,
                             max_pending=self.outbox_max_pending,
                             memory_limit=self.outbox_memory_limit)

    @property
    def mode(self) -> DeliveryMode:
        """``"bot"`` when a token is set, else ``"webhook"`` when any webhook URL is, else
        ``"log"``."""
        if self.bot_token is not None:
            return "bot"
        if self.webhook_url is not None or self.webhook_urls:
            return "webhook"
        return "log"

    def webhook_for(self, role: ChannelRole) -> str | None:
        """Webhook URL (secret, unwrapped) for ``role``; ``None`` when that role has none."""
        url = self.webhook_urls.get(role, self.webhook_url)
        return url.get_secret_value() if url is not None else None

    def secret_values(self) -> list[str]:
        """Every secret this config holds (for log redaction)."""
        values = [s.get_secret_value() for s in (self.bot_token, self.webhook_url) if s]
        values.extend(s.get_secret_value() for s in self.webhook_urls.values())
        return values

    @classmethod
    def from_env(
        cls,
        env_file: Path | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: object,
    ) -> SlackConfig:
        """Build a config whose secrets come from the environment or ``env_file``.

        Reads ``SLACK_BOT_TOKEN``, ``SLACK_WEBHOOK_URL``, ``SLACK_WEBHOOK_URL_TRADES``,
        ``SLACK_WEBHOOK_URL_REPORTS``, ``SLACK_WEBHOOK_URL_SYSTEM`` and ``SLACK_BASE_URL``
        (environment first, then the file). Explicit ``overrides`` win.

        Raises:
            pydantic.ValidationError: on a malformed value; the message names the setting
                but not its value.
        """
        values: dict[str, object] = {}
        token = lookup(["SLACK_BOT_TOKEN"], env_file=env_file, environ=environ)
        if token:
            values["bot_token"] = token
        webhook = lookup(["SLACK_WEBHOOK_URL"], env_file=env_file, environ=environ)
        if webhook:
            values["webhook_url"] = webhook
        per_role = {}
        for role, suffix in ROLE_ENV_SUFFIX.items():
            url = lookup([f"SLACK_WEBHOOK_URL_{suffix}"], env_file=env_file, environ=environ)
            if url:
                per_role[role] = url
        if per_role:
            values["webhook_urls"] = per_role
        base_url = lookup(["SLACK_BASE_URL"], env_file=env_file, environ=environ)
        if base_url:
            values["base_url"] = base_url
        values["env_file"] = env_file
        values.update(overrides)
        return cls.model_validate(values)
