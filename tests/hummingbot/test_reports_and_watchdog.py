"""Scheduled reports and the candle watchdog of a running script's runtime.

A DCA script's runtime (rules-only, journal and alerts enabled with the log-only destination on
temporary files) is driven tick by tick across the shipped Kraken candles. Executors appear as
Hummingbot ``ExecutorInfo`` records of the configs the runtime asked to create: filled at once at
their first grid price and closed three hours later at the close of the last candle closed
by then. The alert outbox
and the journal are read back and compared with what the runtime reported to a recording
observer.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hb_support import SampleView
from hummingbot.strategy_v2.models.base import RunnableStatus
from hummingbot.strategy_v2.models.executor_actions import CreateExecutorAction
from hummingbot.strategy_v2.models.executors import CloseType
from hummingbot.strategy_v2.models.executors_info import ExecutorInfo

import hummingbot_scripts.ml_dca_grid as dca_script
from ml_signals.alerts import DailySummary, SlackConfig
from ml_signals.alerts.messages import build_message
from ml_signals.alerts.outbox import Outbox, OutboxRow
from ml_signals.alerts.schedule import reports_between
from ml_signals.decision.events import ExecutorClosed, RuntimeObserver
from ml_signals.hummingbot.observers import JournalObserver
from ml_signals.journal import DailyPerformanceRecord
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend

HOUR = 3600
TICK_S = 300
HOLD_S = 3 * HOUR
PAIRS = ["BTC-USD", "ETH-USD"]
START_S = 1_621_987_200  # 2021-05-26 00:00 UTC: the DCA detector finds 6 setups in 3 days
NO_MODELS = str(Path(__file__).parent / "no_models")


class Recorder(RuntimeObserver):
    """What the runtime reported: setups (time, taken) and closed trades."""

    def __init__(self) -> None:
        self.setups: list[tuple[float, bool]] = []
        self.closed: list[ExecutorClosed] = []

    def setup_skipped(self, evaluation, reason, now_s):
        self.setups.append((now_s, False))

    def entry_placed(self, event):
        self.setups.append((event.placed_s, True))

    def executor_closed(self, event):
        self.closed.append(event)


def build_runtime(tmp_path: Path, pairs: list[str] = PAIRS):
    config = dca_script.MlDcaGridConfig(
        trading_pairs=pairs, models_dir=NO_MODELS, no_model_policy="rules_only",
        alerts={"enabled": True, "destination": "log",
                "outbox_path": str(tmp_path / "outbox.sqlite")},
        journal={"enabled": True, "backend": "sqlite",
                 "sqlite_path": str(tmp_path / "journal.sqlite"),
                 "spool_path": str(tmp_path / "spool.sqlite")})
    runtime = config.build_runtime()
    recorder = Recorder()
    runtime.observers.append(recorder)
    return runtime, recorder


def outbox_rows(path: Path) -> list[OutboxRow]:
    """The alerts a closed sender left in its outbox file."""
    outbox = Outbox(path)
    try:
        return outbox.rows()
    finally:
        outbox.close()


def observer(runtime, kind):
    (found,) = [o for o in runtime.observers if isinstance(o, kind)]
    return found


class Exchange:
    """Executors of the created configs: filled on creation, closed ``HOLD_S`` later at the
    real close of the last candle closed by then."""

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        self.closes = {p: f.set_index("timestamp")["close"] for p, f in frames.items()}
        self.created: list[CreateExecutorAction] = []

    def infos(self, now_s: float) -> list[ExecutorInfo]:
        result = []
        for action in self.created:
            config = action.executor_config
            entry = float(config.prices[0])
            filled = float(config.amounts_quote[0])
            close_s = config.timestamp + HOLD_S
            done = now_s >= close_s
            exit_ = float(self.closes[config.trading_pair][(close_s // HOUR - 1) * HOUR])
            pnl_frac = exit_ / entry - 1 if done else 0.0
            result.append(ExecutorInfo(
                id=config.id, timestamp=config.timestamp, type=config.type,
                status=RunnableStatus.TERMINATED if done else RunnableStatus.RUNNING,
                config=config, net_pnl_pct=Decimal(str(pnl_frac)),
                net_pnl_quote=Decimal(str(filled * pnl_frac)), cum_fees_quote=Decimal(0),
                filled_amount_quote=Decimal(str(filled)), is_active=not done,
                is_trading=not done,
                custom_info={"current_position_average_price": Decimal(str(entry)),
                             "close_price": Decimal(str(exit_ if done else entry))},
                close_type=CloseType.TIME_LIMIT if done else None,
                close_timestamp=close_s if done else None, controller_id=action.controller_id))
        return result


def drive(runtime, view: SampleView, exchange: Exchange, start_s: float, end_s: float,
          feed_now=None) -> None:
    """Tick every ``TICK_S`` from ``start_s`` to ``end_s``; ``feed_now(now)`` is what the feed
    shows (default: the clock)."""
    now = start_s
    while now <= end_s:
        view.now_s = now if feed_now is None else feed_now(now)
        for action in runtime.on_tick(now, view, exchange.infos(now)):
            if isinstance(action, CreateExecutorAction):
                exchange.created.append(action)
        now += TICK_S


def test_reports_count_what_the_runtime_saw(kraken_frames, tmp_path):
    runtime, recorder = build_runtime(tmp_path)
    journal = observer(runtime, JournalObserver).journal
    journal.start()  # the alert sender stays stopped: its alerts wait in the outbox
    first_s, end_s = START_S + 10, START_S + 3 * 86400 + 10
    view, exchange = SampleView(kraken_frames), Exchange(kraken_frames)
    for strategy, engine in runtime.engines.items():  # as runtime.start announces them
        for o in runtime.observers:
            o.model_in_use(strategy, engine.scorer, first_s)
    drive(runtime, view, exchange, first_s, end_s)
    assert journal.flush(30.0)
    runtime.close()

    expected = reports_between(first_s, end_s)
    assert len(expected) >= 5 and {r.kind for r in expected} <= {"morning", "evening", "weekly"}
    assert sum(taken for _, taken in recorder.setups) > 0 and recorder.closed  # a busy window
    rows = [r for r in outbox_rows(tmp_path / "outbox.sqlite") if r.role == "reports"]
    assert [r.key for r in rows] == [f"report:{r.kind}:{int(r.due_s)}" for r in expected]

    config = SlackConfig(outbox_path=tmp_path / "unused.sqlite")
    counted_trades = 0
    for report, row in zip(expected, rows, strict=True):
        start, end = report.period_start_s, report.due_s
        setups = [taken for t, taken in recorder.setups if start <= t < end]
        closed = [e for e in recorder.closed if e.trade and start <= e.closed_s < end]
        wins = sum(1 for e in closed if e.trade.pnl_quote > 0)
        counted_trades += len(closed) if report.kind == "evening" else 0
        summary = DailySummary(
            kind=report.kind, period_start_s=start, period_end_s=end,
            setups_detected=len(setups), setups_taken=sum(setups), trades_count=len(closed),
            wins=wins, losses=len(closed) - wins,
            net_pnl_quote=sum(e.trade.pnl_quote for e in closed), ml_precision=None,
            quote_currency="USD")
        assert row.text == build_message(summary, config).text, report
    assert counted_trades > 0

    backend = SQLiteJournalBackend(tmp_path / "journal.sqlite")
    daily = [DailyPerformanceRecord.from_row(r)
             for r in backend.fetch_rows("daily_performance", "date")]
    backend.close()
    evenings = [r for r in expected if r.kind == "evening"]
    assert [(d.date, d.strategy) for d in daily] == [(r.local_date, "dca") for r in evenings]
    for record, report in zip(daily, evenings, strict=True):
        closed = [e for e in recorder.closed
                  if e.trade and report.period_start_s <= e.closed_s < report.due_s]
        assert record.trades_count == len(closed)
        assert record.net_pnl_quote == pytest.approx(sum(e.trade.pnl_quote for e in closed))
        assert record.setups_detected == sum(
            1 for t, _ in recorder.setups if report.period_start_s <= t < report.due_s)
        assert record.ml_precision is None  # rules-only


def test_a_stalled_feed_alerts_once(kraken_frames, tmp_path):
    runtime, _ = build_runtime(tmp_path)
    stall_from, stall_to = START_S + 6 * HOUR + 10, START_S + 12 * HOUR + 10

    class StalledEth(SampleView):
        """ETH's feed delivers nothing between ``stall_from`` and ``stall_to``."""

        def candles(self, pair):
            if pair != "ETH-USD" or not stall_from < self.now_s < stall_to:
                return super().candles(pair)
            saved, self.now_s = self.now_s, stall_from
            try:
                return super().candles(pair)
            finally:
                self.now_s = saved

    view = StalledEth(kraken_frames)
    drive(runtime, view, Exchange(kraken_frames), START_S + 10, START_S + 18 * HOUR + 10)
    runtime.close()

    stale = [r for r in outbox_rows(tmp_path / "outbox.sqlite") if r.key.startswith("stale:")]
    # the newest ETH candle the stalled feed shows closes one hour after stall_from's hour
    # (the feed's forming candle reads as closed later); the alert comes 10 min after the next
    # candle was due to close
    last_close = (stall_from // HOUR) * HOUR + HOUR
    assert [r.key for r in stale] == [f"stale:ETH-USD:{last_close}"]
    assert stale[0].role == "system" and stale[0].mention


def test_a_pair_whose_feed_never_delivers_alerts(kraken_frames, tmp_path):
    """XRP-USD is not in the sample (as a pair the candles exchange does not serve): its feed
    never delivers a candle, and it is watched from the first tick all the same."""
    runtime, _ = build_runtime(tmp_path, [*PAIRS, "XRP-USD"])
    first = START_S + 10
    drive(runtime, SampleView(kraken_frames), Exchange(kraken_frames), first, first + 2 * HOUR)
    runtime.close()

    stale = [r for r in outbox_rows(tmp_path / "outbox.sqlite") if r.key.startswith("stale:")]
    # watched as if a candle had closed at the first tick: alerted 10 min (+ one tick) later,
    # once; BTC and ETH deliver and stay quiet
    assert [r.key for r in stale] == [f"stale:XRP-USD:{first - HOUR}"]
    assert stale[0].role == "system" and stale[0].mention
    assert "XRP-USD" in runtime.format_status(first + 2 * HOUR, [])
