"""Turn a setup and its feature row into a :class:`Score`, with or without a trained artifact.

No Hummingbot import: the live scripts, the replay and the backtester all call this.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xgboost as xgb

from ml_signals.exits import ExitRules
from ml_signals.feature_parts.sequence import candle_windows
from ml_signals.features import FEATURE_COLUMNS, feature_code_hash
from ml_signals.market_features import needs_market
from ml_signals.scoring.artifact import (
    CALIBRATION,
    DECISION_RULE,
    ArtifactError,
    current_version_dir,
    read_manifest,
)
from ml_signals.scoring.backends import ModelBackend, XGBoostBackend, load_backend
from ml_signals.scoring.calibration import Calibration, calibration_from_json
from ml_signals.scoring.config import DEFAULT_SCORING, ScoringConfig
from ml_signals.scoring.inputs import FeatureRow, input_columns, input_row
from ml_signals.scoring.rule import DecisionRule
from ml_signals.scoring.score import Score
from ml_signals.setups.base import Setup

log = logging.getLogger(__name__)

RULES_ONLY = "rules-only"
PREDICTION_COLUMNS: tuple[str, ...] = (
    "raw", "rank", "min_rank", "confidence", "take", "take_profit", "stop_loss", "hold")
"""Columns of :meth:`Scorer.predict_frame`."""


class Scorer:
    """Scores setups of one strategy.

    Build with :meth:`load` (artifact if published, else rules-only) or
    :meth:`rules_only_scorer`. A rules-only scorer takes every setup with its detector's exits
    and size multiplier 1. With a model, a setup is taken by the artifact's
    :class:`~ml_signals.scoring.rule.DecisionRule` unless ``config.confidence_threshold`` is set.

    The models sit behind a :class:`~ml_signals.scoring.backends.ModelBackend` picked by the
    manifest's ``model_family`` (``models`` may also be a dict of XGBoost boosters by role).
    """

    def __init__(
        self,
        strategy: str,
        config: ScoringConfig,
        models: ModelBackend | dict[str, xgb.Booster] | None = None,
        calibration: Calibration | None = None,
        manifest: dict[str, Any] | None = None,
        rule: DecisionRule | None = None,
    ) -> None:
        self.strategy = strategy
        self.config = config
        self.manifest = manifest or {}
        self._columns: tuple[str, ...] = tuple(self.manifest.get("input_columns", ()))
        backend: ModelBackend | None
        if isinstance(models, dict):
            backend = XGBoostBackend(models, self._columns) if models else None
        else:
            backend = models
        self._models = backend
        self._calibration = calibration
        self.rule = rule
        if self._models is not None and (calibration is None or rule is None):
            raise ValueError(f"{strategy}: a scorer with models needs a calibration and a rule")

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
        return self._models is None

    @property
    def window_bars(self) -> int:
        """Candles of context the model reads per setup (0: feature row only, or rules-only);
        :meth:`score` then needs the pair's candle frame."""
        return 0 if self._models is None else self._models.window_bars

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Ordered model inputs (empty rules-only)."""
        return self._columns

    @property
    def exit_source(self) -> str:
        """``"model"``: take profit, stop loss and hold from the regressors; ``"detector"``:
        the setup's own exits (the manifest's ``exits.source``, chosen in training by
        ``training.evaluation.exit_choice``; artifacts without the field used the regressors)."""
        return str((self.manifest.get("exits") or {}).get("source", "model"))

    @property
    def size_source(self) -> str:
        """``"rank"``: sizes scale with the rule's strength (0.5-1.5 x); ``"flat"``: every taken
        setup at 1 x (the manifest's ``sizing.source``, chosen in training by
        ``training.evaluation.size_choice``; artifacts without the field sized by rank)."""
        return str((self.manifest.get("sizing") or {}).get("source", "rank"))

    @property
    def rule_text(self) -> str:
        """The decision rule in one line."""
        if self.rules_only:
            return "rules-only: every setup"
        if self.config.confidence_threshold is not None:
            return f"confidence >= {self.config.confidence_threshold:.2f} (configured)"
        assert self.rule is not None
        return (f"score rank >= {self.rule.min_rank:.2f} (top {100 * self.rule.keep_frac:.0f} % "
                f"of setups, chosen on {self.rule.fitted_on} out-of-fold setups)")

    @classmethod
    def rules_only_scorer(cls, strategy: str, config: ScoringConfig | None = None) -> Scorer:
        """A scorer that takes every setup with its rules-only exits."""
        return cls(strategy, config or DEFAULT_SCORING.get(strategy, ScoringConfig()))

    @classmethod
    def load(
        cls, models_dir: Path | str, strategy: str, config: ScoringConfig | None = None
    ) -> Scorer:
        """Load and verify the current artifact of ``strategy`` under ``models_dir``.

        Without a published artifact the scorer runs rules-only and logs so (callers that must
        not trade rules-only check :func:`~ml_signals.scoring.artifact.current_version_dir`
        first). A configured ``confidence_threshold`` overrides the artifact's rule, logged as
        a warning.

        Raises:
            ArtifactError: the artifact exists but a file is unlisted, missing or tampered
                with; its calibration or rule is malformed (not monotone, outside [0, 1]); a
                model's inputs differ from the manifest's; or it was trained on other features
                (names, order or feature code hash differ). The message names file and field.
        """
        config = config or DEFAULT_SCORING.get(strategy, ScoringConfig())
        folder = current_version_dir(Path(models_dir), strategy)
        if folder is None:
            log.warning("%s: no model artifact under %s; running rules-only", strategy, models_dir)
            return cls(strategy, config)
        manifest = read_manifest(folder)
        _check_schema(folder, manifest, strategy)
        models = load_backend(folder, manifest)
        calibration = _load_json(folder / CALIBRATION, calibration_from_json)
        rule = _load_json(folder / DECISION_RULE, DecisionRule.from_json)
        scorer = cls(strategy, config, models, calibration, manifest, rule)
        if config.confidence_threshold is not None:
            log.warning("%s: confidence_threshold %.2f from the configuration overrides the "
                        "artifact's rule (%s)", strategy, config.confidence_threshold,
                        Scorer(strategy, config.model_copy(
                            update={"confidence_threshold": None}), models, calibration,
                            manifest, rule).rule_text)
        log.info("%s: loaded %s model %s from %s; rule: %s", strategy, models.family,
                 manifest["version"], folder, scorer.rule_text)
        return scorer

    def with_rule(self, rule: DecisionRule) -> Scorer:
        """The same models, calibration and manifest under another decision rule (shadow
        variants, :mod:`ml_signals.scoring.shadow`); a configured ``confidence_threshold`` is
        dropped so the rule decides.

        Raises:
            ArtifactError: rules-only (no model to re-rule).
        """
        if self.rules_only:
            raise ArtifactError(f"{self.strategy}: no model loaded; no rule to vary")
        config = self.config.model_copy(update={"confidence_threshold": None})
        return Scorer(self.strategy, config, self._models, self._calibration, self.manifest,
                      rule)

    def raw_predictions(self, rows: npt.NDArray[np.float64],
                        windows: npt.NDArray[Any] | None = None
                        ) -> dict[str, npt.NDArray[np.float64]]:
        """Model outputs for a batch of input rows, shape (n, len(input_columns)), and, for a
        sequence family, their candle windows, shape (n, window_bars, channels).

        Returns ``classifier`` raw probability, ``rank`` under the rule's reference,
        ``confidence`` calibrated from the rank, ``take_profit`` and ``stop_loss`` fractions,
        ``hold`` seconds, each shape (n,), unclipped.

        Raises:
            ArtifactError: rules-only, or windows missing / misshapen for a sequence family.
        """
        if self._models is None:
            raise ArtifactError(f"{self.strategy}: no model loaded; nothing to predict")
        out = self._models.predict(rows, windows)
        assert self._calibration is not None and self.rule is not None
        out["rank"] = self.rule.rank(out["classifier"])
        out["confidence"] = self._calibration.apply(out["rank"])
        return out

    def predict_frame(self, inputs: pd.DataFrame,
                      windows: npt.NDArray[Any] | None = None) -> pd.DataFrame:
        """Batch scoring: one row of model inputs per setup in, one row of scores out.

        Args:
            inputs: frame holding at least :attr:`input_columns` (extra columns ignored).
            windows: candle windows of the same setups, shape (n, window_bars, channels), for
                a sequence family (:attr:`window_bars` > 0); ignored otherwise.

        Returns:
            Frame with the index of ``inputs`` and :data:`PREDICTION_COLUMNS`: ``raw``
            probability, ``rank``, the rule's ``min_rank``, ``confidence``, ``take`` (the same
            decision :meth:`score` makes), ``take_profit`` / ``stop_loss`` fractions and
            ``hold`` seconds, unclipped.

        Raises:
            ArtifactError: rules-only, an input column is missing, or windows missing for a
                sequence family.
        """
        if self.rules_only:
            raise ArtifactError(f"{self.strategy}: no model loaded; nothing to predict")
        missing = [c for c in self._columns if c not in inputs.columns]
        if missing:
            raise ArtifactError(f"{self.strategy} model {self.model_version}: inputs lack "
                                f"{len(missing)} columns, first {missing[0]!r}")
        pred = self.raw_predictions(inputs[list(self._columns)].to_numpy(dtype="float64"),
                                    windows)
        assert self.rule is not None
        out = pd.DataFrame({
            "raw": pred["classifier"], "rank": pred["rank"],
            "min_rank": np.full(len(inputs), self.rule.min_rank),
            "confidence": pred["confidence"], "take_profit": pred["take_profit"],
            "stop_loss": pred["stop_loss"], "hold": pred["hold"]}, index=inputs.index)
        out["take"] = [score_from_predictions(row, self.config, self.model_version).take
                       for row in out.to_dict("records", into=dict[str, float]())]
        return out[list(PREDICTION_COLUMNS)]

    def score(self, setup: Setup, features: FeatureRow,
              candles: pd.DataFrame | None = None) -> Score:
        """Score one setup given the feature row of its candle.

        Args:
            setup: the detection.
            features: the feature row of the setup's candle.
            candles: the pair's canonical candle frame holding the setup candle (the frame the
                script computed the features on); read only by a sequence family, which takes
                its window from it (:func:`~ml_signals.feature_parts.sequence.candle_windows`).

        Raises:
            ArtifactError: the setup's input columns differ from the artifact's, or a sequence
                family gets no candles.
            KeyError: a feature column is missing from ``features``.
            ValueError: the candle frame lacks the setup candle or the window's history.
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
        market = needs_market(self._columns)
        columns = input_columns(setup, market)
        if columns != self._columns:
            raise ArtifactError(
                f"{self.strategy} model {self.model_version} expects inputs {self._columns}, "
                f"setup {setup.setup_id} gives {columns}"
            )
        windows = None
        if self.window_bars:
            if candles is None:
                raise ArtifactError(f"{self.strategy} model {self.model_version} reads the last "
                                    f"{self.window_bars} candles; no candle frame was given")
            windows = candle_windows(candles, [setup.timestamp], self.window_bars)
        pred = self.raw_predictions(input_row(setup, features, market)[None, :], windows)
        assert self.rule is not None
        row = {k: float(v[0]) for k, v in pred.items()}
        return self.score_from_predictions({**row, "min_rank": self.rule.min_rank}, setup)

    def score_from_predictions(self, pred: Mapping[str, float],
                               setup: Setup | None = None) -> Score:
        """Clip one row of predictions into a :class:`Score` (see
        :func:`score_from_predictions`); with ``setup``, its own exits are used when the
        artifact chose the detector's exits (:attr:`exit_source`).

        Raises:
            ValueError: the artifact chose the detector's exits and no ``setup`` is given.
        """
        exits = None
        if self.exit_source == "detector":
            if setup is None:
                raise ValueError(f"{self.strategy} model {self.model_version} trades the "
                                 f"detector's exits: pass the setup")
            exits = setup.exits
        return score_from_predictions(pred, self.config, self.model_version, exits,
                                      flat_size=self.size_source == "flat")


