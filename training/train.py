"""Walk-forward training and evaluation of one strategy's model set.

Per fold: fit the classifier and the three exit regressors on the purged past, predict the
test block. Calibration for fold k is fitted on the (purged) out-of-fold predictions of folds
before k, so no calibrated confidence ever saw its own outcome; fold 1 has no earlier folds and
is reported with raw probabilities. The published model trains on every row resolved before
the quarantine; its calibration uses all out-of-fold predictions; it then scores the
quarantined newest 30 days once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from ml_signals.scoring.calibration import IsotonicCalibration
from ml_signals.scoring.config import ScoringConfig
from training.dataset import SetupDataset
from training.metrics import EvalMetrics, evaluate
from training.models import fit_classifier, fit_regressor, predict
from training.walkforward import WalkForwardPlan, plan_walk_forward

log = logging.getLogger(__name__)

REGRESSION_TARGETS = {
    "take_profit": "best_take_profit_frac",
    "stop_loss": "best_stop_loss_frac",
    "hold": "best_hold_s",
}
MIN_TRAIN_ROWS = 30


class TooFewSetupsError(ValueError):
    """A strategy has too few labelled setups (or a single outcome) to train on this data."""
MIN_CALIBRATION_ROWS = 30


@dataclass
class TrainResult:
    """Everything training learned and measured for one strategy.

    Attributes:
        strategy: detector name.
        plan: the walk-forward split.
        models: the published boosters by role (classifier, take_profit, stop_loss, hold).
        calibration: isotonic calibration fitted on all out-of-fold predictions.
        oof: per-row out-of-fold predictions: ``fold`` (k, -1 for the quarantine, 0 never
            tested), ``raw`` and calibrated ``confidence``, the regressors' ``take_profit``,
            ``stop_loss`` (fractions) and ``hold`` (s), and ``model_train_end_s``: the latest
            label end among the rows that trained the scoring model (always before the row's
            decision time minus the embargo). NaN / -1 where a row was never tested; quarantine
            rows carry the published model's scores.
        fold_metrics: metrics per fold; ``overall`` over all tested rows; ``quarantine``.
        trainable: mask of rows usable as labels (filled and resolved).
    """

    strategy: str
    plan: WalkForwardPlan
    models: dict[str, xgb.Booster]
    calibration: IsotonicCalibration
    oof: pd.DataFrame
    fold_metrics: list[dict[str, Any]] = field(default_factory=list)
    overall: EvalMetrics | None = None
    quarantine: EvalMetrics | None = None
    trainable: np.ndarray | None = None


def trainable_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose label is usable: the setup filled, its exit resolved inside the data, and
    every regression target is defined (no grid replay still open at the data end)."""
    targets = frame[list(REGRESSION_TARGETS.values())].astype("float64").notna().all(axis=1)
    return (
        frame["filled"].to_numpy(dtype=bool)
        & (frame["exit_reason"].to_numpy() != "OPEN_AT_END")
        & targets.to_numpy()
    )


def _fit_set(ds: SetupDataset, rows: np.ndarray) -> dict[str, xgb.Booster]:
    cols = list(ds.input_columns)
    x = ds.inputs(rows)
    sub = ds.frame.loc[rows]
    models = {"classifier": fit_classifier(x, sub["win"].to_numpy(dtype=bool), cols)}
    for role, target in REGRESSION_TARGETS.items():
        models[role] = fit_regressor(x, sub[target].to_numpy(dtype="float64"), cols)
    return models


