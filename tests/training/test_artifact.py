"""Artifact round trip on real data: train -> save -> load -> identical predictions; a tampered
file, a reordered feature list or other feature code is refused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ml_signals.scoring import scorer as scorer_module
from ml_signals.scoring.artifact import ArtifactError, current_version_dir
from ml_signals.scoring.config import DEFAULT_SCORING
from ml_signals.scoring.scorer import Scorer
from training.artifact_writer import write_artifact
from training.dataset import build_dataset, compute_pair_features, label_config_for
from training.labels import FeeSchedule
from training.provenance import data_provenance
from training.train import train_strategy


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
    folder = write_artifact(models, ds, result, scoring, prov, now_s=1_760_000_000)
    return models, folder, ds, result


def test_round_trip_identical_predictions(trained):
    models, folder, ds, result = trained
    assert current_version_dir(models, "dca") == folder
    scorer = Scorer.load(models, "dca")
    assert scorer.model_version == folder.name and not scorer.rules_only
    x = ds.inputs()
    loaded = scorer.raw_predictions(x)
    cols = list(ds.input_columns)
    from training.models import predict

    for role, booster in result.models.items():
        np.testing.assert_array_equal(loaded[role], predict(booster, x, cols).astype("float32"))
    np.testing.assert_allclose(loaded["confidence"], result.calibration.apply(loaded["classifier"]))


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
    assert score.take == (score.confidence >= cfg.confidence_threshold)


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
                                      "hold.ubj", "calibration.json"}
    assert "BTC_USDT-1h.feather" in manifest["data"]["file_sha256"]
    assert manifest["labels"]["fees"]["taker_frac"] == 0.0026
    assert manifest["walk_forward"]["quarantine_start_s"] == ds.data_end_s - 30 * 86400
    assert "xgboost" in manifest["libraries"]
