"""The four ``ml_*`` scripts replayed, unmodified, on real Binance 1h candles (data/sample).

Windows are chosen from the batch detections of ``ml_signals.setups`` on the same data, so each
test window holds setups. Models: none (rules-only: every setup the guards allow is taken), so
the trade and guard checks do not depend on what a local training run left in ``models/`` (a
model there may take none of a window's setups); the setup checks compare with the detector
only, which a model does not change (a model only decides whether a detected setup is taken).
Each replay also journals (SQLite) and alerts (to the log) into its own temporary folder.
"""

from __future__ import annotations

import logging
import socket
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ml_signals.alerts.outbox import Outbox
from ml_signals.features import compute_features
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend
from ml_signals.setups import make_detector
from training.data import load_dir
from training.replay.journal_alerts import ReplayFiles
from training.replay.loader import load_script
from training.replay.runner import ReplaySpec, run_replay

PAIRS = ("BTC-USDT", "ETH-USDT", "SOL-USDT")
HOUR = 3600


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


@pytest.fixture(scope="module")
def frames(repo_root):
    sets = load_dir(repo_root / "data" / "sample" / "binance", pairs=PAIRS)
    return {pair: cs.frame for pair, cs in sets.items()}


def batch_setups(frames, script: str, strategies: tuple[str, ...], overrides=None):
    """Every setup the script's detectors find on the whole history, by setup id."""
    config = load_script(script, Path(f"conf/scripts/conf_{script}.yml"),
                         {"trading_pairs": list(PAIRS), "btc_pair": "BTC-USDT",
                          **(overrides or {})}).config
    btc = frames["BTC-USDT"]
    found = {}
    for pair, frame in frames.items():
        features = compute_features(frame, None if pair == "BTC-USDT" else btc, HOUR)
        for strategy in strategies:
            detector = make_detector(strategy, getattr(config, strategy), HOUR)
            for setup in detector.detect(pair, frame, features):
                found[setup.setup_id] = setup
    return found


def replayed_candles(result) -> range:
    """Open times of the candles the replay decided on: the candle before each replayed one."""
    return range(result.start_s - HOUR, result.end_s, HOUR)


def replay(script, start, end, out_dir, overrides=None, inspect=None):
    """Replay ``script`` rules-only; its journal and alert outbox go to ``<out_dir>/<script>/``."""
    spec = ReplaySpec(script=script, pairs=PAIRS, start=start, end=end,
                      overrides={"no_model_policy": "rules_only", **(overrides or {})},
                      out_dir=out_dir,
                      models_dir=str(Path(out_dir) / "no-models"))
    return run_replay(spec, log_level=logging.ERROR, inspect=inspect)


def busiest_window(setups, days: int, month_from: datetime, month_to: datetime):
    """Start of the ``days``-day window in [month_from, month_to) holding most setups."""
    stamps = sorted(s.timestamp for s in setups.values()
                    if month_from <= _utc(s.timestamp) < month_to)
    assert stamps, "no setup in the search range"
    span = days * 86400
    best = max(stamps, key=lambda t: sum(t <= u < t + span for u in stamps))
    start = _utc(best).replace(hour=0) - timedelta(days=1)
    return start, start + timedelta(days=days)


def assert_seen_equals_batch(result, batch):
    window = replayed_candles(result)
    expected = {sid for sid, s in batch.items() if s.timestamp in window}
    seen = {s.setup_id for s in result.setups}
    assert expected, "window without batch detections"
    assert seen == expected


# --- one replay per single-strategy script -----------------------------------------------------

@pytest.fixture(scope="module")
def dca(frames, tmp_path_factory):
    batch = batch_setups(frames, "ml_dca_grid", ("dca",))
    start, end = busiest_window(batch, 10, datetime(2025, 10, 1), datetime(2026, 1, 1))
    return replay("ml_dca_grid", start, end, tmp_path_factory.mktemp("dca")), batch


@pytest.fixture(scope="module")
def channel(frames, tmp_path_factory):
    batch = batch_setups(frames, "ml_channel", ("channel",))
    start, end = busiest_window(batch, 7, datetime(2025, 10, 1), datetime(2026, 1, 1))
    return replay("ml_channel", start, end, tmp_path_factory.mktemp("channel")), batch


