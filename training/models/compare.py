"""Candidate training configurations compared on the same folds by the same evidence.

Every candidate (:data:`CANDIDATES`) trains each strategy with the same setups, labels,
walk-forward split, ex-ante rule procedure and gate as ``train``; only the classifier's
fitting differs (:class:`training.models.model_set.TrainSettings`). A candidate *wins* over
``current`` for a strategy when its gate passes and its out-of-fold capital-weighted uplift (the
rule's setups minus all setups) is higher; the table shows every figure with its interval, so a win
inside the noise is visible as such. ``train`` uses ``current`` unless told otherwise.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
import pandas as pd

from ml_signals.market_features import MARKET_COLUMNS, MarketState
from ml_signals.scoring.config import DEFAULT_SCORING
from ml_signals.setups import StrategyName
from training.data import CandleSet
from training.labels.dataset import (
    SetupDataset,
    build_dataset,
    compute_pair_features,
    label_config_for,
)
from training.labels.outcomes import FeeSchedule
from training.models.model_set import TooFewSetupsError, TrainSettings
from training.models.train import train_strategy
from training.parallel import IN_PROCESS, TaskRunner

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class Candidate:
    """One configuration: how the classifier is fitted, whether the market-state inputs
    (:mod:`ml_signals.market_features`) are added to every setup's row, and whether one model
    is trained on every strategy's setups together (:mod:`training.models.pooled`)."""

    settings: TrainSettings = field(default_factory=TrainSettings)
    market: bool = False
    pooled: bool = False


CANDIDATES: Final[dict[str, Candidate]] = {
    "current": Candidate(),
    "no_early_stopping": Candidate(TrainSettings(early_stopping=False)),
    "capital_weight": Candidate(TrainSettings(capital_weight=True)),
    "market": Candidate(market=True),
    "pooled": Candidate(pooled=True),
    "money_target": Candidate(TrainSettings(money_target=True)),
}
"""``current``: early stopping, every setup weighs the same. ``no_early_stopping``: the fixed
200 rounds used before. ``capital_weight``: rows weighted by the quote they committed.
``market``: ``current`` plus breadth, universe returns and the pair's return rank.
``pooled``: one ``current`` model over every compared strategy's setups with a strategy
indicator, judged on each strategy's rows (needs two strategies or more). ``money_target``:
setups ranked by a regressor of net PnL in quote (sees how much of a grid filled) instead of
win/loss."""


CHOSEN: Final[dict[str, str]] = {
    "dca": "no_early_stopping",
    "swing": "current",
    "channel": "capital_weight",
}
"""The candidate ``train`` uses per strategy: among the candidates whose out-of-fold uplift (the
rule's setups minus all setups, capital-weighted) beats ``current`` on both the 2017-2023 set
(297 pairs) and the 2024-2026 set (37 pairs), and whose ranking beats its own shifted-input
null, the one with the higher of the two smaller uplifts; else ``current``. ``market`` and
``pooled`` are eligible like any other (the scripts feed market inputs from ``universe_pairs``).
Measured with DCA's volatility-scaled exits (uplift, 95 % interval; long history / 37 pairs):

* dca: ``current`` +0.60 % [-0.40, +1.56] / +0.18 % [-0.43, +0.79]; ``no_early_stopping``
  +0.75 % [-0.08, +1.55] / +0.57 % [-0.34, +1.48] - chosen (AUC 0.535 vs its null 0.497 on
  the long history; ML DCA backtest +91.2 % vs +40.1 % rules-only); ``capital_weight``
  +0.89 % [-0.14, +1.82] / +0.34 % [-0.83, +1.68]; ``pooled`` +0.77 % [-0.13, +1.59] /
  +0.31 % [-0.17, +0.90]; ``money_target`` +0.83 % [-0.02, +1.64] / +0.68 % [-0.41, +1.83],
  not chosen: its shifted-input null ranks as well as it does (AUC 0.541 vs 0.529 on the long
  history) and its ML DCA backtest trails rules-only (+11.2 % vs +40.1 %);
* swing: ``current`` +0.70 % [+0.26, +1.15] / +0.87 % [-2.04, +2.99]; no other candidate beats
  it on both (``market`` +1.55 % [-2.32, +5.86] on 37 pairs, 13 setups taken);
* channel: ``current`` +0.07 % [-0.07, +0.20] / +0.17 % [-0.10, +0.45]; ``capital_weight``
  +0.17 % [-0.03, +0.37] / +0.23 % [-0.12, +0.56] - chosen.

Every difference between candidates lies inside these intervals: the choice is the better point
estimate, not a demonstrated edge, and no candidate passes the gate on either set."""


