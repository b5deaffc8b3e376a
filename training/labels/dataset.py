"""Candles of many pairs -> one labelled setup table per strategy.

For each pair: the project's feature function, the strategy's detector, the label replay of
each setup's exits, and the model input row — the very functions the live scripts call — so a
row here is what the scorer sees live. Rows are sorted by decision time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml_signals.features import compute_features
from ml_signals.scoring.config import ScoringConfig
from ml_signals.scoring.inputs import input_columns, input_row
from ml_signals.setups import DetectorConfig, Setup, StrategyName, make_detector
from training.data import CandleSet
from training.data.bad_windows import touches_bad_candles
from training.labels.outcomes import FeeSchedule, LabelConfig, label_setups
from training.parallel import IN_PROCESS, TaskRunner

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PairFeatures:
    """Features of one pair, computed once and shared by the three strategies.

    Attributes:
        candles: the pair's canonical candle set.
        features: ``compute_features`` output aligned with ``candles.frame``.
        reference: the BTC reference's candle set the features used (``None`` for BTC itself);
            its bad candles also drop setups (:mod:`training.data.bad_windows`).
    """

    candles: CandleSet
    features: pd.DataFrame
    reference: CandleSet | None = None


@dataclass(frozen=True, slots=True)
class SetupDataset:
    """Labelled setups of one strategy across pairs.

    Attributes:
        strategy: detector name.
        setups: the :class:`Setup` records, same order as ``frame`` rows.
        frame: one row per setup: ``setup_id, pair, timestamp, decision_s, label_end_s``, the
            label columns of :func:`training.labels.outcomes.label_setups`, and the model inputs.
        input_columns: ordered model input names (columns of ``frame``).
        data_end_s: close time of the newest candle over all pairs.
        dropped_bad_candles: ``{pair: setups}`` left out because their feature or label window
            touches a candle the candle guard flags (:mod:`training.data.bad_windows`); pairs
            with none dropped are absent.
    """

    strategy: StrategyName
    setups: tuple[Setup, ...]
    frame: pd.DataFrame
    input_columns: tuple[str, ...]
    data_end_s: int
    dropped_bad_candles: dict[str, int] = field(default_factory=dict)

    def inputs(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Model input matrix, float64, shape (rows, len(input_columns))."""
        cols = list(self.input_columns)
        data = self.frame[cols] if mask is None else self.frame.loc[mask, cols]
        return data.to_numpy(dtype="float64")


def compute_pair_features(
    candle_sets: Mapping[str, CandleSet], btc_pair: str, runner: TaskRunner = IN_PROCESS
) -> dict[str, PairFeatures]:
    """Features for every pair with ``btc_pair`` as the regime and correlation reference.

    One task per pair through ``runner`` (:mod:`training.parallel`); the result is the same
    on every runner, in the order of ``candle_sets``.

    Raises:
        ValueError: ``btc_pair`` is not among the candle sets.
    """
    if btc_pair not in candle_sets:
        raise ValueError(
            f"BTC reference pair {btc_pair!r} not in the data ({', '.join(candle_sets)}); "
            "the BTC regime and correlation features need it"
        )
    pairs = list(candle_sets)
    features = runner.map(pair_features_task, [candle_sets[p] for p in pairs],
                          btc=candle_sets[btc_pair].frame)
    return {pair: PairFeatures(candle_sets[pair], f,
                               None if pair == btc_pair else candle_sets[btc_pair])
            for pair, f in zip(pairs, features, strict=True)}


def pair_features_task(candles: CandleSet, btc: pd.DataFrame) -> pd.DataFrame:
    """One pair's ``compute_features`` frame (a :class:`~training.parallel.TaskRunner` task):
    rows aligned with ``candles.frame``; ``btc`` is the reference pair's canonical frame."""
    return compute_features(candles.frame, btc, candles.interval_s)


def label_config_for(scoring: ScoringConfig, **overrides: object) -> LabelConfig:
    """Label settings whose take-profit / stop-loss search grid spans the scorer's bounds, so the
    regressors learn targets the scorer will not clip away."""
    return LabelConfig.model_validate({
        "tp_grid_min_frac": scoring.take_profit_min_frac,
        "tp_grid_max_frac": scoring.take_profit_max_frac,
        "sl_grid_min_frac": scoring.stop_loss_min_frac,
        "sl_grid_max_frac": scoring.stop_loss_max_frac,
        **overrides,
    })


