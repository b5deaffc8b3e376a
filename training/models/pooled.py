"""Pooled meta-labeling: one model trained on every strategy's setups, with a strategy
indicator, judged per strategy against the per-strategy models on the same evidence.

Why try it: dca's signal is market timing (BTC drawdown, bear regime, weak breadth) shared by
all strategies, and swing / channel alone have few setups (hundreds to a few thousand), so a
model that sees all of them may rank each strategy's setups better than its own small model.
Inputs are the features every strategy shares (:data:`~ml_signals.features.FEATURE_COLUMNS`),
the setup's own take profit and stop loss, and one 0/1 column per strategy (``strategy_dca``
...); the detector-specific context columns are left out since other strategies lack them.

The pooled table runs through the same :func:`training.models.train.train_strategy` (walk-forward,
inner early stopping, ex-ante rule and calibration from earlier folds, quarantine); its
out-of-fold rows are then split by strategy, and each strategy's rows get the evidence and gate
of :mod:`training.evaluation.evidence` / :mod:`training.evaluation.decision`, comparable row for
row with the
per-strategy candidates in :mod:`training.models.compare`. The rule's share is chosen on the pooled
rows, not per strategy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd

from ml_signals.features import FEATURE_COLUMNS
from ml_signals.scoring.config import ScoringConfig
from ml_signals.setups.base import Setup
from training.evaluation.decision import judge
from training.evaluation.evidence import SelectionEvidence, selection_evidence
from training.labels.dataset import SetupDataset
from training.models.model_set import TrainSettings
from training.models.train import TrainResult, train_strategy

EXIT_COLUMNS: Final = ("setup_take_profit_frac", "setup_stop_loss_frac")


def indicator(strategy: str) -> str:
    """Name of ``strategy``'s 0/1 input column in the pooled table."""
    return f"strategy_{strategy}"


def pooled_dataset(datasets: Mapping[str, SetupDataset]) -> SetupDataset:
    """One table of every strategy's setups, sorted by decision time (ties keep strategy
    order), with the shared inputs and a strategy indicator per strategy.

    Args:
        datasets: per-strategy datasets, at least two.

    Returns:
        A :class:`SetupDataset` named ``"pooled"`` whose frame keeps every label column plus a
        ``strategy`` column.

    Raises:
        ValueError: fewer than two datasets.
    """
    if len(datasets) < 2:
        raise ValueError(f"pooling needs at least two strategies, got {list(datasets)}")
    names = list(datasets)
    columns = (*FEATURE_COLUMNS, *EXIT_COLUMNS, *(indicator(n) for n in names))
    frames: list[pd.DataFrame] = []
    setups: list[Setup] = []
    for name, ds in datasets.items():
        context = [c for c in ds.input_columns if c not in FEATURE_COLUMNS
                   and c not in EXIT_COLUMNS]
        f = ds.frame.drop(columns=context).copy()
        f["strategy"] = name
        for other in names:
            f[indicator(other)] = float(other == name)
        frames.append(f)
        setups.extend(ds.setups)
    frame = pd.concat(frames, ignore_index=True)
    order = np.argsort(frame["decision_s"].to_numpy("int64"), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    ordered = tuple(setups[i] for i in order)
    return SetupDataset("pooled", ordered, frame, columns,  # type: ignore[arg-type]
                        max(ds.data_end_s for ds in datasets.values()))


def _evidence(frame: pd.DataFrame, oof: pd.DataFrame, rows: np.ndarray) -> SelectionEvidence:
    sub = frame.loc[rows]
    return selection_evidence(
        sub["win"].to_numpy(bool), oof.loc[rows, "rank"].to_numpy(float),
        oof.loc[rows, "take"].to_numpy(bool), sub["net_pnl_quote"].to_numpy(float),
        sub["filled_quote"].to_numpy(float), sub["net_return_frac"].to_numpy(float),
        sub["decision_s"].to_numpy("int64"))


def per_strategy_results(pooled: SetupDataset, result: TrainResult,
                         same_rows: Mapping[str, set[str]] | None = None
                         ) -> dict[str, dict[str, Any]]:
    """Split a pooled run's out-of-fold rows by strategy: per strategy the
    :mod:`training.models.compare` result dict (``evidence``, ``quarantine``, ``pooled_auc``,
    ``null_auc`` None, ``train_auc`` of the pooled folds, ``gate``).

    Args:
        same_rows: per strategy, the setup ids its own model scored ex ante; the pooled
            evidence is then computed on those setups only (those the pooled walk-forward also
            scored ex ante), so the comparison is on the same setups.
    """
    frame, oof = pooled.frame, result.oof
    usable = result.trainable if result.trainable is not None else np.ones(len(frame), bool)
    fold = oof["fold"].to_numpy("int64")
    scored = oof["scored_fold"].to_numpy("int64")
    train_auc = [a for a in result.evidence["train_auc"] if np.isfinite(a)]
    out: dict[str, dict[str, Any]] = {}
    for name in pd.unique(frame["strategy"]):
        mine = frame["strategy"].to_numpy(object) == name
        if same_rows is not None and name in same_rows:
            mine &= frame["setup_id"].isin(same_rows[name]).to_numpy() | (fold < 0)
        ex_ante, quarantine = mine & usable & (fold > 0), mine & usable & (fold < 0)
        if not ex_ante.any():
            continue
        ev = _evidence(frame, oof, ex_ante)
        q = _evidence(frame, oof, quarantine) if quarantine.any() else None
        out[str(name)] = {
            "evidence": ev.to_dict(), "quarantine": q.to_dict() if q is not None else None,
            "pooled_auc": _evidence(frame, oof, mine & usable & (scored > 0)).to_dict(),
            "null_auc": None,
            "train_auc": float(np.mean(train_auc)) if train_auc else float("nan"),
            "gate": judge(ev, q).to_dict(),
        }
    return out


def train_pooled(datasets: Mapping[str, SetupDataset], scoring: ScoringConfig,
                 n_folds: int = 5, settings: TrainSettings | None = None,
                 same_rows: Mapping[str, set[str]] | None = None) -> dict[str, dict[str, Any]]:
    """Train the pooled model (module docstring) and return per-strategy results
    (:func:`per_strategy_results`, restricted to ``same_rows`` when given).

    ``scoring`` only names the bounds (the pooled rule is learned, as for any strategy).

    Raises:
        training.models.model_set.TooFewSetupsError: too few pooled setups to train.
        ValueError: fewer than two datasets.
    """
    pooled = pooled_dataset(datasets)
    result = train_strategy(pooled, scoring, n_folds=n_folds, null_run=False,
                            settings=settings or TrainSettings())
    return per_strategy_results(pooled, result, same_rows)
