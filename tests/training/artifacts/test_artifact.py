"""Artifact round trip on real data: train -> save -> load -> identical predictions; a tampered,
unlisted or malformed file, a reordered feature list, other feature code or mismatched model
inputs are refused at load, naming the file and the field."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ml_signals.scoring import scorer as scorer_module
from ml_signals.scoring.artifact import ArtifactError, current_version_dir
from ml_signals.scoring.config import DEFAULT_SCORING
from ml_signals.scoring.scorer import Scorer
from training.artifacts.provenance import data_provenance
from training.artifacts.writer import write_artifact
from training.labels.dataset import build_dataset, compute_pair_features, label_config_for
from training.labels.outcomes import FeeSchedule
from training.models.train import train_strategy


@pytest.fixture(scope="module")
def trained(sample_binance, tmp_path_factory):
    """DCA trained on the shipped sample and written to a temporary models folder."""
    models = tmp_path_factory.mktemp("models")
    scoring = DEFAULT_SCORING["dca"]
    label_config = label_config_for(scoring)
    features = compute_pair_features(sample_binance, "BTC-USDT")
    ds = build_dataset("dca", features, label_config=label_config)
    result = train_strategy(ds, scoring, n_folds=3)
    prov = data_provenance(sample_binance, ds, FeeSchedule(), label_config)
    folder, published = write_artifact(models, ds, result, scoring, prov, now_s=1_760_000_000,
                                       publish_mode="always")
    assert published
    return models, folder, ds, result


def test_round_trip_identical_predictions(trained):
    models, folder, ds, result = trained
    assert current_version_dir(models, "dca") == folder
    scorer = Scorer.load(models, "dca")
    assert scorer.model_version == folder.name and not scorer.rules_only
    x = ds.inputs()
    loaded = scorer.raw_predictions(x)
    cols = list(ds.input_columns)
    from training.models.boosters import predict

    for role, booster in result.models.items():
        np.testing.assert_array_equal(loaded[role], predict(booster, x, cols))
    np.testing.assert_allclose(loaded["rank"], result.rule.rank(loaded["classifier"]))
    np.testing.assert_allclose(loaded["confidence"], result.calibration.apply(loaded["rank"]))


def test_batch_scoring_makes_the_live_decision(trained):
    """predict_frame (evaluate, backtests) and score (live) agree row for row."""
    models, _, ds, _ = trained
    scorer = Scorer.load(models, "dca")
    frame = scorer.predict_frame(ds.frame)
    assert list(frame.index) == list(ds.frame.index)
    for i in range(0, len(ds.setups), max(1, len(ds.setups) // 25)):
        score = scorer.score(ds.setups[i], ds.frame.iloc[i])
        assert score.take == bool(frame["take"].iat[i])
        assert score.confidence == pytest.approx(frame["confidence"].iat[i])
        assert score.strength == pytest.approx(frame["rank"].iat[i])
    assert 0 < frame["take"].mean() < 1  # the rule acts on real setups


def test_score_of_a_real_setup_is_clipped_to_bounds(trained):
    models, _, ds, _ = trained
    scorer = Scorer.load(models, "dca")
    cfg = DEFAULT_SCORING["dca"]
    setup = ds.setups[-1]
    row = ds.frame.iloc[-1][list(ds.input_columns)]
    score = scorer.score(setup, row)
    assert 0.0 <= score.confidence <= 1.0
    assert cfg.take_profit_min_frac <= score.take_profit_frac <= cfg.take_profit_max_frac
    assert cfg.stop_loss_min_frac <= score.stop_loss_frac <= cfg.stop_loss_max_frac
    assert 0.5 <= score.size_multiplier <= 1.5
    assert cfg.hold_min_s <= score.expected_hold_s <= cfg.hold_max_s
    assert score.take == (score.strength >= score.cut)
    assert score.cut == pytest.approx(scorer.rule.min_rank)


def test_configured_threshold_overrides_the_rule_with_a_warning(trained, caplog):
    models, _, ds, _ = trained
    cfg = DEFAULT_SCORING["dca"].model_copy(update={"confidence_threshold": 0.0})
    with caplog.at_level("WARNING"):
        scorer = Scorer.load(models, "dca", cfg)
    assert "overrides the artifact's rule" in caplog.text
    score = scorer.score(ds.setups[0], ds.frame.iloc[0])
    assert score.take and score.cut == 0.0 and score.strength == score.confidence


def _copy(folder, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(folder.parent.parent, models)
    return models, models / "dca" / folder.name


def test_tampered_model_file_is_refused(trained, tmp_path):
    _, folder, _, _ = trained
    models, copy = _copy(folder, tmp_path)
    data = bytearray((copy / "classifier.ubj").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "classifier.ubj").write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="classifier.ubj fails its hash check"):
        Scorer.load(models, "dca")


def test_missing_file_is_refused(trained, tmp_path):
    _, folder, _, _ = trained
    models, copy = _copy(folder, tmp_path)
    (copy / "calibration.json").unlink()
    with pytest.raises(ArtifactError, match="missing"):
        Scorer.load(models, "dca")


def test_rewritten_calibration_is_refused(trained, tmp_path):
    """A calibration edited to say 1.0 fails its hash; dropped from the manifest's list it is
    refused as unlisted."""
    _, folder, _, _ = trained
    models, copy = _copy(folder, tmp_path)
    (copy / "calibration.json").write_text(json.dumps({"method": "platt", "a": 0.0, "b": 50.0}))
    with pytest.raises(ArtifactError, match="calibration.json fails its hash check"):
        Scorer.load(models, "dca")
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["files"]["calibration.json"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="does not list calibration.json"):
        Scorer.load(models, "dca")


def _rehash(copy, name, text):
    from ml_signals.scoring.artifact import sha256_file

    (copy / name).write_text(text)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"][name] = sha256_file(copy / name)
    (copy / "manifest.json").write_text(json.dumps(manifest))


def test_malformed_calibration_and_rule_are_refused_naming_the_file(trained, tmp_path):
    _, folder, _, _ = trained
    models, copy = _copy(folder, tmp_path)
    _rehash(copy, "calibration.json", json.dumps({"method": "platt", "a": -3.0, "b": 0.0}))
    with pytest.raises(ArtifactError, match=r"calibration.json: .*slope must be >= 0"):
        Scorer.load(models, "dca")
    _rehash(copy, "calibration.json",
            json.dumps({"method": "isotonic", "x": [0.0, 0.5, 1.0], "y": [0.2, 0.9, 0.4]}))
    with pytest.raises(ArtifactError, match=r"calibration.json: .*non-decreasing"):
        Scorer.load(models, "dca")
    _rehash(copy, "calibration.json", json.dumps({"method": "platt", "a": 1.0, "b": 0.0}))
    _rehash(copy, "decision_rule.json", json.dumps({"kind": "score_rank", "keep_frac": 0.0,
                                                    "reference": [0.1, 0.2],
                                                    "levels": [0.0, 1.0]}))
    with pytest.raises(ArtifactError, match=r"decision_rule.json: keep_frac"):
        Scorer.load(models, "dca")


def test_model_with_other_inputs_is_refused_at_load(trained, tmp_path):
    """A model whose inputs differ from the manifest's is refused when loaded, not with an
    XGBoost error on every candle."""
    _, folder, ds, _ = trained
    models, copy = _copy(folder, tmp_path)
    import xgboost as xgb

    from ml_signals.scoring.artifact import sha256_file

    cols = list(ds.input_columns)[:-1]
    booster = xgb.train({"objective": "binary:logistic"},
                        xgb.DMatrix(ds.inputs()[:, :-1], label=ds.frame["win"].to_numpy(float),
                                    feature_names=cols), 2)
    booster.save_model(str(copy / "hold.ubj"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["hold.ubj"] = sha256_file(copy / "hold.ubj")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"hold.ubj: model inputs .* differ from the "
                                            r"manifest's field 'input_columns'"):
        Scorer.load(models, "dca")


def test_reordered_feature_list_in_manifest_is_refused(trained, tmp_path):
    _, folder, _, _ = trained
    models, copy = _copy(folder, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["feature_columns"] = list(reversed(manifest["feature_columns"]))
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="feature list differs"):
        Scorer.load(models, "dca")


def test_code_with_other_feature_order_refuses_artifact(trained, monkeypatch):
    models, _, _, _ = trained
    monkeypatch.setattr(
        scorer_module, "FEATURE_COLUMNS", tuple(reversed(scorer_module.FEATURE_COLUMNS))
    )
    with pytest.raises(ArtifactError, match="feature list differs"):
        Scorer.load(models, "dca")


def test_other_feature_code_refuses_artifact(trained, monkeypatch):
    models, _, _, _ = trained
    monkeypatch.setattr(scorer_module, "feature_code_hash", lambda: "0" * 64)
    with pytest.raises(ArtifactError, match="other code"):
        Scorer.load(models, "dca")


def test_no_artifact_runs_rules_only(tmp_path, trained):
    _, _, ds, _ = trained
    scorer = Scorer.load(tmp_path, "dca")
    assert scorer.rules_only and scorer.model_version == "rules-only"
    setup = ds.setups[0]
    score = scorer.score(setup, ds.frame.iloc[0])
    assert score.confidence is None and score.take
    assert score.take_profit_frac == setup.exits.take_profit_frac
    assert score.stop_loss_frac == setup.exits.stop_loss_frac


def test_manifest_records_provenance(trained):
    _, folder, ds, _ = trained
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["input_columns"] == list(ds.input_columns)
    assert set(manifest["files"]) == {"classifier.ubj", "take_profit.ubj", "stop_loss.ubj",
                                      "hold.ubj", "calibration.json", "decision_rule.json"}
    assert manifest["gate"]["verdict"] in ("pass", "fail") and manifest["gate"]["reasons"]
    assert manifest["gate"]["publish_mode"] == "always" and manifest["gate"]["published"]
    assert 0 < manifest["decision_rule"]["keep_frac"] < 1
    assert manifest["train_label_end_s"] < manifest["walk_forward"]["quarantine_start_s"]
    assert "BTC_USDT-1h.feather" in manifest["data"]["file_sha256"]
    assert manifest["labels"]["fees"]["taker_frac"] == 0.0026
    assert manifest["walk_forward"]["quarantine_start_s"] == ds.data_end_s - 30 * 86400
    assert "xgboost" in manifest["libraries"]
