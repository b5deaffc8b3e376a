"""The control layer against a real ``StrategyRuntime`` on the shipped Kraken candles.

Commands are submitted as a front end would (any thread) and run when the runtime ticks;
answers, the runtime's decisions and the journal's rows (a real SQLite journal) are checked.
"""

from __future__ import annotations

from pathlib import Path

from control_support import HOUR, OPERATOR, SampleView, dca_runtime, executor, operator_settings
from hummingbot.strategy_v2.models.base import RunnableStatus
from hummingbot.strategy_v2.models.executor_actions import (
    CreateExecutorAction,
    StopExecutorAction,
)
from hummingbot.strategy_v2.models.executors import CloseType

from ml_signals.control import control_service
from ml_signals.control.answers import PerformanceAnswer, PositionsAnswer, StatusAnswer
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend

WIDE_RISK = {"max_exposure_quote": 5000.0}
"""Room for a held grid beside new ones (the default 500 quote is one full grid)."""


def journal_rows(runtime, tmp_path, table: str) -> list[dict]:
    """Rows of ``table`` once the journal's worker has written everything accepted."""
    observer = next(o for o in runtime.observers if hasattr(o, "journal"))
    assert observer.journal.flush(10.0)
    backend = SQLiteJournalBackend(tmp_path / "journal.sqlite", create_schema=False)
    try:
        order = {"control_commands": "requested_s", "strategy_setups": "recorded_s",
                 "trades": "opened_s"}[table]
        return backend.fetch_rows(table, order)
    finally:
        backend.close()


def later_setup(setups, after):
    """The first setup at least two candles after ``after`` (a different decision round)."""
    return next(s for s in setups if s.timestamp >= after.timestamp + 2 * HOUR)


def test_pause_stops_new_executors_while_open_ones_close_by_their_barriers(
        kraken_frames, dca_setups, tmp_path):
    first = dca_setups[0]
    second = later_setup(dca_setups, first)
    view = SampleView(kraken_frames)
    view.now_s = first.timestamp + HOUR + 10
    runtime = dca_runtime(tmp_path, risk=WIDE_RISK)
    runtime.start(view.now_s)
    service = control_service(runtime, operator_settings(tmp_path))
    held = executor("ETH-USD", status=RunnableStatus.RUNNING, filled_quote=300.0,
                    pnl_quote=4.0, pnl_frac=0.0133, timestamp=view.now_s - 7200,
                    entry=2000.0, level_id="dca:ETH-USD:1", executor_id="held")
    resting = executor("ETH-USD", status=RunnableStatus.RUNNING, timestamp=view.now_s - 600,
                       level_id="dca:ETH-USD:2", executor_id="resting")

    paused = service.submit("cmd-pause", "/pause", "maintenance", OPERATOR, "ops")
    assert not paused.done()  # it waits for the tick thread
    actions = runtime.on_tick(view.now_s, view, [held, resting])
    answer = paused.result(timeout=0)
    assert answer.outcome == "ok" and "PAUSED" in answer.headline
    assert not any(isinstance(a, CreateExecutorAction) for a in actions)
    assert not any(isinstance(a, StopExecutorAction) for a in actions)  # resting entry stays
    assert runtime.pairs["BTC-USD"].outcomes["dca"].startswith("skipped: paused: paused by ops")

    # while paused, the held grid closes at its take profit and is booked as usual
    closed = executor("ETH-USD", status=RunnableStatus.TERMINATED, filled_quote=300.0,
                      pnl_quote=15.0, pnl_frac=0.05, close_type=CloseType.TAKE_PROFIT,
                      timestamp=view.now_s - 7200, close_ts=view.now_s + 500, entry=2000.0,
                      exit_=2100.0, level_id="dca:ETH-USD:1", executor_id="held")
    assert runtime.on_tick(view.now_s + 600, view, [closed, resting]) == []
    assert runtime.planner.ledger.closed_trades == 1
    assert runtime.realised_pnl_quote() == 15.0

    resumed = service.submit("cmd-resume", "/resume", "", OPERATOR, "ops")
    view.now_s = second.timestamp + HOUR + 10
    actions = runtime.on_tick(view.now_s, view, [closed, resting])
    assert resumed.result(timeout=0).headline == "New entries RESUMED."
    created = [a.executor_config.level_id for a in actions if isinstance(a, CreateExecutorAction)]
    assert second.setup_id in created

    rows = {r["command_id"]: r for r in journal_rows(runtime, tmp_path, "control_commands")}
    assert {k: (r["command"], r["args"], r["outcome"], r["authorised"]) for k, r in rows.items()} \
        == {"cmd-pause": ("/pause", "maintenance", "ok", True),
            "cmd-resume": ("/resume", "", "ok", True)}
    assert "PAUSED" in rows["cmd-pause"]["answer"]
    assert rows["cmd-pause"]["answered_s"] >= rows["cmd-pause"]["requested_s"]
    setups = {r["setup_id"]: r for r in journal_rows(runtime, tmp_path, "strategy_setups")}
    assert setups[first.setup_id]["taken"] is False
    assert setups[first.setup_id]["skip_reason"].startswith("paused: paused by ops")
    assert setups[second.setup_id]["taken"] is True
    runtime.close()