def build_dataset(
    strategy: StrategyName,
    pair_features: Mapping[str, PairFeatures],
    detector_config: DetectorConfig | None = None,
    fees: FeeSchedule | None = None,
    label_config: LabelConfig | None = None,
    pairs: Iterable[str] | None = None,
    runner: TaskRunner = IN_PROCESS,
) -> SetupDataset:
    """Detect, label and tabulate the setups of ``strategy`` on every pair.

    Each pair is one task through ``runner`` (:func:`pair_rows_task`); the table is the same on
    every runner. Setups whose feature or label window touches a bad candle are left out,
    logged and counted per pair in ``dropped_bad_candles``.

    Raises:
        training.models.model_set.TooFewSetupsError: no pair produced a setup.
    """
    fees = fees or FeeSchedule()
    label_config = label_config or LabelConfig()
    order_pairs = list(pairs or sorted(pair_features))
    results = runner.map(pair_rows_task, [(p, pair_features[p]) for p in order_pairs],
                         strategy=strategy, detector_config=detector_config, fees=fees,
                         label_config=label_config)
    frames, all_setups = [], []
    dropped: dict[str, int] = {}
    columns: tuple[str, ...] | None = None
    data_end = 0
    for pair, rows in zip(order_pairs, results, strict=True):
        data_end = max(data_end, rows.data_end_s)
        if rows.columns is not None:
            columns = rows.columns
        if rows.dropped:
            dropped[pair] = rows.dropped
            log.warning("%s %s: %d of %d setups dropped: their feature or label window "
                        "touches a bad candle", strategy, pair, rows.dropped,
                        rows.dropped + len(rows.setups))
        if rows.setups:
            frames.append(rows.frame)
            all_setups.extend(rows.setups)
    if not frames or columns is None:
        from training.models.model_set import TooFewSetupsError

        raise TooFewSetupsError(f"{strategy}: no setups on any pair; nothing to train")
    table = pd.concat(frames, ignore_index=True)
    order = np.lexsort((table["pair"].to_numpy(), table["decision_s"].to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    ordered = tuple(all_setups[i] for i in order)
    log.info("%s: %d setups on %d pairs", strategy, len(table), len(frames))
    return SetupDataset(strategy, ordered, table, columns, data_end, dropped)


@dataclass(frozen=True, slots=True)
class PairRows:
    """One pair's share of a :class:`SetupDataset` (:func:`pair_rows_task`).

    Attributes:
        frame: the pair's rows (``SetupDataset.frame`` columns), bad-candle setups removed;
            ``None`` when no setup is left.
        setups: the kept setups, same order as ``frame``.
        columns: model input names (``None`` when the detector found nothing).
        data_end_s: close time of the pair's newest candle (UTC seconds).
        dropped: setups left out because a window touches a bad candle.
    """

    frame: pd.DataFrame | None
    setups: tuple[Setup, ...]
    columns: tuple[str, ...] | None
    data_end_s: int
    dropped: int = 0


def pair_rows_task(item: tuple[str, PairFeatures], strategy: StrategyName,
                   detector_config: DetectorConfig | None, fees: FeeSchedule,
                   label_config: LabelConfig) -> PairRows:
    """Detect, label and tabulate one pair's setups; ``item`` is ``(pair, features)`` (a
    :class:`~training.parallel.TaskRunner` task; logs nothing: :func:`build_dataset` logs what
    it returns)."""
    pair, pf = item
    candles = pf.candles.frame
    interval_s = pf.candles.interval_s
    data_end = int(candles["timestamp"].iloc[-1]) + interval_s
    detector = make_detector(strategy, detector_config, interval_s)
    setups = detector.detect(pair, candles, pf.features)
    if not setups:
        return PairRows(None, (), None, data_end)
    labels = label_setups(setups, candles, interval_s, fees, label_config)
    columns = input_columns(setups[0])
    inputs = np.vstack([input_row(s, pf.features.iloc[s.bar_index]) for s in setups])
    frame = labels.reset_index(drop=True)
    frame.insert(1, "pair", pair)
    frame.insert(2, "timestamp", [s.timestamp for s in setups])
    frame["decision_s"] = frame["timestamp"] + interval_s
    frame["label_end_s"] = _label_end(frame, setups, interval_s)
    frame = pd.concat([frame, pd.DataFrame(inputs, columns=list(columns))], axis=1)
    frame, kept, dropped = _drop_bad(pf, frame, setups)
    return PairRows(frame if kept else None, tuple(kept), columns, data_end, dropped)


def _drop_bad(pf: PairFeatures, frame: pd.DataFrame,
              setups: list[Setup]) -> tuple[pd.DataFrame, list[Setup], int]:
    """``frame`` and ``setups`` without the setups whose windows touch a bad candle, and how
    many were left out."""
    bad = touches_bad_candles(frame["timestamp"].to_numpy(), frame["label_end_s"].to_numpy(),
                              pf.candles, pf.reference)
    if not bad.any():
        return frame, setups, 0
    keep = ~bad
    return (frame.loc[keep].reset_index(drop=True),
            [s for s, kept in zip(setups, keep, strict=True) if kept], int(bad.sum()))


def _label_end(frame: pd.DataFrame, setups: list[Setup], interval_s: int) -> np.ndarray:
    """When each row's labels resolved: ``labels_resolved_ts`` from the label replay (the end of
    every replay behind the row, the take-profit / stop-loss search included), or decision +
    time limit when it is unknown (nothing filled, data ended). Purging uses this time."""
    decision = frame["decision_s"].to_numpy(dtype="int64")
    limit_end = decision + np.array([s.exits.time_limit_s for s in setups], dtype="int64")
    resolved = pd.to_numeric(frame["labels_resolved_ts"], errors="coerce").to_numpy("float64")
    end = np.where(np.isnan(resolved), limit_end, resolved)
    return np.maximum(end, decision).astype("int64")