@pytest.fixture(scope="module")
def swing(frames, tmp_path_factory):
    batch = batch_setups(frames, "ml_swing", ("swing",))
    start, end = busiest_window(batch, 7, datetime(2025, 6, 1), datetime(2026, 2, 1))
    return replay("ml_swing", start, end, tmp_path_factory.mktemp("swing")), batch


@pytest.mark.parametrize("run", ["dca", "channel", "swing"])
def test_setups_seen_equal_batch_detections(run, request):
    result, batch = request.getfixturevalue(run)
    assert result.errors == ()
    assert_seen_equals_batch(result, batch)


@pytest.mark.parametrize("run", ["dca", "channel", "swing"])
def test_taken_setups_open_executors_that_close(run, request):
    result, _ = request.getfixturevalue(run)
    assert result.setups_taken >= 1
    assert result.executors_opened == result.setups_taken
    levels = {e.level_id for e in result.executors}
    assert levels == {s.setup_id for s in result.setups if s.taken}


def test_dca_and_channel_close_by_their_barriers(dca, channel):
    closed = {**dca[0].closed_by_type}
    for k, v in channel[0].closed_by_type.items():
        closed[k] = closed.get(k, 0) + v
    assert set(closed) & {"TAKE_PROFIT", "STOP_LOSS", "TIME_LIMIT", "TRAILING_STOP"}, closed


# --- journal and alerts ----------------------------------------------------------------------

@pytest.fixture
def slack_listener(monkeypatch):
    """Slack and Supabase secrets in the environment, pointing at a loopback socket that
    listens but never answers: a client trying to post or write would leave a connection in
    its backlog."""
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    url = f"http://127.0.0.1:{server.getsockname()[1]}/"
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-" + "0000-not-a-token")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url + "hook")
    monkeypatch.setenv("SLACK_BASE_URL", url + "api/")
    monkeypatch.setenv("SUPABASE_URL", url)
    monkeypatch.setenv("SUPABASE_SERVICE_KEY", "not-a-key")
    yield server
    server.close()


def test_replay_journals_and_alerts_locally_whatever_the_secrets(channel, slack_listener,
                                                                 tmp_path, caplog):
    """The channel window again, with Slack and Supabase secrets set: the journal holds one
    setup row per setup seen and one trade row per filled executor (closed ones closed), every
    closed trade has one trade-closed alert, all delivered to the log, none to the network."""
    first, _ = channel
    caplog.set_level(logging.INFO, logger="ml_signals.alerts.delivery")
    result = replay("ml_channel", _utc(first.start_s), _utc(first.end_s + HOUR), tmp_path)
    assert result.errors == ()
    files = ReplayFiles.of(tmp_path, "ml_channel")

    backend = SQLiteJournalBackend(files.journal, create_schema=False)
    setups = backend.fetch_rows("strategy_setups", "setup_id")
    trades = backend.fetch_trades()
    backend.close()
    closed = sorted(e.executor_id for e in result.executors if e.is_done and e.filled_quote > 0)
    filled = sorted(e.executor_id for e in result.executors if e.filled_quote > 0)
    assert closed, "no trade closed in this window"
    assert sorted(t.trade_id for t in trades if t.is_closed) == closed
    assert sorted(t.trade_id for t in trades) == filled
    assert sorted(r["setup_id"] for r in setups) == sorted(s.setup_id for s in result.setups)
    assert (result.journal.setups, result.journal.trades, result.journal.closed_trades) == (
        len(setups), len(filled), len(closed))
    assert (result.journal.spool_pending, result.journal.spool_rejected) == (0, 0)

    outbox = Outbox(files.outbox)
    rows = outbox.rows()
    outbox.close()
    closed_alerts = sorted(r.key.removeprefix("trade-closed:") for r in rows
                           if r.kind == "TradeClosed")
    assert closed_alerts == closed  # one per closed trade (keys are unique in the outbox)
    assert {r.status for r in rows} == {"delivered"}
    logged = [r for r in caplog.records if r.name == "ml_signals.alerts.delivery"]
    assert len(logged) == len(rows)  # each alert written to the log once
    assert (result.alerts.destination, result.alerts.delivered, result.alerts.pending,
            result.alerts.failed) == ("log", len(rows), 0, 0)
    with pytest.raises(BlockingIOError):  # nothing tried to reach Slack or Supabase
        slack_listener.accept()


