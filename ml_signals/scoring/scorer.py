"""Turn a setup and its feature row into a :class:`Score`, with or without a trained artifact.

No Hummingbot import: the live scripts, the replay and the backtester all call this.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from ml_signals.exits import ExitRules
from ml_signals.features import FEATURE_COLUMNS, feature_code_hash
from ml_signals.scoring.artifact import (
    CALIBRATION,
    MODEL_FILES,
    ArtifactError,
    current_version_dir,
    read_manifest,
)
from ml_signals.scoring.calibration import IsotonicCalibration
from ml_signals.scoring.config import DEFAULT_SCORING, ScoringConfig
from ml_signals.scoring.inputs import input_columns, input_row
from ml_signals.scoring.score import Score
from ml_signals.setups.base import Setup

log = logging.getLogger(__name__)

RULES_ONLY = "rules-only"


class Scorer:
    """Scores setups of one strategy.

    Build with :meth:`load` (artifact if published, else rules-only) or :meth:`rules_only`.
    A rules-only scorer takes every setup with its detector's exits and size multiplier 1.
    """

    def __init__(
        self,
        strategy: str,
        config: ScoringConfig,
        models: dict[str, xgb.Booster] | None = None,
        calibration: IsotonicCalibration | None = None,
        manifest: dict[str, Any] | None = None,
    ) -> None:
        self.strategy = strategy
        self.config = config
        self._models = models or {}
        self._calibration = calibration
        self.manifest = manifest or {}
        self._columns: tuple[str, ...] = tuple(self.manifest.get("input_columns", ()))

    @property
    def model_version(self) -> str:
        """Artifact version, or ``"rules-only"``."""
        return str(self.manifest.get("version", RULES_ONLY))

    @property
    def trained_at_s(self) -> int | None:
        """UTC seconds when the artifact was written, ``None`` rules-only."""
        value = self.manifest.get("created_at_s")
        return int(value) if value is not None else None

    @property
    def rules_only(self) -> bool:
        """True when no model is loaded."""
        return not self._models

    @classmethod
    def rules_only_scorer(cls, strategy: str, config: ScoringConfig | None = None) -> Scorer:
        """A scorer that takes every setup with its rules-only exits."""
        return cls(strategy, config or DEFAULT_SCORING.get(strategy, ScoringConfig()))

    @classmethod
    def load(
        cls, models_dir: Path | str, strategy: str, config: ScoringConfig | None = None
    ) -> Scorer:
        """Load the current artifact of ``strategy`` under ``models_dir``.

        Without a published artifact the scorer runs rules-only and logs so.

        Raises:
            ArtifactError: the artifact exists but a file is missing or tampered with, or it
                was trained on other features (names, order or feature code hash differ).
        """
        config = config or DEFAULT_SCORING.get(strategy, ScoringConfig())
        folder = current_version_dir(Path(models_dir), strategy)
        if folder is None:
            log.warning("%s: no model artifact under %s; running rules-only", strategy, models_dir)
            return cls(strategy, config)
        manifest = read_manifest(folder)
        _check_schema(folder, manifest, strategy)
        models = {}
        for role, name in MODEL_FILES.items():
            booster = xgb.Booster()
            booster.load_model(str(folder / name))
            # one row per call: extra OpenMP threads only spin and steal the tick's CPU
            booster.set_param({"nthread": 1})
            models[role] = booster
        calibration = IsotonicCalibration.from_json(
            json.loads((folder / CALIBRATION).read_text(encoding="utf-8"))
        )
        log.info("%s: loaded model %s from %s", strategy, manifest["version"], folder)
        return cls(strategy, config, models, calibration, manifest)

    def raw_predictions(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Model outputs for a batch of input rows, shape (n, len(input_columns)).

        Returns ``classifier`` raw probability, ``confidence`` calibrated, ``take_profit`` and
        ``stop_loss`` fractions, ``hold`` seconds, each shape (n,), unclipped.
        """
        matrix = xgb.DMatrix(rows, feature_names=list(self._columns))
        out = {role: booster.predict(matrix) for role, booster in self._models.items()}
        assert self._calibration is not None
        out["confidence"] = self._calibration.apply(out["classifier"])
        return out

    def score(self, setup: Setup, features: Mapping[str, float]) -> Score:
        """Score one setup given the feature row of its candle.

        Raises:
            ArtifactError: the setup's input columns differ from the artifact's.
            KeyError: a feature column is missing from ``features``.
        """
        if self.rules_only:
            return Score(
                confidence=None,
                take=True,
                take_profit_frac=setup.exits.take_profit_frac,
                stop_loss_frac=setup.exits.stop_loss_frac,
                size_multiplier=1.0,
                expected_hold_s=setup.exits.time_limit_s,
                model_version=RULES_ONLY,
            )
        columns = input_columns(setup)
        if columns != self._columns:
            raise ArtifactError(
                f"{self.strategy} model {self.model_version} expects inputs {self._columns}, "
                f"setup {setup.setup_id} gives {columns}"
            )
        pred = self.raw_predictions(input_row(setup, features)[None, :])
        return self.score_from_predictions({k: float(v[0]) for k, v in pred.items()})

    def score_from_predictions(self, pred: Mapping[str, float]) -> Score:
        """Clip one row of :meth:`raw_predictions` into a :class:`Score` (see
        :func:`score_from_predictions`)."""
        return score_from_predictions(pred, self.config, self.model_version)


