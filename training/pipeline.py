"""One training run over many pairs: features once per pair, then per strategy the dataset,
the walk-forward and the published artifact. The CLI, the backtest and the report consume the
returned :class:`TrainingRun`."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
from tqdm import tqdm

from ml_signals.scoring.config import DEFAULT_SCORING, ScoringConfig
from ml_signals.setups import StrategyName, make_detector
from training.artifacts.provenance import data_provenance
from training.artifacts.writer import write_artifact
from training.data import CandleSet
from training.evaluation.decision import FamilyChoice, choose_family
from training.evaluation.exit_choice import choose_exit_source
from training.evaluation.size_choice import choose_sizing
from training.labels.dataset import (
    PairFeatures,
    SetupDataset,
    build_dataset,
    compute_pair_features,
    label_config_for,
)
from training.labels.outcomes import FeeSchedule, LabelConfig
from training.models.compare import settings_for
from training.models.model_set import TooFewSetupsError, TrainSettings
from training.models.train import TrainResult, train_strategy
from training.parallel import IN_PROCESS, TaskRunner

log = logging.getLogger(__name__)

FAMILIES: Final[tuple[str, ...]] = ("xgboost", "torch")
"""Model families ``train --families`` accepts, in preference order for ties."""


@dataclass(frozen=True, slots=True)
class StrategyRun:
    """What one strategy's training produced.

    Attributes:
        dataset: labelled setups with model inputs.
        result: walk-forward predictions, metrics and the published models.
        scoring: bounds and threshold the artifact is served with.
        label_config: the label replay settings used.
        artifact: folder of the written artifact (``None`` when not written).
        published: whether ``current`` now points at ``artifact``.
        exit_choice: whose exits the model trades with, and the evidence
            (:func:`training.evaluation.exit_choice.choose_exit_source`).
        sizing_choice: flat or rank-scaled sizes, and the evidence
            (:func:`training.evaluation.size_choice.choose_sizing`).
        families: every trained family's result, by family (``result`` is the chosen one's).
        choice: the family choice when more than one family was trained.
    """

    dataset: SetupDataset
    result: TrainResult
    scoring: ScoringConfig
    label_config: LabelConfig
    artifact: Path | None
    published: bool = False
    exit_choice: dict[str, Any] = field(default_factory=dict)
    sizing_choice: dict[str, Any] = field(default_factory=dict)
    families: dict[str, TrainResult] = field(default_factory=dict)
    choice: FamilyChoice | None = None


@dataclass(frozen=True, slots=True)
class TrainingRun:
    """A whole run.

    Attributes:
        candle_sets: the loaded candles by pair.
        btc_pair: the BTC reference pair.
        features: per-pair features (shared by all strategies).
        fees: fee schedule used for labels (and by the backtest).
        strategies: per-strategy results, in run order.
        skipped: strategies not trained, with the reason (too few setups on this data).
    """

    candle_sets: Mapping[str, CandleSet]
    btc_pair: str
    features: Mapping[str, PairFeatures]
    fees: FeeSchedule
    strategies: dict[StrategyName, StrategyRun]
    skipped: dict[StrategyName, str]


def train_all(
    candle_sets: Mapping[str, CandleSet],
    btc_pair: str,
    strategies: Sequence[StrategyName],
    fees: FeeSchedule,
    models_dir: Path | None,
    n_folds: int = 5,
    progress: bool = True,
    publish_mode: str = "gate",
    null_run: bool = True,
    runner: TaskRunner = IN_PROCESS,
    families: Sequence[str] = ("xgboost",),
) -> TrainingRun:
    """Train every strategy; write artifacts under ``models_dir`` unless it is ``None``.

    Each strategy trains with its chosen candidate settings
    (:data:`training.models.compare.CHOSEN`). Every trained version is written; ``current`` moves to
    it only as ``publish_mode`` allows
    (``"gate"``: when it passes the promotion gate, ``"always"``, ``"never"``; see
    :func:`training.artifacts.writer.write_artifact`). Per-pair features and labels and per-fold
    fits are tasks of ``runner`` (:mod:`training.parallel`; same results on every runner). A
    strategy with too few setups on this
    data is skipped, logged and listed in ``TrainingRun.skipped``; its previous artifact, if
    any, stays published.

    With several ``families`` (:data:`FAMILIES`), each trains on the same setups and folds
    with the strategy's settings, and the one :func:`training.evaluation.decision.choose_family`
    picks
    (gate passed, better out-of-fold capital-weighted taken-all) is written, with every
    family's evidence in its manifest.

    Raises:
        ValueError: the BTC pair is missing, an unknown ``publish_mode`` or family.
    """
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise ValueError(f"unknown model family {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(FAMILIES)}")
    features = compute_pair_features(candle_sets, btc_pair, runner)
    runs: dict[StrategyName, StrategyRun] = {}
    skipped: dict[StrategyName, str] = {}
    for strategy in tqdm(strategies, desc="strategies", disable=not progress):
        scoring = DEFAULT_SCORING[strategy]
        label_config = label_config_for(scoring)
        try:
            ds = build_dataset(strategy, features, fees=fees, label_config=label_config,
                               runner=runner)
            results = _train_families(ds, scoring, features, families, n_folds, null_run,
                                      settings_for(strategy), runner)
        except TooFewSetupsError as exc:
            log.warning("%s: not trained: %s", strategy, exc)
            skipped[strategy] = str(exc)
            continue
        choice = None
        if len(results) > 1:
            choice = choose_family({f: (r.verdict, r.evidence) for f, r in results.items()})
            log.info("%s: family %s", strategy, choice.reason)
        result = results[choice.family if choice else next(iter(results))]
        usable = result.trainable if result.trainable is not None else np.zeros(len(ds.frame),
                                                                                bool)
        exit_choice = choose_exit_source(ds, features, result.oof, usable, scoring, fees,
                                         label_config, detector_exits_text(ds))
        sizing_choice = choose_sizing(ds.frame, result.oof, usable, scoring)
        log.info("%s: trades with the %s's exits (%s), %s sizes", strategy,
                 exit_choice["source"], exit_choice["detector_exits"], sizing_choice["source"])
        folder, published = None, False
        if models_dir is not None:
            provenance = data_provenance(candle_sets, ds, fees, label_config)
            folder, published = write_artifact(
                models_dir, ds, result, scoring, provenance, publish_mode=publish_mode,
                exit_choice=exit_choice, sizing_choice=sizing_choice,
                family_selection=_selection(choice, results))
            log.info("%s: artifact %s (%s)", strategy, folder,
                     "published as current" if published else "not published")
        runs[strategy] = StrategyRun(ds, result, scoring, label_config, folder, published,
                                     exit_choice, sizing_choice, results, choice)
    return TrainingRun(candle_sets, btc_pair, features, fees, runs, skipped)


def detector_exits_text(ds: SetupDataset) -> str:
    """One line naming the detector's exits behind ``ds`` (fixed percentages, or DCA's
    volatility-scaled ones), for the manifest and the report."""
    detector = make_detector(ds.strategy)
    vol = getattr(detector.config, "volatility_exits", None)
    if vol is not None and vol.enabled:
        return str(vol.describe())
    kinds = {(e.take_profit_frac, e.stop_loss_frac, e.time_limit_s)
             for e in (s.exits for s in ds.setups)}
    if len(kinds) != 1:
        return "the detector's own, set per setup (e.g. from the range height)"
    tp, sl, hold = kinds.pop()
    return (f"fixed: take profit {100 * tp:.3g} %, stop loss {100 * sl:.3g} %, time limit "
            f"{hold / 3600:g} h")


def _train_families(ds: SetupDataset, scoring: ScoringConfig,
                    features: Mapping[str, PairFeatures], families: Sequence[str],
                    n_folds: int, null_run: bool, settings: TrainSettings,
                    runner: TaskRunner = IN_PROCESS) -> dict[str, TrainResult]:
    """Every family on the same dataset and folds, by family.

    Raises:
        TooFewSetupsError: no family could train (one that cannot is logged and left out).
    """
    out: dict[str, TrainResult] = {}
    errors: list[str] = []
    for family in families:
        fam_settings = replace(settings, family=family)
        windows = None
        if family == "torch":
            from training.models.torch_family.windows import dataset_windows

            windows = dataset_windows(ds, features, fam_settings.window_bars)
        try:
            out[family] = train_strategy(ds, scoring, n_folds=n_folds, null_run=null_run,
                                         settings=fam_settings, runner=runner, windows=windows)
        except TooFewSetupsError as exc:
            log.warning("%s: family %s not trained: %s", ds.strategy, family, exc)
            errors.append(str(exc))
    if not out:
        raise TooFewSetupsError("; ".join(errors))
    return out


def _selection(choice: FamilyChoice | None,
               results: Mapping[str, TrainResult]) -> dict[str, object] | None:
    """The manifest's ``family_selection``: the choice and each family's evidence and gate."""
    if choice is None:
        return None
    return {"chosen": choice.family, "reason": choice.reason, "candidates": choice.candidates,
            "families": {f: {"evidence": r.evidence,
                             "gate": r.verdict.to_dict() if r.verdict else None}
                         for f, r in results.items()}}