# --- guards ------------------------------------------------------------------------------------

def _created_after(result, t0, t1):
    return [e for e in result.executors if t0 < e.created_s < t1]


def _next_midnight(ts: float) -> float:
    return (int(ts) // 86400 + 1) * 86400


def test_consecutive_losses_block_new_entries_until_next_utc_day(channel, tmp_path):
    _, batch = channel
    # real window, provoked losses: tiny take profit buffer is not needed; a streak of 2 trips
    start = _utc(min(batch[s].timestamp for s in batch
                     if _utc(batch[s].timestamp) >= datetime(2025, 12, 1))) - timedelta(days=1)
    result = replay("ml_channel", start, start + timedelta(days=7), tmp_path,
                    {"risk.consecutive_losses": 2, "risk.kill_switch_min_hit_rate_frac": None})
    closes = sorted((e for e in result.executors if e.is_done and e.filled_quote > 0),
                    key=lambda e: e.closed_s)
    trips, streak = [], 0
    for e in closes:
        streak = streak + 1 if e.net_pnl_quote < 0 else 0
        if streak == 2:
            trips.append(e.closed_s)
            streak = 0
    assert trips, "no losing streak in this window"
    assert any("consecutive_losses" in lock for lock in result.guard_locks)
    for t in trips:
        assert _created_after(result, t, _next_midnight(t)) == []


def test_daily_loss_blocks_new_entries_for_the_rest_of_the_day(dca, tmp_path):
    base, _ = dca
    start = _utc(base.start_s)
    result = replay("ml_dca_grid", start, start + timedelta(days=10), tmp_path,
                    {"risk.daily_loss_stop_frac": 0.0005,  # 2.5 quote of 5000
                     "risk.daily_loss_includes_unrealised": False,
                     "risk.consecutive_losses": None, "risk.kill_switch_min_hit_rate_frac": None,
                     "dca.stop_loss_frac": 0.01})
    by_day = defaultdict(list)
    for e in result.executors:
        if e.is_done and e.filled_quote > 0:
            by_day[int(e.closed_s) // 86400].append(e)
    trips = []
    for closes in by_day.values():
        total = 0.0
        for e in sorted(closes, key=lambda e: e.closed_s):
            total += e.net_pnl_quote
            if total <= -2.5:
                trips.append(e.closed_s)
                break
    assert trips, "the daily loss stop never tripped in this window"
    for t in trips:
        assert _created_after(result, t, _next_midnight(t)) == []


# --- portfolio --------------------------------------------------------------------------------

def test_portfolio_resolves_same_pair_conflicts_by_confidence(frames, tmp_path):
    strategies = ("dca", "swing", "channel")
    batch = batch_setups(frames, "ml_portfolio", strategies)
    by_candle = defaultdict(list)
    for s in batch.values():
        by_candle[(s.pair, s.timestamp)].append(s)
    conflicts = sorted(k for k, v in by_candle.items() if len(v) > 1
                       and _utc(k[1]) >= datetime(2025, 10, 1))
    assert conflicts, "no same-candle conflict in the data"
    start = _utc(conflicts[0][1]).replace(hour=0) - timedelta(days=3)
    result = replay("ml_portfolio", start, start + timedelta(days=5), tmp_path)
    assert_seen_equals_batch(result, batch)
    priority = {name: i for i, name in enumerate(strategies)}
    rounds = defaultdict(list)
    for s in result.setups:
        rounds[(s.pair, s.timestamp)].append(s)
    contested = [r for r in rounds.values() if len(r) > 1]
    assert contested
    for group in contested:
        taken = [s for s in group if s.taken]
        assert len(taken) <= 1
        if taken:
            winner = taken[0]
            for s in group:
                if s is winner:
                    continue
                assert s.skip_guard == "same_coin", s
                if winner.confidence is not None and s.confidence is not None:
                    assert winner.confidence >= s.confidence
                else:  # rules-only: ties broken by the configured priority
                    assert priority[winner.strategy] <= priority[s.strategy]
