"""XGBoost model fitting with fixed, documented hyper-parameters.

Nothing is tuned: with no search there is nothing for the evaluation to overfit. Shallow trees,
a low learning rate and row/column subsampling suit a few thousand noisy setups.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import xgboost as xgb

BASE_PARAMS: Final[dict[str, object]] = {
    "max_depth": 3,
    "eta": 0.05,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 5.0,
    "lambda": 1.0,
    "nthread": 1,  # small tables: threads only add OpenMP barrier waits on a busy host
    "seed": 7,
    "tree_method": "hist",
}
ROUNDS: Final = 200


def fit_classifier(x: np.ndarray, win: np.ndarray, columns: list[str]) -> xgb.Booster:
    """Binary take/skip classifier: P(net return after fees > 0).

    Args:
        x: inputs, shape (n, len(columns)), float64 (NaN allowed: XGBoost routes it).
        win: shape (n,), bool outcomes.
        columns: input names, stored in the model.

    Raises:
        ValueError: fewer than 2 rows or a single class.
    """
    y = np.asarray(win, dtype="float64")
    if y.size < 2 or y.min() == y.max():
        raise ValueError(f"classifier needs both outcomes; got {y.size} rows, {y.sum():.0f} wins")
    params = {**BASE_PARAMS, "objective": "binary:logistic", "eval_metric": "logloss"}
    return xgb.train(params, xgb.DMatrix(x, label=y, feature_names=columns), ROUNDS)


def fit_regressor(x: np.ndarray, target: np.ndarray, columns: list[str]) -> xgb.Booster:
    """Squared-error regressor for one exit target (fractions or seconds, unscaled).

    Raises:
        ValueError: no rows.
    """
    y = np.asarray(target, dtype="float64")
    if y.size == 0:
        raise ValueError("regressor needs at least one row")
    params = {**BASE_PARAMS, "objective": "reg:squarederror", "base_score": float(y.mean())}
    return xgb.train(params, xgb.DMatrix(x, label=y, feature_names=columns), ROUNDS)


def predict(booster: xgb.Booster, x: np.ndarray, columns: list[str]) -> np.ndarray:
    """Predictions of ``booster`` for ``x`` (shape (n, len(columns))), float64 shape (n,)."""
    return booster.predict(xgb.DMatrix(x, feature_names=columns)).astype("float64")
