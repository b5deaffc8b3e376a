"""Out-of-time evaluation of published artifacts on any candle folder, without retraining.

For each strategy with a published artifact: the setups the detector finds on the candles,
labelled with the artifact's own label and fee settings, scored in one batch
(:meth:`ml_signals.scoring.scorer.Scorer.predict_frame`, the same decision the live scorer
makes), and judged like the walk-forward: AUC with a week-block interval, Brier and
calibration error, the rule's setups against all setups (per setup and capital-weighted, with
the interval of the difference), fixed exits against the model's exits on the rule's setups,
and the portfolio backtest rules-only vs ML with the scripts' guards.

Only setups decided after the last label the model trained on count (``train_label_end_s`` in
the manifest); earlier ones are in-sample for it, counted and left out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml_signals.scoring.artifact import current_version_dir
from ml_signals.scoring.config import ScoringConfig
from ml_signals.scoring.scorer import Scorer
from ml_signals.setups import STRATEGIES, ChannelConfig, DcaConfig, StrategyName, SwingConfig
from training.backtest import BacktestConfig, BacktestResult, run_backtests
from training.data import CandleSet
from training.evaluation.evidence import selection_evidence
from training.evaluation.exit_choice import model_exit_setups, replay_setups
from training.evaluation.metrics import EvalMetrics, evaluate, trade_stats
from training.labels.dataset import PairFeatures, SetupDataset, build_dataset, compute_pair_features
from training.labels.outcomes import FeeSchedule, LabelConfig
from training.models.train import trainable_rows
from training.pipeline import StrategyRun, TrainingRun

log = logging.getLogger(__name__)

_DETECTOR_CONFIGS: dict[str, type[DcaConfig | SwingConfig | ChannelConfig]] = {
    "dca": DcaConfig, "swing": SwingConfig, "channel": ChannelConfig}


@dataclass
class ScoredSetups:
    """Predictions aligned with a dataset, in the shape the backtest reads (``oof``): ``fold``
    1 for out-of-sample rows, 0 for rows the model may have seen."""

    oof: pd.DataFrame


@dataclass
class StrategyEvaluation:
    """One strategy's out-of-time figures.

    Attributes:
        strategy, version: what was evaluated.
        dataset: the labelled setups on the candles.
        predictions: :data:`ml_signals.scoring.scorer.PREDICTION_COLUMNS` plus ``fold`` and
            ``model_train_end_s``, aligned with ``dataset.frame``.
        in_sample: setups left out because the model's training labels reach them.
        metrics: :class:`EvalMetrics` of the out-of-sample usable setups.
        evidence: ``SelectionEvidence`` dict of the same rows.
        exits: ``fixed`` (the detector's own exits, volatility-scaled for DCA) vs ``model``
            (the regressors') exits on the rule's setups (trade stats dicts).
        fees, label_config, scoring: the artifact's settings, reused by the backtest.
        exit_source: whose exits the artifact trades (manifest ``exits.source``).
        size_source: flat or rank sizes (manifest ``sizing.source``).
    """

    strategy: StrategyName
    version: str
    dataset: SetupDataset
    predictions: pd.DataFrame
    in_sample: int
    metrics: EvalMetrics
    evidence: dict[str, Any]
    exits: dict[str, Any] = field(default_factory=dict)
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    label_config: LabelConfig = field(default_factory=LabelConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    exit_source: str = "model"
    size_source: str = "rank"


@dataclass
class EvaluationRun:
    """All strategies evaluated, their portfolio backtests and what was skipped."""

    strategies: dict[StrategyName, StrategyEvaluation]
    backtests: dict[tuple[str, str, str], BacktestResult]
    skipped: dict[str, str]


def evaluate_artifacts(candle_sets: Mapping[str, CandleSet], btc_pair: str, models_dir: Path,
                       strategies: Sequence[StrategyName] = STRATEGIES,
                       backtest: BacktestConfig | None = None) -> EvaluationRun:
    """Evaluate the published artifacts under ``models_dir`` on ``candle_sets``.

    Raises:
        ArtifactError: a published artifact fails its checks.
        ValueError: the BTC pair is missing.
    """
    features = compute_pair_features(candle_sets, btc_pair)
    out: dict[StrategyName, StrategyEvaluation] = {}
    skipped: dict[str, str] = {}
    for strategy in strategies:
        if current_version_dir(models_dir, strategy) is None:
            skipped[strategy] = f"no published artifact under {models_dir / strategy}"
            continue
        ev = _evaluate_strategy(Scorer.load(models_dir, strategy), features)
        if ev is None:
            skipped[strategy] = "no out-of-sample setup on these candles"
            continue
        out[strategy] = ev
    backtests = run_backtests(_as_run(candle_sets, btc_pair, features, out),
                              backtest or BacktestConfig(slices=("oof",))) if out else {}
    return EvaluationRun(out, backtests, skipped)


def _evaluate_strategy(scorer: Scorer,
                       features: Mapping[str, PairFeatures]) -> StrategyEvaluation | None:
    strategy: StrategyName = scorer.strategy  # type: ignore[assignment]
    manifest = scorer.manifest
    fees = FeeSchedule(**manifest["labels"]["fees"])
    label_config = LabelConfig.model_validate(manifest["labels"]["config"])
    detector_config = _DETECTOR_CONFIGS[strategy].model_validate(manifest["detector"]["config"])
    try:
        ds = build_dataset(strategy, features, detector_config, fees, label_config)
    except ValueError as exc:  # TooFewSetupsError: no setup on any pair
        log.warning("%s: %s", strategy, exc)
        return None
    frame = ds.frame
    windows = None
    if scorer.window_bars:  # a sequence family: the same window function as live scoring
        from training.models.torch_family.windows import dataset_windows

        windows = dataset_windows(ds, features, scorer.window_bars)
    pred = scorer.predict_frame(frame, windows)
    train_end = int(manifest.get("train_label_end_s") or 0)
    decision = frame["decision_s"].to_numpy("int64")
    outside = decision > train_end
    pred["fold"] = np.where(outside, 1, 0)
    pred["model_train_end_s"] = train_end
    usable = trainable_rows(frame) & outside
    if not usable.any():
        return None
    sub = frame.loc[usable]
    take = pred["take"].to_numpy(bool)
    metrics = evaluate(sub["win"].to_numpy(bool), pred.loc[usable, "rank"].to_numpy(float),
                       pred.loc[usable, "confidence"].to_numpy(float), take[usable],
                       sub["net_return_frac"].to_numpy(float), sub["net_pnl_quote"].to_numpy(float),
                       sub["filled_quote"].to_numpy(float))
    evidence = selection_evidence(
        sub["win"].to_numpy(bool), pred.loc[usable, "rank"].to_numpy(float), take[usable],
        sub["net_pnl_quote"].to_numpy(float), sub["filled_quote"].to_numpy(float),
        sub["net_return_frac"].to_numpy(float), sub["decision_s"].to_numpy("int64"))
    exits = compare_exits(ds, pred, usable & take, scorer, features, fees, label_config)
    return StrategyEvaluation(strategy, scorer.model_version, ds, pred,
                              int((~outside).sum()), metrics, evidence.to_dict(), exits, fees,
                              label_config, scorer.config, scorer.exit_source,
                              scorer.size_source)


def compare_exits(ds: SetupDataset, pred: pd.DataFrame, rows: np.ndarray, scorer: Scorer,
                  features: Mapping[str, PairFeatures], fees: FeeSchedule,
                  label_config: LabelConfig) -> dict[str, Any]:
    """Trade stats of the ``rows`` setups under the detector's fixed exits (their labels) and
    under the model's exits (take profit, stop loss and time limit from the score, replayed by
    the same label kernel with the same fees)."""
    frame = ds.frame
    fixed = trade_stats(frame.loc[rows, "net_return_frac"].to_numpy(float),
                        frame.loc[rows, "net_pnl_quote"].to_numpy(float),
                        frame.loc[rows, "filled_quote"].to_numpy(float))
    idx = np.flatnonzero(rows)
    model = replay_setups(ds, features, idx, model_exit_setups(ds, pred, idx, scorer.config),
                          fees, label_config)
    done = model[model["filled"].astype(bool) & (model["exit_reason"] != "OPEN_AT_END")] \
        if len(model) else model
    model_stats = trade_stats(done["net_return_frac"].to_numpy(float) if len(done) else [],
                              done["net_pnl_quote"].to_numpy(float) if len(done) else [],
                              done["filled_quote"].to_numpy(float) if len(done) else [])
    return {"fixed": fixed.to_dict(), "model": model_stats.to_dict()}


def _as_run(candle_sets: Mapping[str, CandleSet], btc_pair: str,
            features: Mapping[str, PairFeatures],
            evaluated: Mapping[StrategyName, StrategyEvaluation]) -> TrainingRun:
    """A :class:`TrainingRun` view of the evaluation, so the backtest runs unchanged."""
    runs = {}
    for strategy, ev in evaluated.items():
        runs[strategy] = StrategyRun(ev.dataset, ScoredSetups(ev.predictions),  # type: ignore[arg-type]
                                     ev.scoring, ev.label_config, Path(ev.version),
                                     exit_choice={"source": ev.exit_source},
                                     sizing_choice={"source": ev.size_source})
    # one fee schedule per backtest: the first artifact's (artifacts of one run share it)
    fees = next(iter(evaluated.values())).fees
    return TrainingRun(candle_sets, btc_pair, features, fees, runs, {})


def json_summary(run: EvaluationRun) -> dict[str, Any]:
    """The documented JSON object of ``evaluate --json``::

        {"strategies": {name: {version, setups, in_sample, auc, auc_ci, brier, ece, approved,
                               all, approved_stats, evidence, exits}},
         "portfolio": {scope: {"rules": {trades, total_return, max_drawdown},
                               "ml": {...}}},
         "skipped": {name: reason}}

    ``all`` / ``approved_stats`` are trade stats (``capital_return_frac`` = net PnL /
    committed quote); ``auc_ci`` the 95 % week-block interval.
    """
    strategies = {}
    for name, ev in run.strategies.items():
        m = ev.metrics
        strategies[name] = {
            "version": ev.version, "setups": m.setups, "in_sample": ev.in_sample,
            "auc": m.auc, "auc_ci": list(ev.evidence["auc_ci"]), "brier": m.brier,
            "ece": m.calibration_error, "approved": m.approved,
            "all": m.all_setups.to_dict(), "approved_stats": m.ml_approved.to_dict(),
            "evidence": ev.evidence, "exits": ev.exits,
        }
    portfolio: dict[str, dict[str, Any]] = {}
    for (scope, mode, _slice), bt in run.backtests.items():
        st = bt.stats
        portfolio.setdefault(scope, {})[mode] = {
            "trades": st.get("trades"), "total_return": st.get("total_return_frac"),
            "max_drawdown": st.get("max_drawdown_frac")}
    return {"strategies": strategies, "portfolio": portfolio, "skipped": run.skipped}