def train_strategy(
    ds: SetupDataset,
    scoring: ScoringConfig,
    n_folds: int = 5,
    embargo_s: int = 86_400,
    quarantine_s: int = 30 * 86_400,
) -> TrainResult:
    """Run the walk-forward, then fit and calibrate the published model set.

    Raises:
        TooFewSetupsError: too few usable setups to train (fewer than 30 before the
            quarantine, or a single outcome class).
    """
    frame = ds.frame
    usable = trainable_rows(frame)
    plan = plan_walk_forward(
        frame["decision_s"].to_numpy(),
        frame["label_end_s"].to_numpy(),
        ds.data_end_s,
        n_folds,
        embargo_s,
        quarantine_s,
    )
    cols = list(ds.input_columns)
    n = len(frame)
    fold_of = np.zeros(n, dtype="int64")
    raw = np.full(n, np.nan)
    conf = np.full(n, np.nan)
    label_end = frame["label_end_s"].to_numpy()
    fold_metrics: list[dict[str, Any]] = []
    preds = {role: np.full(n, np.nan) for role in REGRESSION_TARGETS}
    train_end = np.full(n, -1, dtype="int64")
    for fold in plan.folds:
        train = fold.train & usable
        test = fold.test  # every setup of the block is scored; metrics use the usable ones
        if train.sum() < MIN_TRAIN_ROWS or not (test & usable).any() or _one_class(frame, train):
            log.info("%s fold %d: skipped (%d train, %d test rows)", ds.strategy, fold.index,
                     int(train.sum()), int(test.sum()))
            continue
        fold_models = _fit_set(ds, train)
        x_test = ds.inputs(test)
        fold_raw = predict(fold_models["classifier"], x_test, cols)
        for role in REGRESSION_TARGETS:
            preds[role][test] = predict(fold_models[role], x_test, cols)
        prior = (fold_of > 0) & usable & (label_end < fold.test_start_s - embargo_s)
        calibrated = _calibrate(raw[prior], frame.loc[prior, "win"].to_numpy(bool), fold_raw)
        raw[test], conf[test], fold_of[test] = fold_raw, calibrated, fold.index
        train_end[test] = int(label_end[train].max())
        m = _evaluate(frame, test & usable, conf, scoring.confidence_threshold)
        fold_metrics.append(
            {
                "fold": fold.index,
                "test_start_s": fold.test_start_s,
                "test_end_s": fold.test_end_s,
                "train_rows": int(train.sum()),
                "calibrated": bool(calibrated is not fold_raw),
                **m.to_dict(),
            }
        )
    tested = (fold_of > 0) & usable
    overall = _evaluate(frame, tested, conf, scoring.confidence_threshold) if tested.any() else None

    final_rows = plan.final_train & usable
    if final_rows.sum() < MIN_TRAIN_ROWS or _one_class(frame, final_rows):
        raise TooFewSetupsError(
            f"{ds.strategy}: only {int(final_rows.sum())} usable setups before the quarantine "
            f"(need {MIN_TRAIN_ROWS} with wins and losses); add pairs or history"
        )
    models = _fit_set(ds, final_rows)
    if tested.sum() >= MIN_CALIBRATION_ROWS and not _one_class(frame, tested):
        calibration = IsotonicCalibration.fit(raw[tested], frame.loc[tested, "win"].to_numpy(bool))
    else:
        log.warning("%s: too few out-of-fold rows to calibrate; identity calibration", ds.strategy)
        calibration = IsotonicCalibration((0.0, 1.0), (0.0, 1.0))

    q = plan.quarantine
    quarantine = None
    if (q & usable).any():
        x_q = ds.inputs(q)
        q_raw = predict(models["classifier"], x_q, cols)
        raw[q], conf[q] = q_raw, calibration.apply(q_raw)
        for role in REGRESSION_TARGETS:
            preds[role][q] = predict(models[role], x_q, cols)
        fold_of[q] = -1
        train_end[q] = int(label_end[final_rows].max())
        quarantine = _evaluate(frame, q & usable, conf, scoring.confidence_threshold)
    oof = pd.DataFrame(
        {"fold": fold_of, "raw": raw, "confidence": conf, **preds, "model_train_end_s": train_end},
        index=frame.index,
    )
    return TrainResult(
        ds.strategy, plan, models, calibration, oof, fold_metrics, overall, quarantine, usable
    )


def _one_class(frame: pd.DataFrame, rows: np.ndarray) -> bool:
    wins = frame.loc[rows, "win"].to_numpy(dtype=bool)
    return wins.size == 0 or wins.all() or not wins.any()


def _calibrate(prior_raw: np.ndarray, prior_win: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Calibrate ``raw`` with isotonic points fitted on earlier folds' predictions, or return
    ``raw`` itself (the same object) when the earlier folds are too few or one-class."""
    if prior_raw.size < MIN_CALIBRATION_ROWS or prior_win.all() or not prior_win.any():
        return raw
    return IsotonicCalibration.fit(prior_raw, prior_win).apply(raw)


def _evaluate(
    frame: pd.DataFrame, rows: np.ndarray, conf: np.ndarray, threshold: float
) -> EvalMetrics:
    sub = frame.loc[rows]
    return evaluate(
        sub["win"].to_numpy(dtype=bool),
        conf[rows],
        sub["net_return_frac"].to_numpy(dtype="float64"),
        sub["net_pnl_quote"].to_numpy(dtype="float64"),
        threshold,
    )
