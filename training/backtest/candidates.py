"""Setups a backtest may enter: scored, sized and replayed once, in one kernel batch per pair.

For one strategy and one mode every eligible dataset row becomes a candidate:

* ``rules``: the rules-only score (every setup taken, the detector's exits and size);
* ``ml``: the out-of-fold predictions clipped into a :class:`~ml_signals.scoring.score.Score`
  by the scorer's own rule (``ml_signals.scoring.scorer.score_from_predictions``): a row whose
  score rank is below its fold's ex-ante rule cut (or, when configured, whose confidence is
  below a threshold) is not taken. A prediction whose model trained on labels that end
  at or after the row's decision time is refused (:class:`LookAheadError`).

A taken setup is sized exactly as the live scripts size it
(``ml_signals.decision.sizing.size_entry``: the score's size multiplier on every quote amount,
DCA spacing widened at low confidence, exits from ``scored_exits``) after the detector amounts
are scaled by ``BacktestConfig.amount_scale``, and replayed by the executor kernel
(:func:`training.labels.batch.simulate_positions`) with the backtest's fees and slippage. The
outcome does not depend on the portfolio (executors are independent); the portfolio only
decides which outcomes happen and may cancel an entry that has not filled (see
:mod:`training.backtest.portfolio`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_signals.decision.sizing import size_entry
from ml_signals.scoring.config import ScoringConfig
from ml_signals.scoring.score import Score
from ml_signals.scoring.scorer import Scorer, score_from_predictions
from ml_signals.setups.base import EntryPlan, Setup
from training.backtest.config import BacktestConfig, Mode
from training.backtest.market import Market
from training.labels.batch import simulate_positions
from training.labels.dataset import SetupDataset
from training.labels.executor_walk import REASON_NOT_FILLED
from training.labels.outcomes import FeeSchedule, LabelConfig, position_batch

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

PREDICTION_COLUMNS = ("fold", "rank", "min_rank", "confidence", "take_profit", "stop_loss",
                      "hold", "model_train_end_s")
"""Columns a predictions frame needs (``training.models.train.TrainResult.oof``)."""


class LookAheadError(ValueError):
    """An ML score came from a model whose training labels reach the setup's decision time."""


@dataclass(frozen=True, slots=True)
class Candidates:
    """Candidates of one strategy in one mode; every array has one entry per candidate.

    Attributes:
        strategy, mode: what they are.
        setup_id, pair: ``object`` arrays of str.
        row: dataset row (position in ``SetupDataset.frame``).
        fold: walk-forward fold of the row's prediction (-1 quarantine, 0 never scored).
        decision_s: decision time (close of the setup candle), s.
        take: the score takes the setup (always True rules-only).
        confidence: calibrated confidence, NaN rules-only.
        size_multiplier: applied to the detector amounts (1 rules-only).
        committed_quote: quote the entry commits if every level fills (after sizing).
        reason: kernel exit code (``training.labels.executor_walk.EXIT_REASONS``); -1 not taken.
        exit_s: when the position ends (exit known: the candle's open for an exit at the
            open, its close otherwise; NOT_FILLED: the time-limit open); NaN open at the end.
        exit_price, exit_fee_quote: sell price (slippage included) and its fee.
        filled_base, filled_quote, entry_fee_quote, slippage_quote: totals of the replay.
        level_s: ``(K, L)`` time each level's fill is done (its candle's open for a fill at
            the open, else the close), ``inf`` never; level_base, level_cost, level_fee:
            ``(K, L)`` per level fill (NaN never).
        model_version: per candidate, the score's model version.
    """

    strategy: str
    mode: Mode
    setup_id: npt.NDArray[np.object_]
    pair: npt.NDArray[np.object_]
    row: IntArray
    fold: IntArray
    decision_s: IntArray
    take: BoolArray
    confidence: FloatArray
    size_multiplier: FloatArray
    committed_quote: FloatArray
    reason: IntArray
    exit_s: FloatArray
    exit_price: FloatArray
    exit_fee_quote: FloatArray
    filled_base: FloatArray
    filled_quote: FloatArray
    entry_fee_quote: FloatArray
    slippage_quote: FloatArray
    level_s: FloatArray
    level_base: FloatArray
    level_cost: FloatArray
    level_fee: FloatArray
    model_version: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return int(self.row.shape[0])

    def first_fill_s(self) -> FloatArray:
        """Time the first level's fill is done, ``inf`` when nothing fills."""
        return self.level_s[:, 0] if self.level_s.shape[1] else np.full(len(self), np.inf)


