"""A script stopped mid-run and started again keeps its risk guards: the channel script's runtime
on real Kraken candles (July 2021), its closes journaled to SQLite, stopped where the losing
streak, the daily-loss stop or the kill switch blocks, then rebuilt from the same config and
restored from the journal.

Executors are Hummingbot ``ExecutorInfo`` records of the configs the runtime created: filled at
the open of the candle they were created in, closed five hours later at the real close of the
last closed candle (taker fee both ways), and closed at market when the bot stops, as
Hummingbot's ``on_stop`` does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hb_support import SampleView
from hummingbot.strategy_v2.models.base import RunnableStatus
from hummingbot.strategy_v2.models.executor_actions import CreateExecutorAction
from hummingbot.strategy_v2.models.executors import CloseType
from hummingbot.strategy_v2.models.executors_info import ExecutorInfo

import hummingbot_scripts.ml_channel as channel_script
from ml_signals.decision.events import RuntimeObserver
from ml_signals.hummingbot import executor_configs, risk_state
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend
from ml_signals.risk import GuardLock

HOUR = 3600
HOLD_S = 5 * HOUR
TAKER_FRAC = 0.0026
PAIRS = ["BTC-USD", "ETH-USD"]
START_S = int(datetime(2021, 7, 1, tzinfo=UTC).timestamp())
LOCK_GUARDS = ("kill_switch", "consecutive_losses")
RISK = {"consecutive_losses": 2, "kill_switch_window_trades": 4,
        "kill_switch_min_hit_rate_frac": 0.5, "daily_loss_stop_frac": None,
        "daily_loss_stop_quote": 3.0, "crash_pause": False}
"""Tight limits so that ten days of real channel setups trip every stop."""


class Exchange:
    """The executors of the created configs (module docstring)."""

    def __init__(self, frames) -> None:
        self.opens = {p: f.set_index("timestamp")["open"] for p, f in frames.items()}
        self.closes = {p: f.set_index("timestamp")["close"] for p, f in frames.items()}
        self.created: list[CreateExecutorAction] = []
        self.stopped_s: float | None = None

    def infos(self, now_s: float) -> list[ExecutorInfo]:
        return [self._info(action, now_s) for action in self.created]

    def _info(self, action: CreateExecutorAction, now_s: float) -> ExecutorInfo:
        pair = action.executor_config.trading_pair
        created_s = action.executor_config.timestamp
        entry = float(self.opens[pair][created_s // HOUR * HOUR])
        config = action.executor_config.model_copy(update={"entry_price": Decimal(str(entry))})
        amount_quote = executor_configs.committed_quote(config)
        close_s, close_type = created_s + HOLD_S, CloseType.TIME_LIMIT
        if self.stopped_s is not None and self.stopped_s < close_s:
            close_s, close_type = self.stopped_s, CloseType.EARLY_STOP
        done = now_s >= close_s
        exit_ = (float(self.closes[pair][(close_s // HOUR - 1) * HOUR])
                 if close_type == CloseType.TIME_LIMIT
                 else float(self.opens[pair][close_s // HOUR * HOUR]))
        pnl_frac = exit_ / entry - 1 - 2 * TAKER_FRAC if done else 0.0
        return ExecutorInfo(
            id=config.id, timestamp=created_s, type=config.type,
            status=RunnableStatus.TERMINATED if done else RunnableStatus.RUNNING, config=config,
            net_pnl_pct=Decimal(str(pnl_frac)), net_pnl_quote=Decimal(str(amount_quote * pnl_frac)),
            cum_fees_quote=Decimal(str(2 * TAKER_FRAC * amount_quote)),
            filled_amount_quote=Decimal(str(amount_quote)), is_active=not done,
            is_trading=not done,
            custom_info={"current_position_average_price": Decimal(str(entry)),
                         "close_price": Decimal(str(exit_ if done else entry))},
            close_type=close_type if done else None, close_timestamp=close_s if done else None,
            controller_id=action.controller_id)


class Locks(RuntimeObserver):
    def __init__(self) -> None:
        self.locks: list[tuple[GuardLock, str]] = []
        self.closed: list[str] = []

    def executor_closed(self, event):
        if event.trade is not None:
            self.closed.append(event.executor_id)

    def guard_locked(self, lock):
        self.locks.append((lock, self.closed[-1]))


def channel_config(tmp_path, **overrides):
    return channel_script.MlChannelConfig(**{
        "trading_pairs": PAIRS, "models_dir": str(tmp_path / "no-models"),
        "no_model_policy": "rules_only", "capital_quote": 1000.0, "risk": RISK,
        "journal": {"enabled": True, "backend": "sqlite",
                    "sqlite_path": str(tmp_path / "journal.sqlite"),
                    "spool_path": str(tmp_path / "spool.sqlite")},
        **overrides})


def guards(runtime, state) -> dict:
    """What the guards decide with: streak, hit window, today's PnL, locks, blocks."""
    ledger = runtime.planner.ledger
    stats = ledger.stats(state.now_s)
    blocks = runtime.planner.blocking_now(state)
    return {
        "streak": stats.consecutive_losses,
        "hits": (ledger.recent_hits, stats.recent_trades),
        "realised_today": round(stats.realised_pnl_today_quote, 9),
        "pnl_today": round(state.equity_quote - state.day_start_equity_quote, 9),
        "locks": {g: ledger.lock(g) for g in LOCK_GUARDS},
        # the daily stop's sentence also shows the day-start equity, which a restart counts
        # from capital_quote (see risk_state); its decision and today's PnL are compared above
        "blocks": [(b.guard, "" if b.guard == "daily_loss" else b.reason) for b in blocks],
    }


