"""Whose exits does a published model trade with: the detector's or its own regressors'?

The model set carries take-profit, stop-loss and hold regressors. Their out-of-fold predictions
are replayed by the same label kernel (same candles, fees and label settings) on the setups the
ex-ante rule took, and compared with the detector's own exits on the same setups (rows that
resolve under both), capital-weighted after fees, the interval from resampling whole weeks.
The regressors' exits are published only when that difference is above zero with its interval
(:data:`MIN_CI_LOW`); otherwise the model only decides take/skip and size, and the detector's
exits (for DCA the volatility-scaled ones) stay. Measured before this rule: the regressors moved
mean net return by under 0.25 percentage points and correlated 0.06-0.32 with the best exits
found in the labels, so "model" must prove itself rather than be assumed.

The choice uses out-of-fold rows before the quarantine only; the quarantine's figure is
reported beside it, not used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from ml_signals.scoring.config import ScoringConfig
from ml_signals.scoring.scorer import score_from_predictions, scored_exits
from ml_signals.setups.base import Setup
from training.evaluation.evidence import block_counts, capital_return, interval, week_of
from training.labels.dataset import PairFeatures, SetupDataset
from training.labels.outcomes import FeeSchedule, LabelConfig, label_setups

ExitSource = Literal["detector", "model"]
MIN_CI_LOW: Final = 0.0
"""The regressors' exits win only when the lower end of the 95 % interval of (model - detector)
capital-weighted return on the taken setups is above this."""
PRED_COLUMNS: Final = ("rank", "min_rank", "confidence", "take_profit", "stop_loss", "hold")


def replay_setups(ds: SetupDataset, features: Mapping[str, PairFeatures], idx: np.ndarray,
                  setups: Sequence[Setup], fees: FeeSchedule,
                  label_config: LabelConfig) -> pd.DataFrame:
    """Label frame of ``setups`` (one per dataset row ``idx``, in that order) replayed by the
    label kernel on their pairs' candles; indexed like ``ds.frame.iloc[idx]``.

    Args:
        ds: the dataset whose rows the setups replace.
        features: per-pair candles (``PairFeatures.candles``).
        idx: integer positions into ``ds.frame``, shape (m,).
        setups: m setups (usually ``ds.setups[i]`` with other exits).

    Returns:
        Columns of :func:`training.labels.outcomes.label_setups`, m rows.
    """
    frame = ds.frame
    pairs = frame["pair"].to_numpy(object)[idx]
    parts = []
    for pair in pd.unique(pairs):
        at = np.flatnonzero(pairs == pair)
        cs = features[pair].candles
        labels = label_setups([setups[k] for k in at], cs.frame, cs.interval_s, fees,
                              label_config)
        labels.index = frame.index[idx[at]]
        parts.append(labels)
    if not parts:
        return pd.DataFrame(columns=["filled", "exit_reason", "net_pnl_quote", "filled_quote"])
    return pd.concat(parts).loc[frame.index[idx]]


def model_exit_setups(ds: SetupDataset, oof: pd.DataFrame, idx: np.ndarray,
                      scoring: ScoringConfig) -> list[Setup]:
    """``ds.setups[i]`` for ``i`` in ``idx`` with take profit, stop loss and time limit from
    the row's out-of-fold regressor predictions, clipped by the scorer's own rule
    (:func:`~ml_signals.scoring.scorer.score_from_predictions`)."""
    out = []
    values = oof[list(PRED_COLUMNS)].to_numpy("float64")
    for i in idx:
        pred = dict(zip(PRED_COLUMNS, map(float, values[i]), strict=True))
        score = score_from_predictions(pred, scoring, "oof")
        out.append(replace(ds.setups[i], exits=scored_exits(ds.setups[i], score)))
    return out


def _resolved(labels: pd.DataFrame) -> np.ndarray:
    return (labels["filled"].to_numpy(bool)
            & (labels["exit_reason"].to_numpy() != "OPEN_AT_END"))


def compare_exits(ds: SetupDataset, features: Mapping[str, PairFeatures], oof: pd.DataFrame,
                  rows: np.ndarray, scoring: ScoringConfig, fees: FeeSchedule,
                  label_config: LabelConfig) -> dict[str, Any]:
    """Detector exits vs the regressors' exits on the ``rows`` setups (boolean mask).

    Returns:
        ``{"setups", "weeks", "detector", "model", "diff", "diff_ci"}``: capital-weighted
        returns (fractions) of the rows resolved under both exits; ``diff`` is model minus
        detector with its 95 % week-block interval. ``setups`` 0 gives NaN figures.
    """
    idx = np.flatnonzero(rows)
    nan = {"setups": 0, "weeks": 0, "detector": float("nan"), "model": float("nan"),
           "diff": float("nan"), "diff_ci": (float("nan"), float("nan"))}
    if idx.size == 0:
        return nan
    model = replay_setups(ds, features, idx, model_exit_setups(ds, oof, idx, scoring), fees,
                          label_config)
    own = ds.frame.iloc[idx]
    both = _resolved(model) & _resolved(own)
    if not both.any():
        return nan
    decision = own["decision_s"].to_numpy("int64")[both]
    counts, index = block_counts(week_of(decision))
    weights = np.vstack([np.ones((1, counts.shape[1])), counts])
    mask = np.ones(int(both.sum()), dtype=bool)
    det = capital_return(own["net_pnl_quote"].to_numpy(float)[both],
                         own["filled_quote"].to_numpy(float)[both], mask, weights, index)
    mod = capital_return(model["net_pnl_quote"].to_numpy(float)[both],
                         model["filled_quote"].to_numpy(float)[both], mask, weights, index)
    return {"setups": int(both.sum()), "weeks": int(counts.shape[1]),
            "detector": float(det[0]), "model": float(mod[0]), "diff": float(mod[0] - det[0]),
            "diff_ci": interval(mod[1:] - det[1:])}


def choose_exit_source(ds: SetupDataset, features: Mapping[str, PairFeatures],
                       oof: pd.DataFrame, usable: np.ndarray, scoring: ScoringConfig,
                       fees: FeeSchedule, label_config: LabelConfig,
                       detector_exits: str) -> dict[str, Any]:
    """The published model's exit source (module docstring), with the evidence.

    Args:
        oof: ``TrainResult.oof`` (``fold`` > 0 ex-ante rows, -1 quarantine; ``take``).
        usable: rows with a usable label (``TrainResult.trainable``).
        detector_exits: one line describing the detector's exits (for the manifest).

    Returns:
        ``{"source": "detector" | "model", "detector_exits", "rule", "oof": compare_exits
        figures on the taken ex-ante rows, "quarantine": the same on the quarantine}``.
    """
    fold = oof["fold"].to_numpy("int64")
    take = oof["take"].to_numpy(bool)
    ex_ante = compare_exits(ds, features, oof, (fold > 0) & usable & take, scoring, fees,
                            label_config)
    quarantine = compare_exits(ds, features, oof, (fold < 0) & usable & take, scoring, fees,
                               label_config)
    low = ex_ante["diff_ci"][0]
    source: ExitSource = "model" if ex_ante["setups"] and np.isfinite(low) \
        and low > MIN_CI_LOW else "detector"
    return {"source": source, "detector_exits": detector_exits,
            "rule": "the regressors' exits only when model - detector on the taken out-of-fold "
                    "setups is above zero with its 95 % interval",
            "oof": ex_ante, "quarantine": quarantine}
