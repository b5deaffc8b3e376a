"""Walk-forward folds with purge, embargo and a quarantined newest period.

Time is in UTC seconds. A setup is *known* at its decision time (the close of its candle) and its
label is *resolved* at ``label_end_s`` (exit fill, or the time limit for a grid that never
filled). A row may train a model tested from ``t`` only if its label resolved before
``t - embargo_s`` (purge + embargo: no training label overlaps the test period, and one more
day of distance absorbs serial correlation). The newest ``quarantine_s`` of the data never fits
or tunes anything; it is scored once by the final model and reported apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class Fold:
    """One walk-forward split.

    Attributes:
        index: 1-based fold number.
        test_start_s, test_end_s: the test block ``[start, end)`` of decision times.
        train: boolean mask over the dataset rows that may train this fold's models.
        test: boolean mask of the rows tested.
    """

    index: int
    test_start_s: int
    test_end_s: int
    train: np.ndarray
    test: np.ndarray


@dataclass(frozen=True, slots=True)
class WalkForwardPlan:
    """All folds plus the final-model split.

    Attributes:
        folds: time-ordered folds.
        quarantine_start_s: decision times at or after this are quarantined.
        final_train: rows that may train the published model (labels resolved before the
            quarantine minus the embargo).
        quarantine: rows in the quarantined newest period.
    """

    folds: tuple[Fold, ...]
    quarantine_start_s: int
    final_train: np.ndarray
    quarantine: np.ndarray


def plan_walk_forward(
    decision_s: np.ndarray,
    label_end_s: np.ndarray,
    data_end_s: int,
    n_folds: int = 5,
    embargo_s: int = DAY_S,
    quarantine_s: int = 30 * DAY_S,
) -> WalkForwardPlan:
    """Split rows into expanding-window folds over the non-quarantined period.

    The period from the first decision to the quarantine start is cut into ``n_folds + 1``
    equal time blocks; fold k tests block k (k = 1..n) and trains on every row whose label
    resolved before ``block_start - embargo_s``.

    Args:
        decision_s: shape (n,), int seconds, when each setup became known.
        label_end_s: shape (n,), int seconds, when each label resolved (>= decision).
        data_end_s: close time of the newest candle in the data.
        n_folds: number of test blocks (>= 1).
        embargo_s: extra gap between a training label's end and the test start (>= 1 day).
        quarantine_s: length of the newest period held out (>= 0).

    Raises:
        ValueError: mismatched shapes, a label ending before its decision, embargo under one
            day, or no data before the quarantine.
    """
    decision_s = np.asarray(decision_s, dtype="int64")
    label_end_s = np.asarray(label_end_s, dtype="int64")
    if decision_s.shape != label_end_s.shape:
        raise ValueError("decision_s and label_end_s must have the same shape")
    if np.any(label_end_s < decision_s):
        raise ValueError("a label cannot resolve before its setup is known")
    if embargo_s < DAY_S:
        raise ValueError(f"embargo_s must be at least one day ({DAY_S} s), got {embargo_s}")
    if n_folds < 1:
        raise ValueError("n_folds must be >= 1")
    q_start = int(data_end_s - quarantine_s)
    if decision_s.size == 0 or decision_s.min() >= q_start:
        raise ValueError("no setups before the quarantined period; need more history")
    first = int(decision_s.min())
    edges = np.linspace(first, q_start, n_folds + 2).astype("int64")
    folds = []
    for k in range(1, n_folds + 1):
        start, end = int(edges[k]), int(edges[k + 1])
        test = (decision_s >= start) & (decision_s < end)
        train = label_end_s < start - embargo_s
        folds.append(Fold(k, start, end, train, test))
    final_train = label_end_s < q_start - embargo_s
    quarantine = decision_s >= q_start
    return WalkForwardPlan(tuple(folds), q_start, final_train, quarantine)