def test_refusals_are_immediate_and_journaled_and_change_nothing(kraken_frames, dca_setups,
                                                                 tmp_path):
    view = SampleView(kraken_frames)
    view.now_s = dca_setups[0].timestamp + HOUR + 10
    runtime = dca_runtime(tmp_path)
    runtime.start(view.now_s)
    service = control_service(runtime, operator_settings(tmp_path))

    refused = [service.submit(f"cmd-{name}", f"/{name}", args, "U0STRANGER", "stranger")
               for name, args in (("pause", ""), ("resume", ""), ("reset-guard", "kill_switch"))]
    assert all(f.done() and f.result().outcome == "refused" for f in refused)
    status = service.submit("cmd-status", "/ml-status", "", "U0STRANGER", "stranger")
    unknown = service.submit("cmd-x", "/sell-everything", "", OPERATOR, "ops")
    assert unknown.result(timeout=0).outcome == "rejected"
    assert "unknown command '/sell-everything'" in unknown.result().headline

    actions = runtime.on_tick(view.now_s, view, [])
    assert runtime.entry_blocks() == []  # not paused
    assert any(isinstance(a, CreateExecutorAction) for a in actions)
    answer = status.result(timeout=0)
    assert isinstance(answer, StatusAnswer) and answer.outcome == "ok"
    assert [s.strategy for s in answer.strategies] == ["dca"]
    dca = answer.strategies[0]
    assert dca.model_version == "rules-only" and dca.decision_rule.startswith("rules-only")
    assert dca.last_setups == ()  # commands run at the start of a tick, before its decisions
    later = service.submit("cmd-status-2", "/ml-status", "", "U0STRANGER", "stranger")
    runtime.sync(view.now_s + 1, [])
    setups = later.result(timeout=0).strategies[0].last_setups
    assert setups[0].setup_id == dca_setups[0].setup_id
    assert setups[0].outcome.startswith("entry placed")

    rows = {r["command_id"]: r for r in journal_rows(runtime, tmp_path, "control_commands")}
    assert {k: (r["outcome"], r["authorised"]) for k, r in rows.items()} == {
        "cmd-pause": ("refused", False), "cmd-resume": ("refused", False),
        "cmd-reset-guard": ("refused", False), "cmd-status": ("ok", True),
        "cmd-status-2": ("ok", True), "cmd-x": ("rejected", False)}
    assert rows["cmd-reset-guard"]["args"] == "kill_switch"
    runtime.close()


def test_a_redelivered_command_runs_once(kraken_frames, dca_setups, tmp_path):
    runtime = dca_runtime()
    service = control_service(runtime, operator_settings(tmp_path))
    first = service.submit("same-envelope", "/pause", "", OPERATOR, "ops")
    again = service.submit("same-envelope", "/pause", "", OPERATOR, "ops")
    assert again is first and service.pending() == 1
    runtime.sync(dca_setups[0].timestamp, [])
    assert first.result(timeout=0).headline == "New entries PAUSED."


