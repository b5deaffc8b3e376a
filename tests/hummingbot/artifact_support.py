"""Real model artifacts for the script tests, written by hand as ``ml_signals/scoring/artifact.py``
lays them out: four tiny XGBoost boosters (UBJ) trained here on a few rows, a Platt
calibration, a decision rule from the classifier's own scores, and a manifest with the sha256
of every file.

``train_columns`` builds an artifact for other model inputs than the strategy's setups give
(as after a detector change): it loads (every file checks out against its manifest) and each
setup then fails to score with an ``ArtifactError`` naming both input lists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xgboost as xgb

from ml_signals.features import FEATURE_COLUMNS, feature_code_hash
from ml_signals.scoring.artifact import (
    CALIBRATION,
    DECISION_RULE,
    MANIFEST,
    MODEL_FILES,
    SCHEMA_VERSION,
    publish,
    sha256_file,
)
from ml_signals.scoring.rule import DecisionRule

KRAKEN_FEES = {"maker_frac": 0.0016, "taker_frac": 0.0026}
"""``training.labels.outcomes.FeeSchedule()`` as the manifest stores it."""


def write_artifact(models_dir: Path, strategy: str, input_columns: Sequence[str], *,
                   fees: dict[str, float] | None = None,
                   train_columns: Sequence[str] | None = None,
                   version: str | None = None, created_at_s: int = 1_700_000_000) -> Path:
    """Train four boosters on ``train_columns`` (default: ``input_columns``), write the artifact
    under ``models_dir/strategy/<version>`` and publish it; returns the version folder."""
    columns = list(train_columns if train_columns is not None else input_columns)
    version = version or f"{strategy}-test"
    folder = models_dir / strategy / version
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(64, len(columns)))
    targets = {"classifier": (x[:, 0] > 0).astype(float), "take_profit": 0.05 + 0.01 * x[:, 0],
               "stop_loss": 0.06 + 0.005 * x[:, 0], "hold": 86_400 + 3_600 * x[:, 0]}
    for role, name in MODEL_FILES.items():
        objective = "binary:logistic" if role == "classifier" else "reg:squarederror"
        matrix = xgb.DMatrix(x, label=targets[role], feature_names=columns)
        booster = xgb.train({"objective": objective, "max_depth": 2, "nthread": 1}, matrix,
                            num_boost_round=3)
        booster.save_model(str(folder / name))
        if role == "classifier":
            rule = DecisionRule.from_scores(booster.predict(matrix), keep_frac=0.5)
    (folder / CALIBRATION).write_text(json.dumps(
        {"method": "platt", "a": 2.0, "b": -1.0}), encoding="utf-8")
    (folder / DECISION_RULE).write_text(json.dumps(rule.to_json()), encoding="utf-8")
    files = {name: sha256_file(folder / name)
             for name in [*MODEL_FILES.values(), CALIBRATION, DECISION_RULE]}
    manifest = {
        "schema_version": SCHEMA_VERSION, "strategy": strategy, "version": version,
        "created_at_s": created_at_s, "feature_columns": list(FEATURE_COLUMNS),
        "feature_code_hash": feature_code_hash(), "input_columns": columns,
        "labels": {"fees": dict(fees if fees is not None else KRAKEN_FEES)}, "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    publish(models_dir, strategy, version)
    return folder