def score_from_predictions(
    pred: Mapping[str, float], config: ScoringConfig, model_version: str
) -> Score:
    """Turn one row of raw model outputs into a :class:`Score`: the live scorer and the
    backtest (which scores with out-of-fold predictions) share this rule.

    Args:
        pred: ``confidence`` (calibrated, clipped to [0, 1] here), ``take_profit`` and
            ``stop_loss`` (fractions) and ``hold`` (seconds), unclipped.
        config: bounds, threshold and size rule.
        model_version: recorded in the score.
    """
    confidence = float(min(max(pred["confidence"], 0.0), 1.0))
    return Score(
        confidence=confidence,
        take=confidence >= config.confidence_threshold,
        take_profit_frac=float(
            np.clip(pred["take_profit"], config.take_profit_min_frac, config.take_profit_max_frac)
        ),
        stop_loss_frac=float(
            np.clip(pred["stop_loss"], config.stop_loss_min_frac, config.stop_loss_max_frac)
        ),
        size_multiplier=config.size_multiplier(confidence),
        expected_hold_s=int(np.clip(pred["hold"], config.hold_min_s, config.hold_max_s)),
        model_version=model_version,
    )


def scored_exits(setup: Setup, score: Score) -> ExitRules:
    """Exits a position opened on ``setup`` uses after scoring: take profit, stop loss and time
    limit from the score; the detector's trailing stop kept. Rules-only scores reproduce the
    setup's own exits exactly. Used by the live scripts and the backtester alike."""
    if score.rules_only:
        return setup.exits
    return replace(
        setup.exits,
        take_profit_frac=score.take_profit_frac,
        stop_loss_frac=score.stop_loss_frac,
        time_limit_s=score.expected_hold_s,
    )


def _check_schema(folder: Path, manifest: dict[str, Any], strategy: str) -> None:
    """Refuse an artifact built for another strategy or on other features."""
    if manifest.get("strategy") != strategy:
        raise ArtifactError(
            f"{folder}: artifact is for {manifest.get('strategy')!r}, not {strategy!r}"
        )
    if tuple(manifest.get("feature_columns", ())) != FEATURE_COLUMNS:
        raise ArtifactError(
            f"{folder}: feature list differs from this code's FEATURE_COLUMNS "
            f"(names or order); retrain the model"
        )
    if manifest.get("feature_code_hash") != feature_code_hash():
        raise ArtifactError(
            f"{folder}: features were computed by other code (feature_code_hash "
            f"{manifest.get('feature_code_hash')} != {feature_code_hash()}); retrain the model"
        )
