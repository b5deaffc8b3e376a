"""Walk-forward training and evaluation of one strategy's model set, scored the way the
published model will score.

Every model — each fold's and the published one — is fitted the same way
(:func:`training.models.model_set.fit_model_set`).

Fold ``k`` is then scored exactly as the published model scores new candles: raw score ->
rank under its own reference -> calibrated confidence (Platt on pooled ``(rank, win)`` of
earlier folds) -> take/skip by a rule whose share was chosen on earlier folds
(:func:`training.evaluation.decision.choose_keep`). Earlier means tested before fold ``k`` with
labels resolved before its test start minus the embargo. A fold with fewer than
:data:`training.evaluation.decision.MIN_RULE_ROWS` such rows has no ex-ante rule: its scores
count for AUC and feed later folds, but it is not in the "approved vs all" figures (``fold`` 0
in ``oof``, ``scored_fold`` k). The published model's calibration and rule use every out-of-fold
row; it then scores the quarantined newest 30 days once.

A null run repeats the walk-forward with each setup's inputs replaced by those of the setup
half the table away in time (labels untouched): the AUC it reaches is what chance gives here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ml_signals.scoring.calibration import PlattCalibration
from ml_signals.scoring.config import ScoringConfig
from ml_signals.scoring.rule import DecisionRule
from training.evaluation.decision import MIN_RULE_ROWS, GateVerdict, choose_keep, judge
from training.evaluation.evidence import SelectionEvidence, selection_evidence
from training.evaluation.metrics import EvalMetrics, evaluate
from training.labels.dataset import SetupDataset
from training.models.boosters import predict
from training.models.fold_task import fit_fold
from training.models.model_set import (
    DEFAULT_SETTINGS,
    REGRESSION_TARGETS,
    TooFewSetupsError,
    TrainSettings,
    fit_model_set,
)
from training.models.walkforward import WalkForwardPlan, plan_walk_forward
from training.parallel import IN_PROCESS, TaskRunner

log = logging.getLogger(__name__)

@dataclass
class TrainResult:
    """Everything training learned and measured for one strategy.

    Attributes:
        strategy: detector name.
        plan: the walk-forward split.
        models: the published boosters by role.
        calibration: Platt map from rank to P(win), fitted on all out-of-fold rows.
        rule: the published decision rule (the published model's reference, share chosen on
            all out-of-fold rows).
        oof: per row: ``fold`` (k for a fold scored with an ex-ante rule, -1 quarantine, 0
            otherwise), ``scored_fold`` (k for any fold that scored it), ``raw``, ``rank``,
            ``min_rank``, ``confidence``, ``take``, the regressors' ``take_profit``,
            ``stop_loss`` (fractions) and ``hold`` (s), and ``model_train_end_s``.
        fold_metrics: per fold: raw-score AUC, train AUC, rounds, rule share, metrics.
        overall, quarantine: :class:`EvalMetrics` of the ex-ante out-of-fold rows and of the
            quarantine.
        evidence: ``oof`` / ``quarantine`` / ``null`` :class:`SelectionEvidence`, plus
            ``pooled_auc`` figures over every scored out-of-fold row.
        verdict: the promotion gate's verdict.
        trainable: mask of rows usable as labels (filled and resolved).
        final_label_end_s: latest label end behind the published model, calibration and rule
            (UTC seconds); setups decided after it are out of sample for all three.
    """

    strategy: str
    plan: WalkForwardPlan
    models: dict[str, Any]
    calibration: PlattCalibration
    rule: DecisionRule
    oof: pd.DataFrame
    fold_metrics: list[dict[str, Any]] = field(default_factory=list)
    overall: EvalMetrics | None = None
    quarantine: EvalMetrics | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    verdict: GateVerdict | None = None
    trainable: np.ndarray | None = None
    final_label_end_s: int = -1


def trainable_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose label is usable: the setup filled, its exit resolved inside the data, and
    every regression target is defined (no grid replay still open at the data end)."""
    targets = frame[list(REGRESSION_TARGETS.values())].astype("float64").notna().all(axis=1)
    return (
        frame["filled"].to_numpy(dtype=bool)
        & (frame["exit_reason"].to_numpy() != "OPEN_AT_END")
        & targets.to_numpy()
    )


@dataclass
class _Walk:
    """Arrays filled by one walk-forward pass (see ``TrainResult.oof``)."""

    fold: np.ndarray
    scored_fold: np.ndarray
    raw: np.ndarray
    rank: np.ndarray
    min_rank: np.ndarray
    confidence: np.ndarray
    take: np.ndarray
    train_end: np.ndarray
    preds: dict[str, np.ndarray]
    fold_metrics: list[dict[str, Any]]

    @classmethod
    def empty(cls, n: int) -> _Walk:
        nan = lambda: np.full(n, np.nan)  # noqa: E731
        return cls(np.zeros(n, "int64"), np.zeros(n, "int64"), nan(), nan(), nan(), nan(),
                   np.zeros(n, bool), np.full(n, -1, "int64"),
                   {role: nan() for role in REGRESSION_TARGETS}, [])


