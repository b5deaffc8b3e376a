"""Supabase journal backend: supabase-py (PostgREST under ``/rest/v1``).

Writes are ``table(t).upsert(rows, on_conflict=<natural id>)`` with ``returning=minimal``:
PostgREST runs them as ``INSERT … ON CONFLICT DO UPDATE`` in one transaction, so a batch is
all-or-nothing. Tables come from ``migrations/001_journal.sql``.

Error classes (see :mod:`ml_signals.journal.backend`): network errors, HTTP 5xx, gateway pages
without a PostgREST code, and authentication / permission problems are transient (rows stay
spooled, the log says why); PostgreSQL data, integrity and undefined-object errors (SQLSTATE
classes 22, 23, 42 except 42501) and PostgREST request / schema-cache errors (``PGRST1xx``,
``PGRST2xx``) are permanent for the rows concerned.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from ml_signals.journal.backend import (
    JournalBackend,
    PermanentJournalError,
    Row,
    TransientJournalError,
)
from ml_signals.journal.config import JournalConfig
from ml_signals.journal.records import RECORD_TYPES, natural_id_of

PAGE_ROWS = 1000
"""Rows per select request (Supabase's default ``max_rows``)."""

_PERMANENT_SQLSTATE_CLASSES = ("22", "23", "42")
_TRANSIENT_SQLSTATES = frozenset({"42501"})  # insufficient_privilege: fix grants, then it works


def is_permanent_code(code: str | None) -> bool:
    """True when a PostgREST / PostgreSQL error ``code`` means "these rows will never fit".

    ``None`` (a gateway error page), HTTP status codes of 5xx, ``PGRST0xx`` (database
    unreachable) and ``PGRST3xx`` (JWT) are transient.
    """
    if not code:
        return False
    if code.startswith("PGRST"):
        group = code[5:6]
        return group in ("1", "2") and code != "PGRST106"  # 106: schema not exposed (config)
    if code.isdigit() and len(code) == 3:
        status = int(code)
        return 400 <= status < 500 and status not in (401, 403, 408, 429)
    if len(code) == 5 and code not in _TRANSIENT_SQLSTATES:
        return code[:2] in _PERMANENT_SQLSTATE_CLASSES
    return False


class SupabaseJournalBackend(JournalBackend):
    """Journal tables in a Supabase (PostgreSQL + PostgREST) project.

    Args:
        config: needs ``supabase_url`` and ``supabase_key`` (service role).
        client: an existing ``supabase.Client`` to use instead of creating one.

    Not thread-safe: the journal's worker thread is its only writer.
    """

    name = "supabase"

    def __init__(self, config: JournalConfig, client: Any | None = None) -> None:
        if client is None:
            from supabase import ClientOptions, create_client

            if config.supabase_url is None or config.supabase_key is None:
                raise ValueError("Supabase backend needs SUPABASE_URL and SUPABASE_SERVICE_KEY")
            options = ClientOptions(postgrest_client_timeout=config.request_timeout_s,
                                    auto_refresh_token=False, persist_session=False)
            client = create_client(config.supabase_url, config.supabase_key.get_secret_value(),
                                   options=options)
        self._client = client
        self._last_status = threading.local()
        # postgrest-py's APIError carries PostgREST's code but not the HTTP status, and some
        # answers have no code (a gateway's 502 page, PostgREST 12.0's empty 404 for a missing
        # table): record the status of every response to classify those.
        session = client.postgrest.session
        hooks = dict(session.event_hooks)
        hooks["response"] = [*hooks.get("response", []), self._on_response]
        session.event_hooks = hooks

    def _on_response(self, response: Any) -> None:
        self._last_status.value = int(response.status_code)

    def _status(self) -> int | None:
        return getattr(self._last_status, "value", None)

    def upsert_rows(self, table: str, rows: Sequence[Row]) -> None:
        """Upsert ``rows`` by the table's natural id in one PostgREST request."""
        if not rows:
            return
        from postgrest.types import ReturnMethod

        conflict = ",".join(RECORD_TYPES[table].CONFLICT)
        ids = [natural_id_of(table, row) for row in rows]
        self._last_status.value = None
        try:
            (self._client.table(table)
             .upsert(list(rows), on_conflict=conflict, returning=ReturnMethod.minimal)
             .execute())
        except Exception as exc:  # noqa: BLE001 - classified below, re-raised typed
            raise self._classify(table, ids, exc, self._status()) from exc

    def fetch_rows(self, table: str, order_by: str, since_column: str | None = None,
                   since_value: float | None = None) -> list[Row]:
        """All matching rows, paged by :data:`PAGE_ROWS`."""
        rows: list[Row] = []
        start = 0
        while True:
            query = self._client.table(table).select("*")
            if since_column is not None and since_value is not None:
                query = query.gte(since_column, since_value)
            query = query.order(order_by).order(RECORD_TYPES[table].CONFLICT[0])
            self._last_status.value = None
            try:
                page = query.range(start, start + PAGE_ROWS - 1).execute().data
            except Exception as exc:  # noqa: BLE001 - classified below
                raise self._classify(table, [], exc, self._status()) from exc
            rows.extend(dict(r) for r in page if isinstance(r, dict))
            if len(page) < PAGE_ROWS:
                return rows
            start += PAGE_ROWS

    def close(self) -> None:
        """Close the HTTP session."""
        session = getattr(getattr(self._client, "postgrest", None), "session", None)
        if session is not None:
            session.close()

    @staticmethod
    def _classify(table: str, ids: Sequence[str], exc: Exception,
                  status: int | None) -> Exception:
        from postgrest.exceptions import APIError

        if isinstance(exc, APIError):
            detail = f"HTTP {status or '?'}" + (f" {exc.code}" if exc.code else "")
            if exc.message:
                detail += f": {exc.message}"
            if exc.details:
                detail += f" ({str(exc.details)[:300]})"
            if status == 404 and not exc.code:
                detail += (f": table {table!r} or one of its columns is not in PostgREST's schema "
                           "cache (apply migrations/001_journal.sql; Supabase reloads the cache)")
            code = exc.code or (str(status) if status else None)
            if is_permanent_code(code):
                return PermanentJournalError(table, ids, detail)
            return TransientJournalError(table, ids, detail)
        import httpx

        if isinstance(exc, httpx.HTTPError | OSError):  # refused, reset, timeout, bad gateway
            return TransientJournalError(table, ids, f"{type(exc).__name__}: {exc}")
        # Anything else (e.g. a value the JSON encoder refuses) will fail the same way again.
        return PermanentJournalError(table, ids, f"{type(exc).__name__}: {exc}")
