"""Nested settings of the ``ml_*`` scripts: Slack alerts and the trade journal, and the
connector-name check (imported by :mod:`.script_config`).

An ``env_file`` named in either section must exist when the config is built: a missing file
would otherwise send every alert to the log, or journal to SQLite only, without a word.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from hummingbot.client.settings import AllConnectorSettings
from pydantic import BaseModel, ConfigDict, field_validator

from ml_signals.hummingbot import paper_trading


class AlertSettings(BaseModel):
    """Slack alerts (:mod:`ml_signals.alerts`); secrets come only from the environment or a
    git-ignored env file (``SLACK_BOT_TOKEN`` or ``SLACK_WEBHOOK_URL``...).

    Attributes:
        enabled: send trade and system alerts.
        destination: ``"slack"``: deliver as the Slack secrets say (bot token, webhook, or the
            log when none is set; :meth:`~ml_signals.alerts.SlackConfig.from_env`). ``"log"``:
            the same outbox and delivery thread, but every alert goes to the log (logger
            ``ml_signals.alerts.delivery``, INFO) and Slack secrets in the environment or
            ``env_file`` are never read, so nothing can reach Slack; without Slack there is no
            per-channel rate limit either. Replays use ``"log"``.
        env_file: optional env file with the Slack secrets (``"slack"`` only). When named it must
            exist (a config error otherwise): a missing file would send every alert to the log.
        outbox_path: SQLite outbox (one sender process per file).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    destination: Literal["slack", "log"] = "slack"
    env_file: str | None = None
    outbox_path: str = "data/ml_alerts_outbox.sqlite"

    @field_validator("env_file")
    @classmethod
    def _env_file_exists(cls, value: str | None) -> str | None:
        return _existing_env_file(value, "alerts.env_file")


class JournalSettings(BaseModel):
    """Trade journal (:mod:`ml_signals.journal`): local SQLite, or Supabase when
    ``SUPABASE_URL`` and ``SUPABASE_SERVICE_KEY`` are set in the environment / env file.

    Attributes:
        enabled: journal setups, predictions and trades.
        backend: ``"auto"``: Supabase when its URL and key are found (``JOURNAL_BACKEND``
            forces one; :meth:`~ml_signals.journal.JournalConfig.from_env`), else SQLite.
            ``"sqlite"``: always the local SQLite file ``sqlite_path``; Supabase secrets in the
            environment or ``env_file`` are never read. Replays use ``"sqlite"``.
        env_file: optional env file with the Supabase secrets (``"auto"`` only). When named it
            must exist (a config error otherwise): a missing file would journal to SQLite only.
        sqlite_path: journal file of the SQLite backend.
        spool_path: local spool every record waits in until the backend has it.
        restore_risk: at start, replay today's closed trades, the last closed trades the
            loss-streak and kill-switch guards look at, and the journaled guard locks into the
            risk ledger (:mod:`~ml_signals.hummingbot.risk_state`), so a restart keeps the
            daily-loss stop, the streak and the kill switch.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    backend: Literal["auto", "sqlite"] = "auto"
    env_file: str | None = None
    sqlite_path: str = "data/ml_journal.sqlite"
    spool_path: str = "data/ml_journal_spool.sqlite"
    restore_risk: bool = True

    @field_validator("env_file")
    @classmethod
    def _env_file_exists(cls, value: str | None) -> str | None:
        return _existing_env_file(value, "journal.env_file")


def _existing_env_file(value: str | None, field: str) -> str | None:
    """``value`` when it names an existing file (or is empty / ``None``).

    Raises:
        ValueError: the file is named but missing (relative paths from the working folder).
    """
    if value is None or not value.strip():
        return None
    path = Path(value)
    if not path.is_file():
        raise ValueError(f"{field} {value!r} does not exist (resolved {path.resolve()}); "
                         "create it or remove the setting")
    return value


def check_connector(name: str) -> str:
    """Accept a Hummingbot connector name (``AllConnectorSettings``) or ``<exchange>_paper_trade``.

    Raises:
        ValueError: unknown name; the message lists what is accepted.
    """
    known = AllConnectorSettings.get_connector_settings()
    base = name.removesuffix(paper_trading.PAPER_TRADE_SUFFIX)
    if base not in known:
        raise ValueError(
            f"unknown connector {name!r}: not one of Hummingbot's {len(known)} connectors "
            f"(e.g. kraken, binance, coinbase_advanced_trade) nor <exchange>_paper_trade"
        )
    return name