def check_no_look_ahead(dataset: SetupDataset, predictions: pd.DataFrame,
                        rows: npt.NDArray[np.bool_]) -> None:
    """Refuse scores from models that saw the setup's period.

    Every selected row must have been scored (``fold != 0``) by a model whose training labels
    all ended before the row's decision time: ``model_train_end_s < decision_s``.

    Raises:
        LookAheadError: naming the first offending setup, its decision time and the model's
            training end; or a selected row that was never scored.
    """
    decision = dataset.frame["decision_s"].to_numpy(dtype=np.int64)
    end = predictions["model_train_end_s"].to_numpy(dtype=np.int64)
    fold = predictions["fold"].to_numpy(dtype=np.int64)
    bad = rows & ((fold == 0) | (end < 0) | (end >= decision))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        sid = dataset.frame["setup_id"].iat[i]
        raise LookAheadError(
            f"{dataset.strategy}: setup {sid} (decision {decision[i]}) has a score from a model "
            f"whose training labels end at {end[i]} (fold {fold[i]}); an ML backtest may only "
            f"use out-of-fold scores with model_train_end_s < decision_s "
            f"({int(bad.sum())} such rows)")


def build_candidates(dataset: SetupDataset, predictions: pd.DataFrame, scoring: ScoringConfig,
                     mode: Mode, market: Market, config: BacktestConfig, fees: FeeSchedule,
                     rows: npt.NDArray[np.bool_], model_version: str = "oof",
                     exit_source: str = "model", size_source: str = "rank") -> Candidates:
    """Score, size and replay the selected rows of ``dataset``.

    Args:
        dataset: the strategy's setups (``frame`` rows in ``setups`` order).
        predictions: per dataset row, :data:`PREDICTION_COLUMNS` (``TrainResult.oof``).
        scoring: bounds (``config.confidence_thresholds`` sets a confidence threshold in
            place of the predictions' rank rule).
        mode: ``"rules"`` or ``"ml"``.
        market: candle arrays and slippage.
        config: sizing, order types.
        fees: maker / taker fractions used for the replay.
        rows: boolean mask over dataset rows to consider.
        model_version: version string the ML scores carry (``"<version>:fold<k>"``).
        exit_source: ``"model"`` (the regressors' exits) or ``"detector"`` (the setups' own
            exits), as the artifact's manifest chose (``training.evaluation.exit_choice``).
        size_source: ``"rank"`` or ``"flat"`` (``training.evaluation.size_choice``).

    Raises:
        LookAheadError: ``mode == "ml"`` and a selected row's model saw its period.
        ValueError: predictions not aligned with the dataset, or missing columns.
    """
    frame = dataset.frame
    missing = [c for c in PREDICTION_COLUMNS if c not in predictions.columns]
    if missing or len(predictions) != len(frame):
        raise ValueError(f"{dataset.strategy}: predictions need columns {PREDICTION_COLUMNS} "
                         f"and one row per setup; missing {missing}, {len(predictions)} rows "
                         f"for {len(frame)} setups")
    rows = np.asarray(rows, dtype=bool)
    if mode == "ml":
        check_no_look_ahead(dataset, predictions, rows)
    threshold = config.confidence_thresholds.get(dataset.strategy,
                                                 scoring.confidence_threshold)
    scoring = scoring.model_copy(update={"confidence_threshold": threshold})

    idx = np.flatnonzero(rows)
    scores = _scores(dataset, predictions, scoring, mode, idx, model_version, exit_source,
                     size_source)
    sized_setups: list[Setup] = []
    multipliers = np.ones(idx.size)
    committed = np.zeros(idx.size)
    for k, (i, score) in enumerate(zip(idx, scores, strict=True)):
        setup = _scaled(dataset.setups[i], config.amount_scale)
        sized = size_entry(setup, score, config.sizing)
        sized_setups.append(replace(setup, entry=sized.entry, exits=sized.exits))
        multipliers[k] = sized.size_multiplier
        committed[k] = sized.entry.total_quote
    take = np.array([s.take for s in scores], dtype=bool)
    width = max([len(s.entry.amounts_quote) for s in sized_setups] + [1])
    out = _replay(sized_setups, take, width, market, config, fees)
    return Candidates(
        strategy=dataset.strategy, mode=mode,
        setup_id=frame["setup_id"].to_numpy(dtype=object)[idx],
        pair=frame["pair"].to_numpy(dtype=object)[idx], row=idx.astype(np.int64),
        fold=predictions["fold"].to_numpy(dtype=np.int64)[idx],
        decision_s=frame["decision_s"].to_numpy(dtype=np.int64)[idx], take=take,
        confidence=np.array([np.nan if s.confidence is None else s.confidence for s in scores]),
        size_multiplier=multipliers, committed_quote=committed,
        model_version=np.array([s.model_version for s in scores], dtype=object), **out,
    )


