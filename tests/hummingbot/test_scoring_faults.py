"""A model that loads but cannot score: a real artifact whose boosters were trained on other
inputs than its manifest lists, run by the DCA script's runtime on real Kraken candles. Each
failure skips the setup, the first of an episode is alerted, and after ``max_scoring_failures``
in a row the strategy takes no new entry (system alert, journal skip reason, status)."""

from __future__ import annotations

import logging

import pytest
from artifact_support import write_artifact
from hb_support import SampleView
from hummingbot.strategy_v2.models.executor_actions import CreateExecutorAction

import hummingbot_scripts.ml_dca_grid as dca_script
from ml_signals.alerts.outbox import Outbox
from ml_signals.decision.events import RuntimeObserver
from ml_signals.features import compute_features
from ml_signals.hummingbot import model_policy, scoring_faults
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend
from ml_signals.scoring.inputs import input_columns
from ml_signals.scoring.scorer import Scorer
from ml_signals.setups import make_detector

HOUR = 3600
PAIRS = ["BTC-USD", "ETH-USD"]


@pytest.fixture(scope="module")
def setup_times(kraken_frames) -> tuple[list[int], tuple[str, ...]]:
    """Candle times with a DCA setup on BTC or ETH (720-candle window before each), and the
    DCA model's input columns."""
    btc = kraken_frames["BTC-USD"]
    times, columns = set(), None
    for pair, frame in kraken_frames.items():
        features = compute_features(frame, None if pair == "BTC-USD" else btc, HOUR)
        for setup in make_detector("dca").detect(pair, frame, features):
            if setup.bar_index >= 720:
                times.add(setup.timestamp)
                columns = input_columns(setup)
    assert columns is not None
    return sorted(times), columns


class Seen(RuntimeObserver):
    def __init__(self) -> None:
        self.skipped: list[tuple[str, str]] = []
        self.placed: list[str] = []

    def setup_skipped(self, evaluation, reason, now_s):
        self.skipped.append((evaluation.setup.setup_id, reason.guard))

    def entry_placed(self, event):
        self.placed.append(event.evaluation.setup.setup_id)


def written(runtime) -> None:
    """Wait until the alert observer's outbox writer thread has stored every submitted alert
    (``submit`` returns before the row is on disk)."""
    senders = [obs.sender for obs in runtime.observers if hasattr(obs, "sender")]
    assert senders, "no alert observer"
    for sender in senders:
        assert sender.outbox.flush_writes(30.0), "alerts not written within 30 s"


def notices(outbox_path) -> list[str]:
    outbox = Outbox(outbox_path)
    keys = [row.key for row in outbox.rows() if row.key.startswith("notice:scoring")]
    outbox.close()
    return keys


def test_mismatched_model_inputs_halt_the_strategy_after_n_failures(tmp_path, kraken_frames,
                                                                    setup_times, caplog):
    times, columns = setup_times
    models = tmp_path / "models"
    write_artifact(models, "dca", columns, train_columns=["drop_frac", "rsi", "volume_ratio"])
    config = dca_script.MlDcaGridConfig(
        trading_pairs=PAIRS, models_dir=str(models), max_scoring_failures=3,
        journal={"enabled": True, "backend": "sqlite",
                 "sqlite_path": str(tmp_path / "journal.sqlite"),
                 "spool_path": str(tmp_path / "spool.sqlite")},
        alerts={"enabled": True, "destination": "log",
                "outbox_path": str(tmp_path / "outbox.sqlite")})
    runtime = config.build_runtime()  # the artifact loads: every file checks out
    engine = runtime.engines["dca"]
    assert model_policy.mode_of(engine.scorer) == "model"
    seen = Seen()
    runtime.observers.append(seen)
    view = SampleView(kraken_frames)
    config.start_runtime(runtime, times[0] + HOUR + 10)
    faults = runtime._faults

    def tick(ts: int) -> list:
        view.now_s = ts + HOUR + 10
        return [a for a in runtime.on_tick(view.now_s, view, [])
                if isinstance(a, CreateExecutorAction)]

    created = []
    k = 0
    with caplog.at_level(logging.WARNING, logger="ml_signals.hummingbot.scoring_faults"):
        while faults.halted("dca") is None:
            created += tick(times[k])
            k += 1
    assert created == [] and seen.placed == []
    assert faults.failures("dca") >= 3
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1  # the episode's first failure; later ones on one line
    assert "expects inputs" in str(tracebacks[0].exc_info[1])
    halted = faults.halted("dca")
    assert halted.guard == scoring_faults.HALT_GUARD and "could not be scored" in halted.reason
    written(runtime)
    keys = notices(tmp_path / "outbox.sqlite")
    assert [k.split(":")[1] for k in keys] == ["scoring-error", "scoring-halt"]
    status = runtime.format_status(view.now_s, [])
    assert "scoring_failures: dca: " in status

    # the model is fixed (a rules-only scorer that takes every setup): setups evaluate again,
    # but the halt holds until a restart, so they are journaled as skipped by it
    engine.scorer = Scorer.rules_only_scorer("dca")
    while faults.failures("dca"):
        assert tick(times[k]) == []
        k += 1
    assert seen.placed == []
    assert seen.skipped[-1][1] == scoring_faults.HALT_GUARD
    # broken again: a new episode, alerted again
    engine.scorer = Scorer.load(models, "dca")
    while not faults.failures("dca"):
        tick(times[k])
        k += 1
    runtime.close()
    assert [k.split(":")[1] for k in notices(tmp_path / "outbox.sqlite")] == [
        "scoring-error", "scoring-halt", "scoring-error"]
    backend = SQLiteJournalBackend(tmp_path / "journal.sqlite", create_schema=False)
    rows = backend.fetch_rows("strategy_setups", "setup_id")
    backend.close()
    assert {r["skip_reason"].split(":")[0] for r in rows} == {scoring_faults.HALT_GUARD}


def test_failures_before_the_limit_only_skip_those_setups(tmp_path, kraken_frames, setup_times):
    times, columns = setup_times
    models = tmp_path / "models"
    write_artifact(models, "dca", columns, train_columns=["a", "b"])
    config = dca_script.MlDcaGridConfig(trading_pairs=PAIRS, models_dir=str(models),
                                        max_scoring_failures=50)
    runtime = config.build_runtime()
    view = SampleView(kraken_frames)
    for ts in times[:4]:
        view.now_s = ts + HOUR + 10
        assert runtime.on_tick(view.now_s, view, []) == []
    assert runtime._faults.failures("dca") >= 4 and runtime._faults.halted("dca") is None
    assert "scoring_failures" not in runtime.format_status(view.now_s, [])
