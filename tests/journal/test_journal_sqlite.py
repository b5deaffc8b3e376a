"""Journal records, the SQLite backend and the Journal facade (spool + worker) on real files."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import pytest
from journal_factories import (
    T0,
    daily_record,
    prediction_record,
    setup,
    setup_record,
    trade_record,
)

from ml_signals.alerts.schedule import reports_between
from ml_signals.journal import (
    Journal,
    JournalConfig,
    PermanentJournalError,
    PredictionRecord,
    SetupRecord,
    SpoolLockedError,
    TradeRecord,
)
from ml_signals.journal.readback import (
    CLOSED_TRADE_COLUMNS,
    closed_trades_frame,
    load_closed_trades,
)
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend
from ml_signals.journal.summary import daily_record as summary_daily_record
from ml_signals.journal.summary import period_stats, summary_event

FLUSH_S = 15.0


def config(tmp_path: Path, **overrides: object) -> JournalConfig:
    values: dict[str, object] = {"sqlite_path": tmp_path / "journal.sqlite",
                                 "spool_path": tmp_path / "spool.sqlite",
                                 "retry_initial_s": 0.05, "retry_max_s": 0.2}
    values.update(overrides)
    return JournalConfig.model_validate(values)


def count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608


# -- records ------------------------------------------------------------------------------

def test_records_round_trip_and_natural_ids():
    rec = setup_record(4)
    assert rec.setup_id == setup(4).setup_id == f"swing:ETH-USDT:{T0 + 4 * 3600}"
    assert SetupRecord.from_row(rec.to_row()) == rec
    pred = prediction_record(4)
    assert pred.prediction_id == f"{rec.setup_id}:m-2025-01"
    assert PredictionRecord.from_row(pred.to_row()) == pred
    for closed in (False, True):
        trade = trade_record(4, closed)
        assert TradeRecord.from_row(trade.to_row()) == trade
        assert trade.is_closed is closed
    assert daily_record(2).natural_id == "2025-01-03:all"


@pytest.mark.parametrize(("build", "message"), [
    (lambda: SetupRecord(setup_id="x", strategy="swing", pair="BTC-USDT", candle_ts_s=1,
                         reference_price_quote=1.0, entry_type="market", taken=True,
                         skip_reason=None, recorded_s=1.0), "setup_id must be"),
    (lambda: SetupRecord(**{**setup_record(1).to_row(), "taken": False, "skip_reason": None}),
     "needs skip_reason"),
    (lambda: TradeRecord(trade_id="t", setup_id=None, strategy="s", pair="BTC-USDT",
                         side="long", entry_price_quote=1.0, amount_base=1.0,
                         amount_quote=1.0, fees_quote=0.0, opened_s=1.0), "side must be"),
    (lambda: TradeRecord(trade_id="t", setup_id=None, strategy="s", pair="BTC-USDT",
                         side="buy", entry_price_quote=1.0, amount_base=-1.0,
                         amount_quote=1.0, fees_quote=0.0, opened_s=1.0), "amount_base"),
    (lambda: TradeRecord(trade_id="t", setup_id=None, strategy="s", pair="BTC-USDT",
                         side="buy", entry_price_quote=1.0, amount_base=1.0, amount_quote=1.0,
                         fees_quote=0.0, opened_s=1.0, closed_s=2.0), "go together"),
])
def test_invalid_records_name_table_and_id(build, message):
    with pytest.raises(ValueError, match=message):
        build()


# -- SQLite backend -----------------------------------------------------------------------

def test_sqlite_upserts_are_idempotent(tmp_path):
    backend = SQLiteJournalBackend(tmp_path / "j.sqlite")
    setups = [setup_record(i) for i in range(5)]
    backend.upsert_setup(*setups)
    backend.upsert_setup(*setups)
    backend.upsert_prediction(*[prediction_record(i) for i in range(5)])
    backend.upsert_trade(*[trade_record(i, closed=False) for i in range(5)])
    backend.upsert_trade(*[trade_record(i, closed=True) for i in range(3)])  # 3 of 5 close
    backend.upsert_daily(daily_record(0))
    backend.upsert_daily(daily_record(0))
    for table, n in (("strategy_setups", 5), ("ml_predictions", 5), ("trades", 5),
                     ("daily_performance", 1)):
        assert count(tmp_path / "j.sqlite", table) == n
    trades = backend.fetch_trades()
    assert [t.trade_id for t in trades] == [f"executor-{i}" for i in range(5)]
    assert [t.is_closed for t in trades] == [True, True, True, False, False]
    assert trades[0] == trade_record(0, closed=True)
    later = backend.fetch_trades(since_s=trades[3].opened_s)
    assert [t.trade_id for t in later] == ["executor-3", "executor-4"]
    backend.close()


def test_sqlite_foreign_key_violation_is_permanent(tmp_path):
    backend = SQLiteJournalBackend(tmp_path / "j.sqlite")
    with pytest.raises(PermanentJournalError) as info:
        backend.upsert_prediction(prediction_record(9))  # its setup was never written
    assert info.value.table == "ml_predictions"
    assert info.value.ids == [prediction_record(9).prediction_id]
    backend.close()


# -- Journal facade -----------------------------------------------------------------------

def test_journal_writes_everything_in_order_off_thread(tmp_path):
    cfg = config(tmp_path)
    journal = Journal(cfg)
    journal.start()
    callers = []

    def tick_loop() -> None:
        callers.append(threading.current_thread().name)
        for i in range(60):
            journal.record(setup_record(i, taken=i % 2 == 0))
            journal.record(prediction_record(i))
            if i % 2 == 0:
                journal.record(trade_record(i, closed=False))
        for i in range(0, 60, 2):
            journal.record(trade_record(i, closed=True))  # replaces the open version
        journal.record(daily_record(0))

    worker = threading.Thread(target=tick_loop, name="tick-loop")
    worker.start()
    worker.join()
    assert journal.flush(FLUSH_S)
    counts = journal.counts()
    assert journal.close()
    assert (counts.pending, counts.rejected, counts.written) == (0, 0, 60 + 60 + 30 + 30 + 1)
    db = cfg.sqlite_path
    assert (count(db, "strategy_setups"), count(db, "ml_predictions"), count(db, "trades"),
            count(db, "daily_performance")) == (60, 60, 30, 1)
    frame = load_closed_trades(cfg)
    assert len(frame) == 30 and tuple(frame.columns) == CLOSED_TRADE_COLUMNS


def test_rejected_row_is_logged_and_the_rest_written(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ml_signals.journal")
    cfg = config(tmp_path)
    journal = Journal(cfg)
    journal.start()
    journal.record(setup_record(1))
    orphan = prediction_record(2)  # setup 2 is never journaled: foreign key violation
    journal.record(prediction_record(1))
    journal.record(orphan)
    journal.record(setup_record(3))
    journal.record(prediction_record(3))
    assert journal.flush(FLUSH_S)
    rejected = journal.spool.rejected()
    counts = journal.counts()
    journal.close()
    assert [r.natural_id for r in rejected] == [orphan.prediction_id]
    assert "FOREIGN KEY" in (rejected[0].last_error or "")
    assert (counts.written, counts.rejected) == (4, 1)
    assert count(cfg.sqlite_path, "ml_predictions") == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "ml_predictions" in errors[0] and orphan.prediction_id in errors[0]


def test_accepted_records_survive_a_restart(tmp_path):
    cfg = config(tmp_path)
    first = Journal(cfg)  # never started: records only reach the spool
    for i in range(10):
        first.record(setup_record(i))
    assert first.counts().pending == 10
    first.close()
    second = Journal(cfg)
    second.start()
    assert second.flush(FLUSH_S)
    second.close()
    assert count(cfg.sqlite_path, "strategy_setups") == 10


def test_one_draining_process_per_spool(tmp_path):
    cfg = config(tmp_path)
    first = Journal(cfg)
    first.start()
    try:
        with pytest.raises(SpoolLockedError):
            Journal(cfg).start()
    finally:
        first.close()


def test_readback_of_missing_journal_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="journal.sqlite"):
        load_closed_trades(config(tmp_path))


def test_closed_trades_frame_types(tmp_path):
    backend = SQLiteJournalBackend(tmp_path / "j.sqlite")
    backend.upsert_trade(*[trade_record(i, closed=i != 1) for i in range(4)])
    frame = load_closed_trades(config(tmp_path), backend=backend)
    backend.close()
    assert list(frame["trade_id"]) == sorted(
        ["executor-0", "executor-2", "executor-3"],
        key=lambda t: trade_record(int(t.split("-")[1]), True).closed_s or 0)
    assert (frame["duration_s"] == frame["closed_s"] - frame["opened_s"]).all()
    assert frame["pnl_quote"].dtype == "float64" and frame["closed_s"].dtype == "float64"
    empty = closed_trades_frame([trade_record(1, closed=False)])
    assert empty.empty and tuple(empty.columns) == CLOSED_TRADE_COLUMNS


def test_period_stats_feed_reports_and_daily_rows():
    setups = [setup_record(i, taken=i % 2 == 0) for i in range(24)]
    predictions = [prediction_record(i) for i in range(24)]  # take=True on even i
    trades = [trade_record(i, closed=True) for i in range(0, 24, 2)]
    # The evening report of 2025-01-01 (19:00 PST): its day holds most of these trades.
    slot = [r for r in reports_between(T0, T0 + 2 * 86400) if r.kind == "evening"][1]
    assert slot.local_date.isoformat() == "2025-01-01"
    stats = period_stats(slot.period_start_s, slot.period_end_s, setups, predictions, trades)
    in_window = [t for t in trades if slot.period_start_s <= (t.closed_s or 0) < slot.due_s]
    wins = sum(1 for t in in_window if (t.pnl_quote or 0) > 0)
    assert stats.trades_count == len(in_window) > 0
    assert (stats.wins, stats.losses) == (wins, len(in_window) - wins)
    assert stats.net_pnl_quote == pytest.approx(sum(t.pnl_quote or 0 for t in in_window))
    assert stats.ml_precision == pytest.approx(wins / len(in_window))  # all even: approved
    event = summary_event(slot, stats)
    row = summary_daily_record(slot, stats, "all", updated_s=slot.due_s)
    assert event.trades_count == row.trades_count == stats.trades_count
    assert row.date == slot.local_date


def test_command_line_status_and_flush(tmp_path, monkeypatch, capsys):
    from ml_signals.journal.__main__ import main

    for name in ("SUPABASE_URL", "SUPABASE_SERVICE_KEY", "SUPABASE_KEY", "JOURNAL_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # default paths runtime/journal*.sqlite land here
    first = Journal(JournalConfig())
    for i in range(3):
        first.record(setup_record(i))
    first.close()
    assert main(["status"]) == 1  # three rows pending
    assert "pending=3" in capsys.readouterr().out
    assert main(["flush", "--timeout-s", "10"]) == 0
    assert count(tmp_path / "runtime" / "journal.sqlite", "strategy_setups") == 3