def _scores(dataset: SetupDataset, predictions: pd.DataFrame, scoring: ScoringConfig,
            mode: Mode, idx: IntArray, model_version: str,
            exit_source: str = "model", size_source: str = "rank") -> list[Score]:
    """Rules-only scores, or the scorer's clipping of each row's out-of-fold predictions."""
    if mode == "rules":
        scorer = Scorer.rules_only_scorer(dataset.strategy, scoring)
        return [scorer.score(dataset.setups[i], {}) for i in idx]
    pred = predictions.iloc[idx]
    values = {role: pred[role].to_numpy(dtype=np.float64)
              for role in ("rank", "min_rank", "confidence", "take_profit", "stop_loss", "hold")}
    if any(np.isnan(v).any() for v in values.values()):
        bad = int(np.flatnonzero(np.any([np.isnan(v) for v in values.values()], axis=0))[0])
        raise ValueError(f"{dataset.strategy}: row {int(idx[bad])} selected for an ML "
                         f"backtest has no prediction")
    folds = pred["fold"].to_numpy(dtype=np.int64)
    out = []
    for k in range(idx.size):
        fold = int(folds[k])
        version = f"{model_version}:{'quarantine' if fold < 0 else f'fold{fold}'}"
        out.append(score_from_predictions(
            {role: float(v[k]) for role, v in values.items()}, scoring, version,
            dataset.setups[int(idx[k])].exits if exit_source == "detector" else None,
            flat_size=size_source == "flat"))
    return out


def _scaled(setup: Setup, scale: float) -> Setup:
    """``setup`` with every detector quote amount multiplied by ``scale``."""
    if scale == 1.0:
        return setup
    plan = setup.entry
    return replace(setup, entry=EntryPlan(plan.entry_type, plan.prices,
                                          tuple(a * scale for a in plan.amounts_quote)))


def _replay(setups: Sequence[Setup], take: BoolArray, width: int, market: Market,
            config: BacktestConfig, fees: FeeSchedule) -> dict[str, Any]:
    """Kernel outcome of every taken setup, one batch per pair; untaken rows stay empty."""
    n = len(setups)
    out: dict[str, Any] = {
        "reason": np.full(n, -1, dtype=np.int64),
        **{name: np.full(n, np.nan) for name in (
            "exit_s", "exit_price", "exit_fee_quote", "filled_base", "filled_quote",
            "entry_fee_quote", "slippage_quote")},
        "level_s": np.full((n, width), np.inf),
        **{name: np.full((n, width), np.nan) for name in ("level_base", "level_cost",
                                                          "level_fee")},
    }
    label_cfg = LabelConfig(position_take_profit_order=config.position_take_profit_order)
    pairs = np.array([s.pair for s in setups], dtype=object)
    maker = fees.maker_frac if config.maker_fee_frac is None else config.maker_fee_frac
    taker = fees.taker_frac if config.taker_fee_frac is None else config.taker_fee_frac
    for pair in np.unique(pairs[take]) if take.any() else []:
        sel = np.flatnonzero(take & (pairs == pair))
        pc = market.pairs[pair]
        batch = position_batch([setups[i] for i in sel], pc.timestamp, market.interval_s,
                               label_cfg)
        sim = simulate_positions(pc.open, pc.high, pc.low, pc.close, batch, maker, taker,
                                 slippage_frac=pc.slippage_frac)
        ts = pc.timestamp
        interval = market.interval_s
        exit_bar = np.clip(sim.exit_bar, 0, None)
        exited = sim.exit_bar >= 0
        out["reason"][sel] = sim.reason
        out["exit_s"][sel] = np.where(exited, ts[exit_bar] + np.where(sim.exit_on_open, 0,
                                                                      interval), np.nan)
        for name, values in (("exit_price", sim.exit_price),
                             ("exit_fee_quote", sim.exit_fee_quote),
                             ("filled_base", sim.filled_base),
                             ("filled_quote", sim.filled_quote),
                             ("entry_fee_quote", sim.entry_fee_quote),
                             ("slippage_quote", sim.slippage_quote)):
            out[name][sel] = values
        lw = sim.level_fills.shape[1]
        bars = sim.level_fills[:, :, 3]
        filled = ~np.isnan(bars)
        b = np.where(filled, bars, 0).astype(np.int64)
        at_open = batch.market_entry[:, None] | (batch.level_price >= pc.open[b])
        out["level_s"][sel, :lw] = np.where(filled, ts[b] + np.where(at_open, 0, interval),
                                            np.inf)
        out["level_base"][sel, :lw] = sim.level_fills[:, :, 0]
        out["level_cost"][sel, :lw] = sim.level_fills[:, :, 1]
        out["level_fee"][sel, :lw] = sim.level_fills[:, :, 2]
        not_filled = sim.reason == REASON_NOT_FILLED
        out["exit_price"][sel[not_filled]] = np.nan
    return out
