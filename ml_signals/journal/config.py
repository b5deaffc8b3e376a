"""Journal configuration (pydantic v2).

Two backends: ``sqlite`` (default: a local file, no account) and ``supabase`` (supabase-py to
a Supabase project whose tables come from ``migrations/001_journal.sql``). Secrets come from
the environment or a git-ignored env file: ``SUPABASE_URL`` and ``SUPABASE_SERVICE_KEY``
(or ``SUPABASE_KEY``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ml_signals.alerts.secrets import lookup
from ml_signals.durable_queue import QueueSettings

BackendName = Literal["sqlite", "supabase"]


class JournalConfig(BaseModel):
    """Where and how the journal writes.

    Attributes:
        backend: ``"sqlite"`` or ``"supabase"``.
        sqlite_path: journal database file of the SQLite backend.
        spool_path: local SQLite spool: every accepted record waits here until the backend
            has it (both backends).
        supabase_url: project URL, e.g. ``https://<ref>.supabase.co`` (``SUPABASE_URL``).
        supabase_key: service-role key (``SUPABASE_SERVICE_KEY`` / ``SUPABASE_KEY``); secret.
            The tables have row-level security on and no policies, so the anon key cannot write.
        batch_size: rows per upsert request.
        request_timeout_s: HTTP timeout of one Supabase request.
        retry_initial_s, retry_max_s: back-off while the backend is unreachable:
            ``initial * 2**(failures-1)`` capped at ``max``.
        spool_synchronous: SQLite ``synchronous`` of the spool; ``NORMAL`` (WAL) keeps every
            record in the file through a process crash, ``FULL`` also through power loss.
            ``record`` does no disk I/O either way: the spool's writer thread stores records
            (``ml_signals.durable_queue``).
        spool_max_pending: cap on records awaiting the backend; at the cap ``record`` refuses
            new records with ``QueueFullError`` and logs an error. Default 100,000 (about
            40 MB: 10,000 rows measured 4 MB); a live bot journals tens of rows an hour, so
            this is weeks of backend outage.
        spool_memory_limit: records held in memory while the spool file cannot be written
            (locked, disk full); beyond it ``record`` refuses with ``QueueFullError``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    backend: BackendName = "sqlite"
    sqlite_path: Path = Path("runtime/journal.sqlite")
    spool_path: Path = Path("runtime/journal_spool.sqlite")
    supabase_url: str | None = None
    supabase_key: SecretStr | None = None
    batch_size: int = Field(default=200, ge=1, le=5000)
    request_timeout_s: float = Field(default=10.0, gt=0, le=120)
    retry_initial_s: float = Field(default=2.0, gt=0, le=3600)
    retry_max_s: float = Field(default=120.0, gt=0, le=86400)
    spool_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    spool_max_pending: int = Field(default=100_000, ge=1)
    spool_memory_limit: int = Field(default=10_000, ge=1)

    @model_validator(mode="after")
    def _supabase_needs_credentials(self) -> JournalConfig:
        if self.backend == "supabase":
            if not self.supabase_url or not self.supabase_url.startswith(("https://", "http://")):
                raise ValueError("backend 'supabase' needs supabase_url (SUPABASE_URL), an "
                                 "http(s) URL")
            if self.supabase_key is None or not self.supabase_key.get_secret_value().strip():
                raise ValueError("backend 'supabase' needs supabase_key (SUPABASE_SERVICE_KEY "
                                 "or SUPABASE_KEY)")
        return self

    def spool_settings(self) -> QueueSettings:
        """The spool's durable queue settings (other timings: the queue's defaults)."""
        return QueueSettings(synchronous=self.spool_synchronous,
                             max_pending=self.spool_max_pending,
                             memory_limit=self.spool_memory_limit)

    def secret_values(self) -> list[str]:
        """Secrets held (for log redaction)."""
        return [self.supabase_key.get_secret_value()] if self.supabase_key else []

    @classmethod
    def from_env(cls, env_file: Path | None = None, environ: Mapping[str, str] | None = None,
                 **overrides: object) -> JournalConfig:
        """Config from ``SUPABASE_URL`` and ``SUPABASE_SERVICE_KEY`` (or ``SUPABASE_KEY``).

        When both are found the backend is ``supabase``; otherwise ``sqlite``. ``JOURNAL_BACKEND``
        (``sqlite``/``supabase``) forces one. Explicit ``overrides`` win.

        Raises:
            pydantic.ValidationError: e.g. ``supabase`` forced without credentials (the message
                names the variables, never their values).
        """
        url = lookup(["SUPABASE_URL"], env_file=env_file, environ=environ)
        key = lookup(["SUPABASE_SERVICE_KEY", "SUPABASE_KEY"], env_file=env_file,
                     environ=environ)
        forced = lookup(["JOURNAL_BACKEND"], env_file=env_file, environ=environ)
        values: dict[str, object] = {}
        if url:
            values["supabase_url"] = url
        if key:
            values["supabase_key"] = key
        values["backend"] = forced or ("supabase" if url and key else "sqlite")
        values.update(overrides)
        return cls.model_validate(values)