def _walk_forward(ds: SetupDataset, plan: WalkForwardPlan, usable: np.ndarray, x: np.ndarray,
                  embargo_s: int, regressors: bool = True,
                  settings: TrainSettings = DEFAULT_SETTINGS,
                  runner: TaskRunner = IN_PROCESS) -> _Walk:
    """Score every fold ex ante (module docstring); the folds' fits are tasks of ``runner``
    (:func:`training.models.fold_task.fit_fold`), the scoring runs here in time order."""

    frame = ds.frame
    win = frame["win"].to_numpy(dtype=bool)
    pnl = frame["net_pnl_quote"].to_numpy(dtype="float64")
    quote = frame["filled_quote"].to_numpy(dtype="float64")
    label_end = frame["label_end_s"].to_numpy(dtype="int64")
    w = _Walk.empty(len(frame))
    folds = [f for f in plan.folds if (f.test & usable).any()]
    fits = runner.map(fit_fold, folds, ds=replace(ds, setups=()), x=x, usable=usable,
                      embargo_s=embargo_s, regressors=regressors, settings=settings)
    for fold, ms in zip(folds, fits, strict=True):
        train, test = fold.train & usable, fold.test
        if ms.skipped is not None:
            log.info("%s fold %d: skipped (%s)", ds.strategy, fold.index, ms.skipped)
            continue
        w.raw[test] = ms.raw
        w.rank[test] = ms.rank
        for role, pred in ms.preds.items():
            w.preds[role][test] = pred
        w.train_end[test] = ms.label_end_s
        prior = (w.scored_fold > 0) & usable & (label_end < fold.test_start_s - embargo_s)
        w.scored_fold[test] = fold.index
        keep = None
        if prior.sum() >= MIN_RULE_ROWS and win[prior].any() and not win[prior].all():
            calibration = PlattCalibration.fit(w.rank[prior], win[prior])
            keep = choose_keep(w.rank[prior], pnl[prior], quote[prior])
            w.confidence[test] = calibration.apply(w.rank[test])
            w.min_rank[test] = 1.0 - keep
            w.take[test] = w.rank[test] >= 1.0 - keep - 1e-12
            w.fold[test] = fold.index
        rows = test & usable
        fold_ev = _selection(frame, rows, w, w.raw) if rows.any() else None
        w.fold_metrics.append({
            "fold": fold.index, "test_start_s": fold.test_start_s, "test_end_s": fold.test_end_s,
            "train_rows": int(train.sum()), "rounds": ms.rounds, "train_auc": ms.train_auc,
            "ex_ante_rule": keep is not None, "keep_frac": keep, "rule_fitted_on": int(prior.sum()),
            **_metrics(frame, rows, w.raw, w.confidence, w.take).to_dict(),
            "auc_ci": fold_ev.auc_ci if fold_ev is not None else None,
            "weeks": fold_ev.weeks if fold_ev is not None else 0,
        })
    return w