def settings_for(strategy: str) -> TrainSettings:
    """Training settings of ``strategy``'s chosen candidate (:data:`CHOSEN`)."""
    return CANDIDATES[CHOSEN.get(strategy, "current")].settings


def with_market(ds: SetupDataset, state: MarketState) -> SetupDataset:
    """``ds`` with :data:`~ml_signals.market_features.MARKET_COLUMNS` appended to its rows
    and inputs (each row's values at its setup candle)."""
    frame = ds.frame.copy()
    extra = pd.DataFrame(index=frame.index, columns=list(MARKET_COLUMNS), dtype="float64")
    for pair in pd.unique(frame["pair"]):
        rows = frame["pair"] == pair
        values = state.features(pair, frame.loc[rows, "timestamp"].to_numpy("int64"))
        extra.loc[rows, list(MARKET_COLUMNS)] = values.to_numpy()
    frame[list(MARKET_COLUMNS)] = extra
    return replace(ds, frame=frame, input_columns=(*ds.input_columns, *MARKET_COLUMNS))

COMPARE_HEADER: Final = ("strategy", "candidate", "setups", "AUC [95%]", "null AUC", "train AUC",
                         "taken",
                         "cap. taken [95%]", "taken-all [95%]", "newest 30d taken-all",
                         "gate", "wins")


def compare_candidates(candle_sets: Mapping[str, CandleSet], btc_pair: str,
                       strategies: Sequence[StrategyName], fees: FeeSchedule,
                       names: Sequence[str] = tuple(CANDIDATES),
                       n_folds: int = 5, runner: TaskRunner = IN_PROCESS,
                       ) -> dict[str, dict[str, dict[str, Any]]]:
    """Train every candidate for every strategy on the same setups and folds; per-pair
    features and labels and per-fold fits are tasks of ``runner`` (:mod:`training.parallel`).

    Returns:
        ``{strategy: {candidate: {"evidence": ..., "gate": ..., "train_auc": ...,
        "wins": bool}}}``; a strategy with too few setups is left out (logged).

    Raises:
        KeyError: an unknown candidate name (the message lists the known ones).
    """
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        raise KeyError(f"unknown candidate {', '.join(unknown)}; known: {', '.join(CANDIDATES)}")
    features = compute_pair_features(candle_sets, btc_pair, runner)
    state = MarketState({p: cs.frame for p, cs in candle_sets.items()}) \
        if any(CANDIDATES[n].market for n in names) else None
    out: dict[str, dict[str, dict[str, Any]]] = {}
    datasets: dict[str, SetupDataset] = {}
    ex_ante_ids: dict[str, set[str]] = {}  # setups ``current`` scored ex ante, per strategy
    for strategy in strategies:
        scoring = DEFAULT_SCORING[strategy]
        try:
            ds = build_dataset(strategy, features, fees=fees,
                               label_config=label_config_for(scoring), runner=runner)
        except TooFewSetupsError as exc:
            log.warning("%s: %s", strategy, exc)
            continue
        datasets[strategy] = ds
        results: dict[str, dict[str, Any]] = {}
        market_ds = with_market(ds, state) if state is not None else None
        for name in names:
            cand = CANDIDATES[name]
            if cand.pooled:
                continue  # trained once over every strategy below
            data = market_ds if cand.market and market_ds is not None else ds
            try:
                # the chance baseline (shifted inputs) once per strategy, on ``current``
                res = train_strategy(data, scoring, n_folds=n_folds,
                                     null_run=name == "current", settings=cand.settings,
                                     runner=runner)
            except TooFewSetupsError as exc:
                log.warning("%s %s: %s", strategy, name, exc)
                continue
            if name == "current":
                rows = (res.oof["fold"].to_numpy() > 0) & np.asarray(res.trainable, bool)
                ex_ante_ids[strategy] = set(ds.frame.loc[rows, "setup_id"])
            train_auc = [a for a in res.evidence["train_auc"] if math.isfinite(a)]
            results[name] = {
                "evidence": res.evidence["oof"], "quarantine": res.evidence["quarantine"],
                "pooled_auc": res.evidence["pooled_auc"],
                "null_auc": (res.evidence.get("null") or {}).get("auc"),
                "train_auc": sum(train_auc) / len(train_auc) if train_auc else float("nan"),
                "gate": res.verdict.to_dict() if res.verdict else None,
            }
        out[strategy] = results
    _add_pooled(out, datasets, [n for n in names if CANDIDATES[n].pooled], n_folds,
                ex_ante_ids or None)
    for results in out.values():
        base = results.get("current")
        for name, r in results.items():
            r["wins"] = bool(name != "current" and base is not None and r["gate"]
                             and r["gate"]["passed"]
                             and _uplift(r) > _uplift(base))
    return out


