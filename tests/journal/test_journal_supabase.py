"""Supabase journal against real servers: PostgreSQL + PostgREST + a /rest/v1 proxy, driven by
the real supabase-py client. Row counts are read with psql, not through the code under test."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from journal_factories import daily_record, prediction_record, setup_record, trade_record
from supabase import create_client

from ml_signals.journal import Journal, JournalConfig, TransientJournalError
from ml_signals.journal.readback import load_closed_trades
from ml_signals.journal.supabase_backend import SupabaseJournalBackend, is_permanent_code

FLUSH_S = 20.0

# supabase-py passes PostgREST's timeout the way postgrest-py now calls deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:The '(timeout|verify)' parameter is deprecated")


def test_supabase_client_inserts_upserts_and_selects(stack, tmp_path):
    backend = SupabaseJournalBackend(stack.journal_config(tmp_path))
    setups = [setup_record(i, taken=i != 2) for i in range(4)]
    backend.upsert_setup(*setups)
    backend.upsert_setup(*setups)  # idempotent
    backend.upsert_prediction(*[prediction_record(i) for i in range(4)])
    backend.upsert_trade(*[trade_record(i, closed=False) for i in range(4)])
    backend.upsert_trade(trade_record(0, closed=True), trade_record(3, closed=True))
    backend.upsert_daily(daily_record(0))
    backend.upsert_daily(daily_record(0))
    assert [stack.pg.count(t) for t in ("strategy_setups", "ml_predictions", "trades",
                                        "daily_performance")] == [4, 4, 4, 1]
    assert stack.pg.psql("select skip_reason from strategy_setups where not taken") == \
        "confidence below 0.6"
    assert stack.pg.psql("select count(*) from trades where closed_s is not null") == "2"
    assert stack.pg.psql(f"select detected_at = to_timestamp({setups[1].candle_ts_s}) "  # noqa: S608
                         f"from strategy_setups where setup_id = '{setups[1].setup_id}'") == "t"
    trades = backend.fetch_trades()
    assert trades == [trade_record(0, True), trade_record(1, False), trade_record(2, False),
                      trade_record(3, True)]
    frame = load_closed_trades(stack.journal_config(tmp_path), backend=backend)
    assert list(frame["trade_id"]) == ["executor-0", "executor-3"]
    assert frame["pnl_quote"].tolist() == pytest.approx(
        [trade_record(0, True).pnl_quote, trade_record(3, True).pnl_quote])
    backend.close()

    # The plain supabase-py client sees the same rows; the anon key sees none (RLS, no grants).
    client = create_client(stack.url, stack.service_key)
    rows = client.table("strategy_setups").select("setup_id, taken").order("setup_id").execute()
    assert [r["setup_id"] for r in rows.data] == sorted(s.setup_id for s in setups)
    anon = create_client(stack.url, stack.anon_key)
    with pytest.raises(Exception, match="permission denied"):
        anon.table("trades").select("*").execute()


def test_postgrest_outage_mid_run_loses_and_duplicates_nothing(stack, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ml_signals.journal")
    journal = Journal(stack.journal_config(tmp_path, batch_size=25))
    journal.start()
    n = 120
    accepted: list[str] = []
    outage_done = threading.Event()

    def tick_loop() -> None:
        for i in range(n):
            journal.record(setup_record(i))
            journal.record(prediction_record(i))
            journal.record(trade_record(i, closed=False))
            accepted.extend(["setup", "prediction", "trade-open"])
            if i >= 2:
                journal.record(trade_record(i - 2, closed=True))  # closes arrive later
                accepted.append("trade-close")
            if i == n // 3:
                stack.rest.stop()  # PostgREST goes away while rows keep coming
            if i == 2 * n // 3:
                time.sleep(0.8)  # stay down long enough for several failed attempts
                stack.rest.start()
                outage_done.set()
            time.sleep(0.005)
        for i in range(n - 2, n):
            journal.record(trade_record(i, closed=True))
            accepted.append("trade-close")
        journal.record(daily_record(0))
        accepted.append("daily")

    tick = threading.Thread(target=tick_loop, name="tick-loop")
    tick.start()
    tick.join(60)
    assert outage_done.is_set()
    assert journal.flush(FLUSH_S)
    counts = journal.counts()
    assert journal.close()

    failures_seen = stack.proxy.upstream_failures
    present_total = 0
    assert failures_seen > 0, "the outage must have been hit"
    assert counts.pending == 0 and counts.rejected == 0
    assert counts.written == len(accepted) == 4 * n + 1
    for table, expected in (("strategy_setups", n), ("ml_predictions", n), ("trades", n),
                            ("daily_performance", 1)):
        present = stack.pg.count(table)
        key = "trade_id" if table == "trades" else (
            "setup_id" if table == "strategy_setups" else (
                "prediction_id" if table == "ml_predictions" else "date, strategy"))
        distinct = int(stack.pg.psql(f"select count(distinct ({key})) from {table}"))  # noqa: S608
        assert (present, distinct) == (expected, expected), table
        present_total += present
    # Order was kept through the replay: every trade ends in its closed version.
    assert stack.pg.psql("select count(*) from trades where closed_s is null") == "0"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("stay spooled" in w for w in warnings)
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    print(f"\nPostgREST outage: records accepted={len(accepted)} upserted={counts.written} "
          f"rows present={present_total} (opens replaced by closes) duplicates=0 "
          f"requests refused during the outage={failures_seen}")


def test_constraint_violation_is_logged_and_the_rest_written(stack, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ml_signals.journal")
    journal = Journal(stack.journal_config(tmp_path))
    journal.start()
    orphan = prediction_record(50)  # no setup 50: foreign key violation in PostgreSQL
    for i in range(5):
        journal.record(setup_record(i))
    for i in range(5):
        journal.record(prediction_record(i))
    journal.record(orphan)
    journal.record(trade_record(1, closed=True))
    assert journal.flush(FLUSH_S)
    counts = journal.counts()
    rejected = journal.spool.rejected()
    journal.close()
    assert (counts.written, counts.rejected) == (11, 1)
    assert [r.natural_id for r in rejected] == [orphan.prediction_id]
    assert "23503" in (rejected[0].last_error or "")
    assert "foreign key" in (rejected[0].last_error or "")
    assert (stack.pg.count("strategy_setups"), stack.pg.count("ml_predictions"),
            stack.pg.count("trades")) == (5, 5, 1)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "ml_predictions" in errors[0] and orphan.prediction_id in errors[0]


def test_missing_table_is_logged_and_the_rest_written(stack, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ml_signals.journal")
    stack.pg.psql("drop table daily_performance")
    stack.rest.reload_schema(stack.pg)
    stack.wait_for_tables(("daily_performance",), present=False)
    journal = Journal(stack.journal_config(tmp_path))
    journal.start()
    journal.record(setup_record(0))
    journal.record(daily_record(0))
    journal.record(daily_record(1))
    journal.record(trade_record(0, closed=False))
    assert journal.flush(FLUSH_S)
    rejected = journal.spool.rejected()
    written = journal.counts().written
    journal.close()
    assert [r.natural_id for r in rejected] == ["2025-01-01:all", "2025-01-02:all"]
    assert written == 2
    assert (stack.pg.count("strategy_setups"), stack.pg.count("trades")) == (1, 1)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    # PostgREST answers 42P01 "does not exist" or, once its cache reloaded, a bare 404.
    assert all("daily_performance" in e and ("schema cache" in e or "does not exist" in e)
               for e in errors)
    assert "2025-01-01:all" in errors[0] and "2025-01-02:all" in errors[1]

    # After the migration is applied again, the kept rows go in on request.
    stack.reset()
    again = Journal(stack.journal_config(tmp_path))
    assert again.requeue_rejected() == 2
    again.start()
    assert again.flush(FLUSH_S)
    again.close()
    assert stack.pg.count("daily_performance") == 2


def test_unreachable_supabase_is_transient(tmp_path):
    config = JournalConfig(backend="supabase", supabase_url="http://127.0.0.1:9",
                           supabase_key="not-a-real-key", request_timeout_s=2.0)
    backend = SupabaseJournalBackend(config)
    with pytest.raises(TransientJournalError):
        backend.upsert_setup(setup_record(0))
    backend.close()


def test_error_code_classes():
    assert is_permanent_code("23503") and is_permanent_code("23514")  # FK, CHECK
    assert is_permanent_code("42P01") and is_permanent_code("PGRST204")
    assert is_permanent_code("404")
    for transient in (None, "", "502", "503", "PGRST001", "PGRST301", "42501", "401", "08006"):
        assert not is_permanent_code(transient)


def test_config_from_env_uses_supabase_and_hides_the_key(tmp_path, caplog):
    env_file = tmp_path / ".env"
    env_file.write_text("SUPABASE_URL=https://abc.supabase.co\n"
                        "SUPABASE_SERVICE_KEY=service-secret-value-123\n")
    config = JournalConfig.from_env(env_file=env_file, environ={})
    assert config.backend == "supabase"
    for text in (repr(config), str(config), config.model_dump_json()):
        assert "service-secret-value-123" not in text
    assert JournalConfig.from_env(environ={}).backend == "sqlite"
    fallback = JournalConfig.from_env(environ={"SUPABASE_URL": "https://x.supabase.co",
                                               "SUPABASE_KEY": "anon-or-service"})
    assert fallback.backend == "supabase"
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="SUPABASE_URL"):
        JournalConfig.from_env(environ={"JOURNAL_BACKEND": "supabase"})
    with pytest.raises(ValidationError, match="SUPABASE_SERVICE_KEY"):
        JournalConfig.from_env(environ={"JOURNAL_BACKEND": "supabase",
                                        "SUPABASE_URL": "https://x.supabase.co"})
