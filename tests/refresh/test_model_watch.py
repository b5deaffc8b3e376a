"""Hot reload, refusal and expiry of models on real artifacts (trained on data/sample/binance).

The engines come from the DCA script's own config (``MlDcaGridConfig.engines``); the watcher
is the one the script builds (``model_refresh``); setups are real DCA detections on the sample.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from refresh_support import models_copy

import hummingbot_scripts.ml_dca_grid as dca_script
from ml_signals.features import compute_features
from ml_signals.hummingbot.model_watch import (
    ExpiredScorer,
    ModelChange,
    ModelExpired,
    ModelRefused,
    ModelWatcher,
    parse_duration_s,
)
from ml_signals.scoring.artifact import publish
from ml_signals.setups import make_detector
from training.data import load_dir

HOUR = 3600


def dca_config(models: Path, **overrides) -> dca_script.MlDcaGridConfig:
    return dca_script.MlDcaGridConfig(**{"trading_pairs": ["BTC-USD", "ETH-USD"],
                                         "models_dir": str(models), **overrides})


@pytest.fixture
def setup_rows(repo_root):
    """A few real DCA setups and their feature rows (ETH on Binance, BTC as reference)."""
    sets = load_dir(repo_root / "data" / "sample" / "binance", pairs=("BTC-USDT", "ETH-USDT"))
    btc, eth = sets["BTC-USDT"].frame, sets["ETH-USDT"].frame
    features = compute_features(eth, btc, HOUR)
    setups = make_detector("dca").detect("ETH-USDT", eth, features)[-20:]
    assert setups
    return [(s, features.iloc[s.bar_index]) for s in setups]


def test_a_new_current_is_loaded_verified_and_swapped(trained, tmp_path):
    models = models_copy(trained, tmp_path / "models", current=trained.a)
    config = dca_config(models)
    engines = {e.strategy: e for e in config.engines()}
    refresh = config.model_refresh()
    watcher = refresh.watcher
    assert refresh.shadows is None and isinstance(watcher, ModelWatcher)
    assert engines["dca"].scorer.model_version == trained.a
    assert watcher.reload(engines, 1.0, force=False) == []  # first look: what is loaded
    assert watcher.reload(engines, 2.0, force=False) == []  # pointer unchanged
    publish(models, "dca", trained.b)
    events = watcher.reload(engines, 3.0, force=False)
    assert len(events) == 1 and isinstance(events[0], ModelChange)
    change = events[0]
    assert (change.previous_version, change.version) == (trained.a, trained.b)
    assert change.previous_gate == trained.manifest(trained.a)["gate"]["verdict"]
    assert change.gate == trained.manifest(trained.b)["gate"]["verdict"]
    assert change.artifact_path == str(models / "dca" / trained.b)
    assert engines["dca"].scorer.model_version == trained.b
    # the same pointer published again (a new file, same version): nothing to switch
    publish(models, "dca", trained.b)
    assert watcher.reload(engines, 4.0, force=False) == []


def _corrupt_copy(models: Path, version: str, name: str, file: str) -> str:
    shutil.copytree(models / "dca" / version, models / "dca" / name)
    target = models / "dca" / name / file
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit: the sha256 in the manifest no longer matches
    target.write_bytes(bytes(data))
    return name


@pytest.mark.parametrize("file", ["classifier.ubj", "decision_rule.json"])
def test_a_corrupt_artifact_is_refused_and_the_old_model_keeps_scoring(trained, tmp_path,
                                                                       setup_rows, file):
    models = models_copy(trained, tmp_path / "models", current=trained.a)
    engines = {e.strategy: e for e in dca_config(models).engines()}
    watcher = ModelWatcher(models)
    watcher.reload(engines, 1.0, force=False)
    before = [engines["dca"].scorer.score(s, f) for s, f in setup_rows]
    bad = _corrupt_copy(models, trained.b, "dca-corrupt", file)
    publish(models, "dca", bad)
    events = watcher.reload(engines, 2.0, force=False)
    assert len(events) == 1 and isinstance(events[0], ModelRefused)
    assert events[0].pointer_version == bad and events[0].kept_version == trained.a
    assert "fails its hash check" in events[0].reason and file in events[0].reason
    assert engines["dca"].scorer.model_version == trained.a
    assert [engines["dca"].scorer.score(s, f) for s, f in setup_rows] == before
    assert watcher.reload(engines, 3.0, force=False) == []  # not retried every candle
    retry = watcher.reload(engines, 4.0, force=True)  # the control command retries
    assert len(retry) == 1 and isinstance(retry[0], ModelRefused)
    publish(models, "dca", trained.b)
    fixed = watcher.reload(engines, 5.0, force=False)
    assert [type(e) for e in fixed] == [ModelChange]
    assert engines["dca"].scorer.model_version == trained.b


def test_a_pointer_to_a_missing_folder_or_a_removed_pointer_keeps_the_model(trained, tmp_path):
    models = models_copy(trained, tmp_path / "models", current=trained.a)
    engines = {e.strategy: e for e in dca_config(models).engines()}
    watcher = ModelWatcher(models)
    watcher.reload(engines, 1.0, force=False)
    (models / "dca" / "current").write_text("dca-20990101T000000Z\n")
    events = watcher.reload(engines, 2.0, force=False)
    assert isinstance(events[0], ModelRefused) and "not a folder" in events[0].reason
    (models / "dca" / "current").unlink()
    events = watcher.reload(engines, 3.0, force=False)
    assert isinstance(events[0], ModelRefused) and "removed" in events[0].reason
    assert engines["dca"].scorer.model_version == trained.a


def test_a_model_published_after_a_start_without_one_is_picked_up(trained, tmp_path):
    """Started with no model (``no_model_policy: skip``: no entries), the strategy takes the
    model published later, at the next check, and then decides with it."""
    models = tmp_path / "models"
    models.mkdir()
    engines = {e.strategy: e for e in dca_config(models).engines()}
    assert engines["dca"].scorer.rules_only
    watcher = ModelWatcher(models)
    assert watcher.reload(engines, 1.0, force=False) == []
    shutil.copytree(trained.root / "dca" / trained.a, models / "dca" / trained.a)
    publish(models, "dca", trained.a)
    events = watcher.reload(engines, 2.0, force=False)
    assert isinstance(events[0], ModelChange) and events[0].previous_version == "no-model"
    assert events[0].previous_gate is None
    assert engines["dca"].scorer.model_version == trained.a
    assert not engines["dca"].scorer.rules_only  # the skip engine now scores with the model


@pytest.mark.parametrize("action", ["skip", "rules_only"])
def test_an_expired_model_alerts_once_then_follows_the_action(trained, tmp_path, setup_rows,
                                                              action):
    models = models_copy(trained, tmp_path / "models", current=trained.a)
    config = dca_config(models, max_model_age="2d", max_model_age_action=action)
    assert config.max_model_age == 2 * 86400
    engines = {e.strategy: e for e in config.engines()}
    watcher = config.model_refresh().watcher
    assert watcher is not None
    model = engines["dca"].scorer
    created = trained.manifest(trained.a)["created_at_s"]
    assert watcher.reload(engines, created + 2 * 86400, force=False) == []  # at the limit
    events = watcher.reload(engines, created + 2 * 86400 + 1, force=False)
    assert len(events) == 1 and isinstance(events[0], ModelExpired)
    assert events[0].action == action and events[0].age_s == 2 * 86400 + 1
    assert watcher.reload(engines, created + 3 * 86400, force=False) == []  # once
    expired = engines["dca"].scorer
    for setup, row in setup_rows:
        score = expired.score(setup, row)
        if action == "skip":
            assert isinstance(expired, ExpiredScorer)
            own = model.score(setup, row)
            assert not score.take and score.confidence == own.confidence
            assert score.model_version == trained.a and "expired" in score.rule
        else:
            assert expired.rules_only and score.take and score.model_version == "rules-only"
    # a newer model ends the expiry (its own age counts from its own training time)
    publish(models, "dca", trained.b)
    newer = trained.manifest(trained.b)["created_at_s"]
    events = watcher.reload(engines, newer + 60, force=False)
    assert [type(e) for e in events] == [ModelChange]
    assert engines["dca"].scorer.model_version == trained.b
    assert not isinstance(engines["dca"].scorer, ExpiredScorer)
    assert not engines["dca"].scorer.rules_only


@pytest.mark.parametrize(("value", "seconds"), [
    (1209600, 1209600.0), ("14d", 14 * 86400.0), ("36h", 36 * 3600.0), ("2w", 14 * 86400.0),
    ("90m", 5400.0), ("45s", 45.0), ("600", 600.0), (None, None), ("off", None)])
def test_durations(value, seconds):
    assert parse_duration_s(value) == seconds


@pytest.mark.parametrize("value", ["14 days", "abc", "-3d", 0, "d"])
def test_bad_durations_name_the_setting(value, tmp_path):
    with pytest.raises(ValueError, match="max_model_age"):
        dca_config(tmp_path, max_model_age=value)


def test_model_events_become_system_alerts(trained, tmp_path):
    """The alerts observer turns each model event into one ``#system-alerts`` message in the
    outbox (delivery thread not started: the rows wait there, as during a Slack outage)."""
    from ml_signals.alerts import AlertSender, SlackConfig
    from ml_signals.alerts.outbox import Outbox
    from ml_signals.hummingbot.alerts_observer import AlertsObserver

    outbox_path = tmp_path / "outbox.sqlite"
    sender = AlertSender(SlackConfig(outbox_path=outbox_path, min_interval_per_channel_s=0.0))
    observer = AlertsObserver(sender, "models")
    gate_a = trained.manifest(trained.a)["gate"]["verdict"]
    events = [
        ModelChange("dca", trained.a, trained.b, gate_a, "pass", f"models/dca/{trained.b}", 10.0),
        ModelRefused("dca", "dca-x", trained.b, "models/dca/dca-x/hold.ubj fails its hash check",
                     20.0),
        ModelExpired("dca", trained.b, 15 * 86400.0, 14 * 86400.0, "skip", 30.0),
        ModelExpired("dca", trained.b, 16 * 86400.0, 14 * 86400.0, "skip", 40.0),  # same model
    ]
    for event in events:
        observer.model_event(event)
    sender.close()
    outbox = Outbox(outbox_path)
    try:
        rows = outbox.rows()
    finally:
        outbox.close()
    assert [(r.kind, r.channel) for r in rows] == [("ModelLoaded", "#system-alerts"),
                                                   ("SystemNotice", "#system-alerts"),
                                                   ("SystemNotice", "#system-alerts")]
    assert f"dca model changed: {trained.a} → {trained.b}" in rows[0].text
    assert "Gate: pass" in rows[0].text and f"Previous gate: {gate_a}" in rows[0].text
    assert f"new model refused, keeping {trained.b}" in rows[1].text
    assert "hold.ubj fails its hash check" in rows[1].text
    assert f"model {trained.b} expired" in rows[2].text
    assert "15.0 days old, max 14.0): no new entries" in rows[2].text
