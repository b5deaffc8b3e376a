"""One fitted model set — the classifier, its rank reference and the exit regressors — and how
every model (each walk-forward fold's and the published one) is fitted.

:func:`fit_model_set` fits the classifier on its training rows minus an inner, time-ordered
validation slice (the newest :data:`VAL_FRAC` of its window, purged by the embargo), stopping
early on that slice, whose scores become the model's rank reference; the exit regressors on
all its training rows. :class:`TrainSettings` says how (the candidates of
:mod:`training.models.compare` differ there); the walk-forward that calls it is
:mod:`training.models.train`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from ml_signals.scoring.rule import DecisionRule
from training.evaluation.metrics import auc
from training.labels.dataset import SetupDataset
from training.models.boosters import fit_classifier, fit_money_scorer, fit_regressor, predict

REGRESSION_TARGETS = {
    "take_profit": "best_take_profit_frac",
    "stop_loss": "best_stop_loss_frac",
    "hold": "best_hold_s",
}
MIN_TRAIN_ROWS: Final = 30
VAL_FRAC: Final = 0.2
"""Newest share of a model's training window held out for early stopping and its reference."""
MIN_VAL_ROWS: Final = 30


class TooFewSetupsError(ValueError):
    """A strategy has too few labelled setups (or a single outcome) to train on this data."""


@dataclass(frozen=True, slots=True)
class TrainSettings:
    """How the classifier is fitted; candidates differ here and are compared on the same folds
    (:mod:`training.models.compare`).

    Attributes:
        early_stopping: stop on the inner validation slice (else a fixed 200 rounds, which
            memorised: train AUC 0.86-1.00 per fold).
        capital_weight: weight each setup by the quote it committed, so the classifier learns
            where the money is (a full DCA grid weighs five single-level fills) rather than
            win/loss counts.
        money_target: rank by a regressor of net PnL in quote
            (:func:`training.models.boosters.fit_money_scorer`) instead of the win/loss classifier;
            always with early stopping. The rank rule, calibration and gate are unchanged.
        family: model family, ``xgboost`` or ``torch`` (:mod:`training.models.torch_family`: a
            sequence network over the last ``window_bars`` candles plus the input row; it
            always stops early, so ``early_stopping`` concerns XGBoost only).
        window_bars: candles in the torch family's window (48 = two days at 1h).
    """

    early_stopping: bool = True
    capital_weight: bool = False
    money_target: bool = False
    family: str = "xgboost"
    window_bars: int = 48

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (stored in the manifest)."""
        out: dict[str, Any] = {"early_stopping": self.early_stopping,
                               "capital_weight": self.capital_weight,
                               "money_target": self.money_target, "family": self.family}
        if self.family == "torch":
            out["window_bars"] = self.window_bars
        return out


DEFAULT_SETTINGS: Final = TrainSettings()


@dataclass(frozen=True, slots=True)
class ModelSet:
    """One fitted model set.

    Attributes:
        models: boosters (or the torch family's ``SequenceModel``) by role (classifier,
            take_profit, stop_loss, hold).
        rule: rank reference from the validation slice (``keep_frac`` still the default).
        train_auc: the classifier's AUC on the rows it was fitted on (in-sample).
        rounds: boosting rounds (torch: epochs) the classifier kept.
        label_end_s: latest label end among the rows it saw (fit and validation).
    """

    models: dict[str, Any]
    rule: DecisionRule
    train_auc: float
    rounds: int
    label_end_s: int


def fit_model_set(ds: SetupDataset, rows: np.ndarray, x: np.ndarray, embargo_s: int,
                  regressors: bool = True,
                  settings: TrainSettings = DEFAULT_SETTINGS) -> ModelSet:
    """Fit one model set on ``rows`` (see the module docstring): the classifier, its rank
    reference and, with ``regressors``, the exit regressors.

    Args:
        ds: the dataset (labels, decision and label-end times).
        rows: boolean mask of the training rows.
        x: the input matrix of every dataset row, shape (n, len(ds.input_columns)); for the
            torch family with each row's flattened candle window appended
            (:func:`training.models.torch_family.windows.sequence_inputs`).
        embargo_s: purge gap between fit rows' label ends and the validation start.
        regressors: also fit the exit regressors (the null run does not need them).
        settings: early stopping and row weights of the classifier.

    Raises:
        TooFewSetupsError: too few rows, or one outcome only, in the fit or validation part.
    """
    frame = ds.frame
    cols = list(ds.input_columns)
    win = frame["win"].to_numpy(dtype=bool)
    decision = frame["decision_s"].to_numpy(dtype="int64")
    label_end = frame["label_end_s"].to_numpy(dtype="int64")
    if rows.sum() < MIN_TRAIN_ROWS + MIN_VAL_ROWS:
        raise TooFewSetupsError(f"{ds.strategy}: {int(rows.sum())} training rows")
    val_start = int(np.quantile(decision[rows], 1.0 - VAL_FRAC))
    val = rows & (decision >= val_start)
    fit = rows & (label_end < val_start - embargo_s)
    for name, part, need in (("fit", fit, MIN_TRAIN_ROWS), ("validation", val, MIN_VAL_ROWS)):
        if part.sum() < need or win[part].all() or not win[part].any():
            raise TooFewSetupsError(f"{ds.strategy}: {name} part has {int(part.sum())} rows "
                                    f"({int(win[part].sum())} wins); need {need} of both kinds")
    weight = frame["filled_quote"].to_numpy("float64") if settings.capital_weight else None
    if settings.family == "torch":
        from training.models.torch_family.fit import fit_sequence_set

        return fit_sequence_set(ds.strategy, frame, rows, fit, val, x, len(cols),
                                settings.window_bars, weight, regressors)
    if settings.money_target:
        pnl = frame["net_pnl_quote"].to_numpy("float64")
        clf = fit_money_scorer(x[fit], pnl[fit], cols, x[val], pnl[val])
    elif settings.early_stopping:
        clf = fit_classifier(x[fit], win[fit], cols, x[val], win[val],
                             None if weight is None else weight[fit],
                             None if weight is None else weight[val])
    else:
        clf = fit_classifier(x[fit], win[fit], cols,
                             weight=None if weight is None else weight[fit])
    reference = predict(clf, x[val], cols)
    try:
        rule = DecisionRule.from_scores(reference)
    except ValueError as exc:
        raise TooFewSetupsError(f"{ds.strategy}: {exc} (the classifier learned nothing)") \
            from None
    models = {"classifier": clf}
    if regressors:
        for role, target in REGRESSION_TARGETS.items():
            models[role] = fit_regressor(x[rows], frame.loc[rows, target].to_numpy("float64"),
                                         cols)
    return ModelSet(models, rule, auc(win[fit], predict(clf, x[fit], cols)),
                    clf.num_boosted_rounds(), int(label_end[rows].max()))