def _add_pooled(out: dict[str, dict[str, dict[str, Any]]], datasets: Mapping[str, SetupDataset],
                names: Sequence[str], n_folds: int,
                same_rows: Mapping[str, set[str]] | None) -> None:
    """Train each pooled candidate once over ``datasets`` and file its per-strategy results
    under ``out[strategy][name]``, on the setups ``current`` scored ex ante when known."""
    if names and len(datasets) < 2:
        log.warning("pooled: needs two strategies or more with setups, have %s", list(datasets))
        return
    from training.models.pooled import train_pooled

    for name in names:
        try:
            split = train_pooled(datasets, DEFAULT_SCORING["dca"], n_folds,
                                 CANDIDATES[name].settings, same_rows)
        except TooFewSetupsError as exc:
            log.warning("%s: %s", name, exc)
            continue
        for strategy, r in split.items():
            out[strategy][name] = r


def _uplift(result: Mapping[str, Any]) -> float:
    v = result["evidence"].get("diff_capital_frac")
    return float(v) if v is not None and math.isfinite(float(v)) else -math.inf


def compare_rows(results: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[list[str]]:
    """Rows of :data:`COMPARE_HEADER`."""
    pct = lambda v: "-" if v is None or not math.isfinite(v) else f"{100 * v:+.2f}%"  # noqa: E731
    num = lambda v: "-" if v is None or not math.isfinite(v) else f"{v:.3f}"  # noqa: E731
    rows = []
    for strategy, by_name in results.items():
        null = (by_name.get("current") or {}).get("null_auc")
        for name, r in by_name.items():
            ev, pooled, q = r["evidence"], r["pooled_auc"], r["quarantine"] or {}
            lo, hi = pooled["auc_ci"]
            dlo, dhi = ev["diff_capital_ci"]
            clo, chi = ev["approved_capital_ci"]
            rows.append([
                strategy, name, str(ev["setups"]),
                f"{num(pooled['auc'])} [{num(lo)}, {num(hi)}]",
                num(null) if null is not None else "-", num(r["train_auc"]),
                f"{ev['approved']} ({100 * ev['approved_share']:.0f}%)"
                if ev["setups"] else "0",
                f"{pct(ev['approved_capital_frac'])} [{pct(clo)}, {pct(chi)}]",
                f"{pct(ev['diff_capital_frac'])} [{pct(dlo)}, {pct(dhi)}]",
                pct(q.get("diff_capital_frac")),
                "PASS" if r["gate"] and r["gate"]["passed"] else "FAIL",
                "yes" if r["wins"] else "",
            ])
    return rows