def test_positions_and_performance_from_the_journal(kraken_frames, dca_setups, tmp_path):
    view = SampleView(kraken_frames)
    now = dca_setups[0].timestamp + HOUR + 10
    runtime = dca_runtime(tmp_path, risk=WIDE_RISK)
    runtime.start(now)
    service = control_service(runtime, operator_settings(tmp_path))
    held = executor("ETH-USD", status=RunnableStatus.RUNNING, filled_quote=300.0,
                    pnl_quote=-6.0, pnl_frac=-0.02, timestamp=now - 7200, entry=2000.0,
                    take_profit=0.05, stop_loss=0.08, executor_id="held")
    resting = executor("BTC-USD", status=RunnableStatus.RUNNING, timestamp=now - 600,
                       executor_id="resting")
    lost = executor("ETH-USD", status=RunnableStatus.TERMINATED, filled_quote=200.0,
                    pnl_quote=-9.5, pnl_frac=-0.0475, close_type=CloseType.STOP_LOSS,
                    timestamp=now - 9000, close_ts=now - 5, entry=2100.0, exit_=2000.0,
                    executor_id="lost")
    losing = executor("ETH-USD", status=RunnableStatus.RUNNING, filled_quote=200.0,
                      pnl_quote=-3.0, pnl_frac=-0.015, timestamp=now - 9000, entry=2100.0,
                      executor_id="lost")
    view.now_s = now - 30
    # first tick (the start of "since start"): the losing position's fill is seen open
    runtime.on_tick(now - 30, view, [held, resting, losing])
    view.now_s = now
    runtime.on_tick(now, view, [held, resting, lost])  # the loss closes; journaled

    observer = next(o for o in runtime.observers if hasattr(o, "journal"))
    assert observer.journal.flush(10.0)
    positions = service.submit("cmd-pos", "/positions", "", "U0ANYONE")
    performance = service.submit("cmd-perf", "/performance", "", "U0ANYONE")
    runtime.sync(now + 1, [held, resting, lost])

    pos = positions.result(timeout=0)
    assert isinstance(pos, PositionsAnswer)
    assert [p.executor_id for p in pos.positions] == ["held", "resting"]  # oldest first
    line = pos.positions[0]
    assert (line.entry_price_quote, line.take_profit_frac, line.stop_loss_frac) == (
        2000.0, 0.05, 0.08)
    assert line.take_profit_price_quote == 2000.0 * 1.05
    assert line.stop_loss_price_quote == 2000.0 * (1 - 0.08)
    assert line.unrealised_pnl_quote == -6.0
    assert pos.positions[1].filled_quote == 0 and pos.positions[1].take_profit_price_quote is None

    perf = performance.result(timeout=0)
    assert isinstance(perf, PerformanceAnswer) and perf.outcome == "ok"
    assert [p.label for p in perf.periods] == ["today", "7 days", "since start"]
    for period in perf.periods:
        st = period.stats
        assert (st.trades_count, st.wins, st.losses, st.net_pnl_quote) == (1, 0, 1, -9.5)
        assert st.ml_precision is None  # rules-only: no model approved anything
    assert perf.periods[2].start_s == now - 30
    assert perf.realised_since_start_quote == -9.5
    assert "SQLite" in perf.source
    runtime.close()


def test_reset_guard_shows_the_state_first_then_lifts_the_lock(tmp_path):
    runtime = dca_runtime(risk={"consecutive_losses": 1, "consecutive_losses_reset": "manual",
                                **WIDE_RISK})
    service = control_service(runtime, operator_settings(tmp_path))
    t = 1_650_000_000.0
    lost = executor("BTC-USD", status=RunnableStatus.TERMINATED, filled_quote=210.0,
                    pnl_quote=-12.5, pnl_frac=-0.125, close_type=CloseType.STOP_LOSS,
                    timestamp=t - 7200, close_ts=t - 60, entry=40_000.0, exit_=35_000.0,
                    level_id="dca:BTC-USD:1649992800")
    resting = executor("ETH-USD", status=RunnableStatus.RUNNING, timestamp=t - 600,
                       level_id="dca:ETH-USD:1649996400")
    runtime.sync(t, [lost, resting])
    assert [b.guard for b in runtime.entry_blocks()] == ["consecutive_losses"]

    listing = service.submit("c1", "/reset-guard", "", OPERATOR, "ops")
    reset = service.submit("c2", "/reset-guard", "consecutive_losses", OPERATOR, "ops")
    again = service.submit("c3", "/reset-guard", "consecutive_losses", OPERATOR, "ops")
    market = service.submit("c4", "/reset-guard", "daily_loss", OPERATOR, "ops")
    unknown = service.submit("c5", "/reset-guard", "no_such_guard", OPERATOR, "ops")
    malformed = service.submit("c6", "/reset-guard", "Kill-Switch!", OPERATOR, "ops")
    runtime.sync(t + 1, [lost, resting])

    listed = listing.result(timeout=0)
    assert "resettable: consecutive_losses, kill_switch" in listed.headline \
        or "resettable: kill_switch, consecutive_losses" in listed.headline
    by_name = {g.name: g for g in listed.guards}
    assert by_name["consecutive_losses"].blocking is not None
    assert by_name["kill_switch"].blocking is None

    done = reset.result(timeout=0)
    assert done.outcome == "ok" and done.headline == "consecutive_losses RESET by ops."
    before, after = done.guards
    assert before.blocking is not None and "1 consecutive losing trades" in before.blocking.reason
    assert after.blocking is None and after.lock is None
    assert runtime.entry_blocks() == []
    assert runtime.stop_actions(t + 1, [lost, resting]) == []  # the resting grid stays now

    assert again.result(timeout=0).headline == "consecutive_losses holds no lock; nothing changed."
    assert market.result(timeout=0).outcome == "rejected"
    assert "no lock to reset" in market.result().headline
    assert unknown.result(timeout=0).outcome == "rejected"
    assert "No enabled guard named 'no_such_guard'" in unknown.result().headline
    assert malformed.result(timeout=0).outcome == "rejected"