def train_strategy(
    ds: SetupDataset,
    scoring: ScoringConfig,
    n_folds: int = 5,
    embargo_s: int = 86_400,
    quarantine_s: int = 30 * 86_400,
    null_run: bool = True,
    settings: TrainSettings = DEFAULT_SETTINGS,
    runner: TaskRunner = IN_PROCESS,
    windows: np.ndarray | None = None,
) -> TrainResult:
    """Run the walk-forward (and its null), fit the published model set, judge it.

    The folds' model fits are tasks of ``runner`` (:mod:`training.parallel`); every runner
    gives the same result.

    ``scoring`` is accepted for symmetry with the artifact (bounds are applied when scores
    become :class:`~ml_signals.scoring.score.Score`); the take/skip rule is learned here.
    ``windows`` (shape (n, settings.window_bars, channels), from
    :func:`training.models.torch_family.windows.dataset_windows`) is required by the torch family
    and ignored by XGBoost.

    Raises:
        ValueError: the torch family without windows.
        TooFewSetupsError: too few usable setups to train (fewer than 60 before the
            quarantine, or a single outcome class, in the fit or validation part).
    """
    del scoring  # the rule is learned; bounds apply at scoring time
    frame = ds.frame
    usable = trainable_rows(frame)
    plan = plan_walk_forward(frame["decision_s"].to_numpy(), frame["label_end_s"].to_numpy(),
                             ds.data_end_s, n_folds, embargo_s, quarantine_s)
    x = ds.inputs()
    if settings.family == "torch":
        from training.models.torch_family.windows import sequence_inputs

        x = sequence_inputs(x, windows)
    cols = list(ds.input_columns)
    walk = _walk_forward(ds, plan, usable, x, embargo_s, settings=settings, runner=runner)

    final_rows = plan.final_train & usable
    try:
        final = fit_model_set(ds, final_rows, x, embargo_s, settings=settings)
    except TooFewSetupsError as exc:
        raise TooFewSetupsError(
            f"{ds.strategy}: only {int(final_rows.sum())} usable setups before the quarantine "
            f"({exc}); add pairs or history") from None
    win = frame["win"].to_numpy(dtype=bool)
    label_end = frame["label_end_s"].to_numpy(dtype="int64")
    pooled = (walk.scored_fold > 0) & usable
    # the published calibration and rule see only labels resolved before the quarantine (less
    # the embargo), like the published model itself: the newest 30 days stay unseen
    fit_pool = pooled & (label_end < plan.quarantine_start_s - embargo_s)
    if fit_pool.sum() >= MIN_RULE_ROWS and win[fit_pool].any() and not win[fit_pool].all():
        calibration = PlattCalibration.fit(walk.rank[fit_pool], win[fit_pool])
        keep = choose_keep(walk.rank[fit_pool],
                           frame.loc[fit_pool, "net_pnl_quote"].to_numpy(float),
                           frame.loc[fit_pool, "filled_quote"].to_numpy(float))
    else:
        log.warning("%s: %d out-of-fold rows; base-rate calibration and the default rule",
                    ds.strategy, int(fit_pool.sum()))
        base = float(win[final_rows].mean())
        calibration = PlattCalibration(0.0, float(np.log(base / (1 - base))), 0)
        keep = 0.5
    rule = final.rule.with_keep(keep, int(fit_pool.sum()))
    # newest label behind anything published (model, calibration, rule)
    seen_end = max(final.label_end_s, int(label_end[fit_pool].max()) if fit_pool.any() else -1)

    q = plan.quarantine
    if q.any():
        walk.raw[q] = predict(final.models["classifier"], x[q], cols)
        walk.rank[q] = rule.rank(walk.raw[q])
        walk.confidence[q] = calibration.apply(walk.rank[q])
        walk.min_rank[q] = rule.min_rank
        walk.take[q] = rule.take(walk.rank[q])
        for role in REGRESSION_TARGETS:
            walk.preds[role][q] = predict(final.models[role], x[q], cols)
        walk.fold[q] = -1
        walk.train_end[q] = seen_end
    ex_ante = (walk.fold > 0) & usable
    overall = _metrics(frame, ex_ante, walk.rank, walk.confidence, walk.take) \
        if ex_ante.any() else None
    quarantine = _metrics(frame, q & usable, walk.rank, walk.confidence, walk.take) \
        if (q & usable).any() else None
    evidence: dict[str, Any] = {
        "oof": _selection(frame, ex_ante, walk),
        "quarantine": _selection(frame, q & usable, walk) if (q & usable).any() else None,
        "pooled_auc": _selection(frame, pooled, walk).to_dict(),
        "train_auc": [m["train_auc"] for m in walk.fold_metrics],
        "settings": settings.to_dict(),
    }
    if null_run:
        shifted = np.roll(x, len(frame) // 2, axis=0)
        null = _walk_forward(ds, plan, usable, shifted, embargo_s, False, settings, runner)
        null_rows = (null.scored_fold > 0) & usable
        evidence["null"] = _selection(frame, null_rows, null).to_dict()
        evidence["null_ex_ante"] = _selection(frame, (null.fold > 0) & usable, null).to_dict()
    verdict = judge(evidence["oof"], evidence["quarantine"])
    evidence["oof"] = evidence["oof"].to_dict()
    if evidence["quarantine"] is not None:
        evidence["quarantine"] = evidence["quarantine"].to_dict()
    oof = pd.DataFrame({"fold": walk.fold, "scored_fold": walk.scored_fold, "raw": walk.raw,
                        "rank": walk.rank, "min_rank": walk.min_rank,
                        "confidence": walk.confidence, "take": walk.take, **walk.preds,
                        "model_train_end_s": walk.train_end}, index=frame.index)
    return TrainResult(ds.strategy, plan, final.models, calibration, rule, oof,
                       walk.fold_metrics, overall, quarantine, evidence, verdict, usable,
                       seen_end)


def _selection(frame: pd.DataFrame, rows: np.ndarray, walk: _Walk,
               score: np.ndarray | None = None) -> SelectionEvidence:
    """Evidence over ``rows``; AUC of ``score`` (default the rank: comparable across the
    folds' models; one fold's raw score ranks the same as its rank, without the end ties)."""
    sub = frame.loc[rows]
    s = walk.rank if score is None else score
    return selection_evidence(
        sub["win"].to_numpy(bool), s[rows], walk.take[rows],
        sub["net_pnl_quote"].to_numpy(float), sub["filled_quote"].to_numpy(float),
        sub["net_return_frac"].to_numpy(float), sub["decision_s"].to_numpy("int64"))


def _metrics(frame: pd.DataFrame, rows: np.ndarray, score: np.ndarray, confidence: np.ndarray,
             take: np.ndarray) -> EvalMetrics:
    sub = frame.loc[rows]
    return evaluate(
        sub["win"].to_numpy(dtype=bool), score[rows], confidence[rows], take[rows],
        sub["net_return_frac"].to_numpy(dtype="float64"),
        sub["net_pnl_quote"].to_numpy(dtype="float64"),
        sub["filled_quote"].to_numpy(dtype="float64"),
    )