def score_from_predictions(
    pred: Mapping[str, float], config: ScoringConfig, model_version: str,
    setup_exits: ExitRules | None = None, flat_size: bool = False,
) -> Score:
    """Turn one row of model outputs into a :class:`Score`: the live scorer, the batch scorer
    and the backtest (which scores with out-of-fold predictions) share this rule.

    With ``setup_exits`` (an artifact whose manifest chose the detector's exits, see
    ``training.evaluation.exit_choice``) the score carries the detector's take profit, stop loss and
    time limit unchanged instead of the regressors' clipped predictions. ``flat_size`` (an
    artifact whose manifest chose flat sizing, ``training.evaluation.size_choice``) trades every
    taken setup at 1 x instead of scaling by the rule's strength.

    Args:
        pred: ``rank`` and the rule's ``min_rank`` (both in [0, 1]), ``confidence``
            (calibrated, clipped to [0, 1] here), ``take_profit`` and ``stop_loss`` (fractions)
            and ``hold`` (seconds), unclipped.
        config: bounds and size rule; a ``confidence_threshold`` replaces the rank rule.
        model_version: recorded in the score.
    """
    confidence = float(min(max(pred["confidence"], 0.0), 1.0))
    if config.confidence_threshold is not None:
        strength, cut = confidence, float(config.confidence_threshold)
        rule = f"confidence {confidence:.2f} vs threshold {cut:.2f} (configured)"
    else:
        strength = float(min(max(pred["rank"], 0.0), 1.0))
        cut = float(pred["min_rank"])
        rule = f"score rank {strength:.2f} vs rule cut {cut:.2f}"
    if setup_exits is not None:
        tp, sl = setup_exits.take_profit_frac, setup_exits.stop_loss_frac
        hold = setup_exits.time_limit_s
    else:
        tp = float(np.clip(pred["take_profit"], config.take_profit_min_frac,
                           config.take_profit_max_frac))
        sl = float(np.clip(pred["stop_loss"], config.stop_loss_min_frac,
                           config.stop_loss_max_frac))
        hold = int(np.clip(pred["hold"], config.hold_min_s, config.hold_max_s))
    return Score(
        confidence=confidence,
        take=strength >= cut - 1e-12,
        take_profit_frac=tp,
        stop_loss_frac=sl,
        size_multiplier=1.0 if flat_size else config.size_multiplier(strength, cut),
        expected_hold_s=hold,
        model_version=model_version,
        strength=strength,
        cut=cut,
        rule=rule,
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




def _load_json[T](path: Path, parse: Callable[[dict[str, Any]], T]) -> T:
    """Parse one of the artifact's JSON files, naming the file on any error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return parse(data)
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: {exc}") from None
