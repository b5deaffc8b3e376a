"""One walk-forward fold's model fit as a task (:mod:`training.parallel`).

:func:`training.models.train._walk_forward` maps :func:`fit_fold` over its folds through a
:class:`~training.parallel.TaskRunner`, then scores the folds in time order in the calling
process (calibration and rule of fold ``k`` need the scores of earlier folds; the fits do not).
A fold's fit depends only on its own training rows, the inputs and the fixed seeds, so the
results are the same on every runner and in every order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from training.labels.dataset import SetupDataset
from training.models.boosters import predict
from training.models.model_set import (
    REGRESSION_TARGETS,
    TooFewSetupsError,
    TrainSettings,
    fit_model_set,
)
from training.models.walkforward import Fold


@dataclass(frozen=True, slots=True)
class FoldFit:
    """What one fold's model set predicts on the fold's test rows.

    Attributes:
        index: the fold's 1-based number.
        skipped: why no model set was fitted (too few rows or one outcome), else ``None``.
        raw: classifier scores of the test rows, shape (test rows,).
        rank: ``raw`` ranked under the model's own validation reference, in [0, 1].
        preds: regressor predictions by role (take_profit, stop_loss fractions; hold seconds),
            each shape (test rows,); empty when regressors were not fitted.
        label_end_s: latest label end among the rows the model saw (UTC seconds).
        rounds: boosting rounds the classifier kept.
        train_auc: the classifier's in-sample AUC.
    """

    index: int
    skipped: str | None = None
    raw: np.ndarray = field(default_factory=lambda: np.empty(0))
    rank: np.ndarray = field(default_factory=lambda: np.empty(0))
    preds: dict[str, np.ndarray] = field(default_factory=dict)
    label_end_s: int = -1
    rounds: int = 0
    train_auc: float = float("nan")


def fit_fold(fold: Fold, ds: SetupDataset, x: np.ndarray, usable: np.ndarray, embargo_s: int,
             regressors: bool, settings: TrainSettings) -> FoldFit:
    """Fit ``fold``'s model set on its usable training rows and predict its test rows.

    Args:
        fold: the fold (training and test masks over the dataset rows).
        ds: the dataset (its ``frame``; ``setups`` are not read and may be empty).
        x: inputs of every dataset row, shape (n, len(ds.input_columns)).
        usable: rows whose labels may train (``training.models.train.trainable_rows``).
        embargo_s: purge gap in seconds (:func:`training.models.model_set.fit_model_set`).
        regressors: also fit and apply the exit regressors.
        settings: a :class:`training.models.model_set.TrainSettings`.

    Returns:
        a :class:`FoldFit`; a fold with too few rows or one outcome comes back with
        ``skipped`` set rather than raising.
    """
    test = fold.test
    try:
        ms = fit_model_set(ds, fold.train & usable, x, embargo_s, regressors, settings)
    except TooFewSetupsError as exc:
        return FoldFit(fold.index, str(exc))
    cols = list(ds.input_columns)
    raw = predict(ms.models["classifier"], x[test], cols)
    preds = {role: predict(ms.models[role], x[test], cols)
             for role in (REGRESSION_TARGETS if regressors else ())}
    return FoldFit(fold.index, None, raw, ms.rule.rank(raw), preds, ms.label_end_s, ms.rounds,
                   ms.train_auc)
