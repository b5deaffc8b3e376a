"""Model refresh inside Hummingbot's backtest clock on real candles (data/sample/binance).

The DCA script runs unmodified (``fixtures/refresh_scripts/ml_dca_publish.py`` only adds an
observer that points ``models/dca/current`` at another version at a chosen time, as a retrain
would) with its journal (SQLite) and alerts (to the log outbox) on, and with shadows: the
``conservative`` and ``aggressive`` rule variants and a challenger folder. Two real artifacts
trained on the same sample (``conftest.trained``).
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from refresh_support import REPO, models_copy

from ml_signals.alerts.outbox import Outbox
from ml_signals.features import compute_features
from ml_signals.setups import make_detector
from training.data import load_dir
from training.labels.outcomes import label_setups
from training.replay.runner import ReplaySpec, run_replay

PAIRS = ("BTC-USDT", "ETH-USDT", "SOL-USDT")
HOUR = 3600
START = datetime(2025, 3, 3)
DAYS = 14


@pytest.fixture(scope="module")
def sample_sets(repo_root):
    return load_dir(repo_root / "data" / "sample" / "binance", pairs=PAIRS)


@pytest.fixture(scope="module")
def window_setups(sample_sets):
    """DCA detections (default detector) whose candle opens inside the replayed window."""
    btc = sample_sets["BTC-USDT"].frame
    start_s = int(START.replace(tzinfo=UTC).timestamp())
    end_s = start_s + DAYS * 86400
    found = []
    for pair, cs in sample_sets.items():
        features = compute_features(cs.frame, None if pair == "BTC-USDT" else btc, HOUR)
        found += [s for s in make_detector("dca").detect(pair, cs.frame, features)
                  if start_s - HOUR <= s.timestamp < end_s]
    assert len(found) >= 6, "window without enough DCA setups"
    return sorted(found, key=lambda s: s.timestamp)


def _replay(out_dir: Path, models: Path, publish_version: str, publish_at_s: float,
            shadow_models: Path | None = None, inspect=None):
    overrides = {"trading_pairs": list(PAIRS), "btc_pair": "BTC-USDT",
                 "publish_version": publish_version, "publish_at_s": publish_at_s,
                 "shadow_variants": ["conservative", "aggressive"],
                 "max_model_age": None,  # the sample's candles are older than the models
                 "risk.max_exposure_quote": 2500}  # conf_ml_dca_grid.yml's: five grids
    if shadow_models is not None:
        overrides["shadow_models_dir"] = str(shadow_models)
    spec = ReplaySpec(script="ml_dca_publish", scripts_package="refresh_scripts",
                      pairs=PAIRS, start=START, end=START + timedelta(days=DAYS),
                      overrides=overrides, out_dir=out_dir, models_dir=str(models),
                      data_dir=REPO / "data" / "sample" / "binance")
    return spec, run_replay(spec, log_level=logging.ERROR, inspect=inspect)


def _predictions(journal: Path) -> list[dict]:
    with sqlite3.connect(journal) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM ml_predictions ORDER BY scored_s")]


@pytest.fixture(scope="module")
def switched(trained, window_setups, tmp_path_factory):
    """Champion A; B published just before the middle setup's decision; challenger = B."""
    base = tmp_path_factory.mktemp("switch")
    models = models_copy(trained, base / "models", current=trained.a)
    challenger = models_copy(trained, base / "challenger", current=trained.b)
    middle = window_setups[len(window_setups) // 2]
    publish_at = middle.timestamp + HOUR  # the candle closes; decided 60 s later
    status = {}

    def inspect(strategy):
        status["text"] = strategy.runtime.format_status(strategy.current_timestamp, [])
        status["published_s"] = strategy.publisher.published_s

    spec, result = _replay(base / "out", models, trained.b, publish_at, challenger, inspect)
    return spec, result, publish_at, status


def test_a_new_current_switches_the_model_at_the_next_candle(switched, trained):
    spec, result, publish_at, status = switched
    assert result.errors == ()
    assert status["published_s"] is not None and status["published_s"] >= publish_at
    champion = [p for p in _predictions(spec.files().journal)
                if not p["model_version"].startswith("shadow:")]
    before = {p["model_version"] for p in champion if p["scored_s"] < status["published_s"]}
    after = {p["model_version"] for p in champion if p["scored_s"] >= status["published_s"]}
    assert before == {trained.a} and after == {trained.b}
    first_after = min(p["scored_s"] for p in champion if p["scored_s"] >= status["published_s"])
    assert first_after - status["published_s"] < HOUR  # the next candle, not a later one
    assert "model changed " + trained.a + " -> " + trained.b in status["text"]


def test_the_change_is_alerted_with_both_gate_verdicts(switched, trained):
    spec, result, _, _ = switched
    assert result.alerts.by_kind.get("ModelLoaded") == 2  # at start, then the change
    outbox = Outbox(spec.files().outbox)
    try:
        texts = [r.text for r in outbox.rows() if r.kind == "ModelLoaded"]
    finally:
        outbox.close()
    changed = [t for t in texts if "changed" in t]
    assert len(changed) == 1
    text = changed[0]
    assert f"dca model changed: {trained.a} → {trained.b}" in text
    gate_a = trained.manifest(trained.a)["gate"]["verdict"]
    gate_b = trained.manifest(trained.b)["gate"]["verdict"]
    assert f"Gate: {gate_b}" in text and f"Previous gate: {gate_a}" in text


def test_shadows_score_every_setup_and_never_trade(switched, trained):
    spec, result, _, _ = switched
    rows = _predictions(spec.files().journal)
    by_setup: dict[str, dict[str, dict]] = defaultdict(dict)
    for p in rows:
        name = p["model_version"].split(":")[1] if p["model_version"].startswith(
            "shadow:") else "champion"
        by_setup[p["setup_id"]][name] = p
    assert by_setup and all(set(v) == {"champion", "challenger", "conservative", "aggressive"}
                            for v in by_setup.values())
    for preds in by_setup.values():
        champ = preds["champion"]
        assert preds["challenger"]["model_version"] == f"shadow:challenger:{trained.b}"
        for variant in ("conservative", "aggressive"):
            assert preds[variant]["model_version"] == f"shadow:{variant}:{champ['model_version']}"
            assert preds[variant]["confidence"] == champ["confidence"]  # same model, other cut
        # a stricter share takes a subset of what the champion takes, a looser one a superset
        assert preds["conservative"]["take"] <= champ["take"] <= preds["aggressive"]["take"]
    # only the champion trades: every entry is a setup the champion's score took
    entered = {s.setup_id for s in result.setups if s.taken}
    assert entered and entered <= {sid for sid, p in by_setup.items() if p["champion"]["take"]}
    assert {e.level_id for e in result.executors} == entered
    assert result.journal.spool_rejected == 0 and result.journal.spool_pending == 0


def test_a_corrupt_current_is_refused_and_the_old_model_keeps_scoring(trained, window_setups,
                                                                      tmp_path):
    models = models_copy(trained, tmp_path / "models", current=trained.a)
    bad = models / "dca" / "dca-corrupt"
    shutil.copytree(models / "dca" / trained.b, bad)
    (bad / "calibration.json").write_text("{}")  # malformed and failing its hash
    publish_at = window_setups[len(window_setups) // 2].timestamp + HOUR
    spec, result = _replay(tmp_path / "out", models, "dca-corrupt", publish_at)
    champion = [p for p in _predictions(spec.files().journal)
                if not p["model_version"].startswith("shadow:")]
    assert champion and {p["model_version"] for p in champion} == {trained.a}
    assert any(p["scored_s"] >= publish_at for p in champion)
    assert len(result.errors) == 1 and "refused" in result.errors[0]
    assert "calibration.json fails its hash check" in result.errors[0]
    outbox = Outbox(spec.files().outbox)
    try:
        notices = [r.text for r in outbox.rows() if r.kind == "SystemNotice"]
    finally:
        outbox.close()
    assert len(notices) == 1 and f"new model refused, keeping {trained.a}" in notices[0]


def test_shadow_report_numbers_rebuilt_independently(switched, sample_sets, tmp_path):
    spec, _, _, _ = switched
    out = tmp_path / "report.json"
    done = subprocess.run(  # noqa: S603 - this interpreter, this repository's CLI
        [sys.executable, "-m", "training", "shadow-report", "--journal",
         str(spec.files().journal), "--data", "data/sample/binance", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    report = {(r["strategy"], r["shadow"]): r for r in json.loads(out.read_text())}
    assert set(report) == {("dca", "challenger"), ("dca", "conservative"), ("dca", "aggressive")}

    # independently: the journal's rows with plain SQL, outcomes from closed trades, else the
    # label kernel on the setups the detector finds on the candles
    with sqlite3.connect(spec.files().journal) as conn:
        preds = conn.execute("SELECT setup_id, model_version, take FROM ml_predictions").fetchall()
        trades = dict(conn.execute("SELECT setup_id, pnl_frac FROM trades "
                                   "WHERE closed_s IS NOT NULL").fetchall())
    btc = sample_sets["BTC-USDT"].frame
    replayed = {}
    for pair, cs in sample_sets.items():
        features = compute_features(cs.frame, None if pair == "BTC-USDT" else btc, HOUR)
        setups = make_detector("dca").detect(pair, cs.frame, features)
        labels = label_setups(setups, cs.frame, HOUR)
        replayed.update({sid: r for sid, r in zip(labels["setup_id"], labels["net_return_frac"],
                                                  strict=True) if np.isfinite(r)})
    champion = {s: bool(t) for s, v, t in preds if not v.startswith("shadow:")}
    for (_, name), row in report.items():
        shadow = {s: bool(t) for s, v, t in preds if v.startswith(f"shadow:{name}:")}
        both = [s for s in shadow if s in champion]
        outcome = {s: trades[s] if s in trades else replayed[s] for s in both
                   if s in trades or s in replayed}
        assert row["both_scored"] == len(both) > 0
        assert sum(champion[s] for s in both) > 0 and row["outcomes"]["journal"] > 0
        assert row["agree"] == sum(champion[s] == shadow[s] for s in both)
        assert row["outcomes"] == {"journal": sum(s in trades for s in both),
                                   "replay": sum(s not in trades and s in replayed for s in both),
                                   "none": sum(s not in outcome for s in both)}
        for side, takes in (("champion", champion), ("challenger", shadow)):
            taken = [s for s in both if takes[s]]
            returns = [outcome[s] for s in taken if s in outcome]
            stats = row[side]
            assert stats["taken"] == len(taken) and stats["with_outcome"] == len(returns)
            if returns:
                assert stats["mean_return_frac"] == pytest.approx(sum(returns) / len(returns))
                assert stats["sum_return_frac"] == pytest.approx(sum(returns))
                assert stats["win_rate"] == pytest.approx(
                    sum(r > 0 for r in returns) / len(returns))
            else:
                assert stats["mean_return_frac"] is None
    assert "champion" in done.stdout and "conservative" in done.stdout