def run_and_stop(config, frames, stop_s: int, start_journal: bool):
    """Run from ``START_S`` to ``stop_s`` (a tick 10 s after every candle), stop the bot
    (executors closed at market, journal closed) and return the guards one minute later."""
    runtime = config.build_runtime()
    seen = Locks()
    runtime.observers.append(seen)
    if start_journal:
        config.start_runtime(runtime, START_S + 10)
    view, exchange = SampleView(frames), Exchange(frames)
    now = START_S + 10
    while now <= stop_s:
        view.now_s = now
        exchange.created += [a for a in runtime.on_tick(now, view, exchange.infos(now))
                             if isinstance(a, CreateExecutorAction)]
        now += HOUR
    exchange.stopped_s = stop_s + 30  # Hummingbot's stop: open executors close at market
    restart_s = stop_s + 60
    before = guards(runtime, runtime.sync(restart_s, exchange.infos(restart_s)))
    runtime.close()
    return before, seen.locks, restart_s


@pytest.mark.parametrize("stop_at, blocking", [
    (datetime(2021, 7, 1, 20, tzinfo=UTC), "consecutive_losses"),
    (datetime(2021, 7, 2, 6, tzinfo=UTC), "daily_loss"),
    (datetime(2021, 7, 5, 22, tzinfo=UTC), "kill_switch"),
])
@pytest.mark.parametrize("start_journal", [True, False], ids=["written", "spooled"])
def test_guards_after_a_restart_equal_the_guards_before(tmp_path, kraken_frames, stop_at,
                                                        blocking, start_journal):
    """``written``: the journal wrote every row before the stop. ``spooled``: its writer never
    ran (a backend that was unreachable), so the rows are only in the spool."""
    config = channel_config(tmp_path)
    before, locks, restart_s = run_and_stop(config, kraken_frames, int(stop_at.timestamp()),
                                            start_journal)
    assert blocking in [guard for guard, _ in before["blocks"]]  # the stop is where it blocks

    runtime = config.build_runtime()  # a new process: new runtime, same config and journal
    config.start_runtime(runtime, restart_s)
    after = guards(runtime, runtime.sync(restart_s, []))
    status = runtime.format_status(restart_s, [])
    runtime.close()

    assert after == before
    for guard, reason in before["blocks"]:
        assert guard in status and reason in status
    # each lock was journaled with the close that set it
    backend = SQLiteJournalBackend(tmp_path / "journal.sqlite", create_schema=False)
    rows = backend.fetch_rows("guard_locks", "locked_at_s")
    backend.close()
    assert [(r["guard"], r["locked_at_s"], r["until_s"], r["reason"], r["trade_id"],
             r["scope"]) for r in rows] == [
        (lock.guard, lock.locked_at_s, lock.until_s, lock.reason, trade_id, "channel")
        for lock, trade_id in locks]


def test_locks_of_another_scope_and_a_new_day_are_not_restored(tmp_path, kraken_frames):
    """The kill switch latched by the channel script: a DCA script on the same journal file
    starts without it; the channel script restarted two days later still has it (it latches),
    while yesterday's realised PnL no longer counts as today's."""
    stop_s = int(datetime(2021, 7, 5, 22, tzinfo=UTC).timestamp())
    config = channel_config(tmp_path)
    before, _, _ = run_and_stop(config, kraken_frames, stop_s, True)
    assert before["locks"]["kill_switch"] is not None

    from hummingbot_scripts.ml_dca_grid import MlDcaGridConfig

    dca = MlDcaGridConfig(**{k: v for k, v in config.model_dump().items()
                             if k in ("trading_pairs", "models_dir", "no_model_policy",
                                      "capital_quote", "risk", "journal")})
    runtime = dca.build_runtime()
    dca.start_runtime(runtime, stop_s + 60)
    assert runtime.planner.blocking_now(runtime.sync(stop_s + 60, [])) == []
    runtime.close()

    later_s = stop_s + 2 * 86400
    runtime = config.build_runtime()
    config.start_runtime(runtime, later_s)
    after = guards(runtime, runtime.sync(later_s, []))
    runtime.close()
    assert after["locks"] == before["locks"] and after["hits"] == before["hits"]
    assert after["realised_today"] == 0.0 and after["pnl_today"] == 0.0


def test_an_unreadable_journal_halts_new_entries(tmp_path):
    (tmp_path / "journal.sqlite").mkdir()  # a folder where the journal file should be
    config = channel_config(tmp_path, alerts={
        "enabled": True, "destination": "log", "outbox_path": str(tmp_path / "outbox.sqlite")})
    runtime = config.build_runtime()
    config.start_runtime(runtime, START_S)
    status = runtime.format_status(START_S, [])
    runtime.close()
    assert f"{risk_state.RESTORE_GUARD}: risk state not restored from the sqlite journal" in status

    from ml_signals.alerts.outbox import Outbox

    outbox = Outbox(tmp_path / "outbox.sqlite")
    keys = [row.key for row in outbox.rows()]
    outbox.close()
    assert f"notice:halt:{risk_state.RESTORE_GUARD}:{START_S}" in keys