def test_a_pause_outlives_a_restart_until_resumed(dca_setups, tmp_path):
    settings = operator_settings(tmp_path)
    runtime = dca_runtime()
    service = control_service(runtime, settings)
    service.submit("p", "/pause", "audit", OPERATOR, "ops")
    runtime.sync(dca_setups[0].timestamp, [])
    assert [b.guard for b in runtime.entry_blocks()] == ["paused"]

    restarted = dca_runtime()
    service = control_service(restarted, settings)  # the bot starts again
    blocks = restarted.entry_blocks()
    assert [b.guard for b in blocks] == ["paused"]
    assert blocks[0].reason.startswith("paused by ops") and "audit" in blocks[0].reason
    assert blocks[0].reason.endswith("(still paused after a restart)")
    service.submit("r", "/resume", "", OPERATOR, "ops")
    restarted.sync(dca_setups[0].timestamp, [])
    assert restarted.entry_blocks() == []

    again = dca_runtime()
    control_service(again, settings)
    assert again.entry_blocks() == []


def test_a_damaged_pause_file_keeps_the_bot_paused(tmp_path, caplog):
    settings = operator_settings(tmp_path)
    Path(settings.state_path).write_text("{not json")
    runtime = dca_runtime()
    control_service(runtime, settings)
    assert [b.guard for b in runtime.entry_blocks()] == ["paused"]
    assert "unreadable" in runtime.entry_blocks()[0].reason and "unreadable" in caplog.text


def test_reload_models_swaps_in_a_published_model_and_refuses_a_broken_one(
        kraken_frames, dca_setups, tmp_path):
    """/reload-models (operators) checks ``current`` now: a model published after start is
    verified and used from the next decision; a tampered one is refused and the model in
    use stays; a non-operator is refused. Every answer is journaled."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hummingbot"))
    from artifact_support import write_artifact

    from ml_signals.scoring.inputs import input_columns

    models = tmp_path / "models"
    models.mkdir()
    view = SampleView(kraken_frames)
    view.now_s = dca_setups[0].timestamp + HOUR + 10
    runtime = dca_runtime(tmp_path, models_dir=str(models), no_model_policy="skip")
    runtime.start(view.now_s)
    service = control_service(runtime, operator_settings(tmp_path))

    nothing = service.submit("cmd-r0", "/reload-models", "", OPERATOR, "ops")
    runtime.on_tick(view.now_s, view, [])
    assert nothing.result(timeout=0).headline.endswith("nothing changed.")

    folder = write_artifact(models, "dca", input_columns(dca_setups[0]), version="dca-v1")
    swapped = service.submit("cmd-r1", "/reload-models", "", OPERATOR, "ops")
    runtime.on_tick(view.now_s + 60, view, [])
    answer = swapped.result(timeout=0)
    assert answer.outcome == "ok" and "1 change(s)" in answer.headline
    assert "no-model -> dca-v1" in answer.text()
    assert runtime.engines["dca"].scorer.model_version == "dca-v1"

    refused = service.submit("cmd-r2", "/reload-models", "", "U_NOT_AN_OPERATOR", "guest")
    assert refused.result(timeout=0).outcome == "refused"

    broken = write_artifact(models, "dca", input_columns(dca_setups[0]), version="dca-v2")
    data = bytearray((broken / "classifier.ubj").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (broken / "classifier.ubj").write_bytes(bytes(data))
    kept = service.submit("cmd-r3", "/reload-models", "", OPERATOR, "ops")
    runtime.on_tick(view.now_s + 120, view, [])
    text = kept.result(timeout=0).text()
    assert "dca-v2 refused, keeping dca-v1" in text and "fails its hash check" in text
    assert runtime.engines["dca"].scorer.model_version == "dca-v1"
    rows = {r["command_id"]: r for r in journal_rows(runtime, tmp_path, "control_commands")}
    assert [rows[k]["outcome"] for k in ("cmd-r0", "cmd-r1", "cmd-r2", "cmd-r3")] == \
        ["ok", "ok", "refused", "ok"]
    assert folder.is_dir()
    runtime.close()
