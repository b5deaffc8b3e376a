"""The ``control_commands`` table and ``/performance``'s read-back, on SQLite and on a real
PostgreSQL + PostgREST (Supabase) stack; counts are read with SQL, not the code under test."""

from __future__ import annotations

import sqlite3

import pytest
from journal_factories import T0, prediction_record, setup_record, trade_record
from servers.postgres_stack import REPO_ROOT

from ml_signals.control.performance import JournalPerformance
from ml_signals.journal import ControlRecord, Journal, JournalConfig
from ml_signals.journal.control_records import ANSWER_MAX_CHARS
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend
from ml_signals.journal.supabase_backend import SupabaseJournalBackend

pytestmark = pytest.mark.filterwarnings("ignore:The '(timeout|verify)' parameter is deprecated")

MIGRATION_003 = REPO_ROOT / "migrations" / "003_control_commands.sql"


def command(outcome: str = "pending", answer: str = "", answered_s: float | None = None,
            **overrides) -> ControlRecord:
    values = dict(command_id="env-1", transport="slack", command="/pause", args="maintenance",
                  user_id="U0OPERATOR", user_name="ops", authorised=True, outcome=outcome,
                  answer=answer, requested_s=T0 + 10.0, answered_s=answered_s)
    values.update(overrides)
    return ControlRecord(**values)  # type: ignore[arg-type]


def test_a_command_and_its_answer_are_one_row(tmp_path):
    config = JournalConfig(backend="sqlite", sqlite_path=tmp_path / "j.sqlite",
                           spool_path=tmp_path / "spool.sqlite")
    journal = Journal(config)
    journal.start()
    journal.record(command())
    journal.record(command("ok", "New entries PAUSED." + "x" * 5000, T0 + 11.0))
    assert journal.flush(10.0)
    journal.close()
    with sqlite3.connect(tmp_path / "j.sqlite") as db:
        rows = db.execute("select command_id, outcome, authorised, length(answer), requested_at "
                          "from control_commands").fetchall()
    assert rows == [("env-1", "ok", 1, ANSWER_MAX_CHARS, "2025-01-01 00:00:10")]


@pytest.mark.parametrize("bad, message", [
    ({"outcome": "maybe"}, "outcome must be one of"),
    ({"outcome": "ok"}, "answered_s is set exactly when"),
    ({"answered_s": T0 + 20.0}, "answered_s is set exactly when"),
    ({"outcome": "ok", "answered_s": T0}, "answered_s before requested_s"),
    ({"command": ""}, "command_id and command are required"),
])
def test_bad_control_records_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        command(**bad)


def _write_history(backend) -> None:
    backend.upsert_setup(*[setup_record(i) for i in range(4)])
    backend.upsert_prediction(*[prediction_record(i) for i in range(4)])
    backend.upsert_trade(*[trade_record(i, closed=True) for i in range(4)])


def _check_performance(performance: JournalPerformance) -> None:
    # trades 0 and 3 stop out (-2 % - 0.2 fees), 1 and 2 take profit (+4 % - 0.2) on 100 quote;
    # the model approved setups 0 and 2 (take, with a confidence): one win of two
    answer = performance.answer(now_s=T0 + 10 * 3600, start_s=T0, realised_quote=3.2)
    assert answer.outcome == "ok"
    for period in answer.periods:
        st = period.stats
        assert (st.trades_count, st.wins, st.losses, st.setups_detected, st.setups_taken) == (
            4, 2, 2, 4, 4)
        assert st.net_pnl_quote == pytest.approx(2 * 3.8 - 2 * 2.2)
        assert st.ml_precision == 0.5


def test_performance_reads_the_sqlite_journal(tmp_path):
    backend = SQLiteJournalBackend(tmp_path / "j.sqlite")
    _write_history(backend)
    backend.close()
    config = JournalConfig(backend="sqlite", sqlite_path=tmp_path / "j.sqlite",
                           spool_path=tmp_path / "spool.sqlite")
    _check_performance(JournalPerformance(config))
    missing = JournalPerformance(config.model_copy(update={"sqlite_path": tmp_path / "none"}))
    assert all(p.stats.trades_count == 0 for p in missing.answer(T0, T0, 0.0).periods)


def test_control_commands_and_performance_on_supabase(stack, tmp_path):
    stack.pg.psql_file(MIGRATION_003)
    stack.pg.psql_file(MIGRATION_003)  # safe to run again
    stack.pg.psql("truncate control_commands")
    stack.rest.reload_schema(stack.pg)
    stack.wait_for_tables(("control_commands",), present=True)
    config = stack.journal_config(tmp_path)
    backend = SupabaseJournalBackend(config)
    backend.upsert_rows(ControlRecord.TABLE, [command().to_row()])
    backend.upsert_rows(ControlRecord.TABLE, [command("ok", "done", T0 + 11.0).to_row()])
    _write_history(backend)
    backend.close()
    assert stack.pg.psql("select command_id || ' ' || outcome || ' ' || authorised "
                         "from control_commands") == "env-1 ok true"
    _check_performance(JournalPerformance(config))
