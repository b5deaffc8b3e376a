"""Evaluation metrics: classification quality and the trading question after fees.

Pure functions on NumPy arrays; no plotting or printing here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt


def auc(outcome: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney U) identity, ties averaged; NaN with one class."""
    y = np.asarray(outcome, dtype=bool)
    s = np.asarray(score, dtype="float64")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype="float64")
    sorted_s = s[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def brier(outcome: np.ndarray, prob: np.ndarray) -> float:
    """Mean squared error of probabilities against 0/1 outcomes; NaN when empty."""
    y = np.asarray(outcome, dtype="float64")
    return float(np.mean((np.asarray(prob, dtype="float64") - y) ** 2)) if y.size else float("nan")


def calibration_error(outcome: np.ndarray, prob: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: bin-size-weighted |mean prob - hit rate| over equal-width
    probability bins; NaN when empty."""
    y = np.asarray(outcome, dtype="float64")
    p = np.asarray(prob, dtype="float64")
    if y.size == 0:
        return float("nan")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(p[m].mean() - y[m].mean())
    return float(total / y.size)


def reliability_curve(
    outcome: np.ndarray, prob: np.ndarray, bins: int = 10
) -> list[tuple[float, float, int]]:
    """Per non-empty bin: (mean predicted probability, observed hit rate, count)."""
    y = np.asarray(outcome, dtype="float64")
    p = np.asarray(prob, dtype="float64")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        if m.any():
            out.append((float(p[m].mean()), float(y[m].mean()), int(m.sum())))
    return out


@dataclass(frozen=True, slots=True)
class TradeStats:
    """Outcome of a set of trades after fees.

    Attributes:
        trades: count.
        win_rate: share with net return > 0.
        expectancy_frac: mean net return per trade, fraction of the position (every trade
            counts the same: a DCA grid with one level filled weighs as much as a full one).
        profit_factor: gross profit / gross loss in quote (inf with no loss, NaN when empty).
        net_pnl_quote: summed net PnL in quote.
        committed_quote: summed quote the entries committed (the filled cost); NaN when not
            given.
        capital_return_frac: ``net_pnl_quote / committed_quote``, the capital-weighted
            expectancy: what a unit of committed capital earned (NaN when nothing committed).
    """

    trades: int
    win_rate: float
    expectancy_frac: float
    profit_factor: float
    net_pnl_quote: float
    committed_quote: float = float("nan")
    capital_return_frac: float = float("nan")

    def to_dict(self) -> dict[str, float]:
        """JSON-ready dict."""
        return asdict(self)


def trade_stats(net_return_frac: npt.ArrayLike, net_pnl_quote: npt.ArrayLike,
                committed_quote: npt.ArrayLike | None = None) -> TradeStats:
    """Summarise trades given per-trade net return fractions, net PnL and (optionally) the
    quote each committed; all shape (n,) (arrays, lists or Series).

    The one definition of win rate, expectancy, profit factor and capital-weighted return:
    training's evaluation, the backtest's headline (:func:`training.backtest.stats.trade_figures`)
    and the journal comparison all call it."""
    r = np.asarray(net_return_frac, dtype="float64")
    pnl = np.asarray(net_pnl_quote, dtype="float64")
    nan = float("nan")
    if r.size == 0:
        return TradeStats(0, nan, nan, nan, 0.0, 0.0 if committed_quote is not None else nan)
    gross_win = float(pnl[pnl > 0].sum())
    gross_loss = float(-pnl[pnl < 0].sum())
    pf = gross_win / gross_loss if gross_loss > 0 else (float("inf") if gross_win > 0 else nan)
    committed = nan if committed_quote is None else float(np.sum(committed_quote))
    capital = float(pnl.sum()) / committed if committed > 0 else nan
    return TradeStats(int(r.size), float((r > 0).mean()), float(r.mean()), pf, float(pnl.sum()),
                      committed, capital)



@dataclass(frozen=True, slots=True)
class EvalMetrics:
    """Classifier quality and trading outcome of one evaluation slice (a fold, all folds, or
    the quarantine).

    Attributes:
        setups: filled, resolved setups evaluated.
        base_win_rate: share of them that won under the rules-only exits.
        auc: ROC AUC of the model's score (raw probability within one model, its rank across
            models), not of the calibrated step function, so ties do not flatter or hide it.
        brier, calibration_error: of the calibrated confidence (NaN where none).
        precision_at_threshold: win rate of the setups the rule took (NaN if none).
        approved: how many the decision rule took.
        all_setups, ml_approved: :class:`TradeStats` of every setup vs the approved ones.
    """

    setups: int
    base_win_rate: float
    auc: float
    brier: float
    calibration_error: float
    precision_at_threshold: float
    approved: int
    all_setups: TradeStats
    ml_approved: TradeStats

    def to_dict(self) -> dict[str, object]:
        """JSON-ready nested dict."""
        d = asdict(self)
        d["all_setups"] = self.all_setups.to_dict()
        d["ml_approved"] = self.ml_approved.to_dict()
        return d


def evaluate(
    win: np.ndarray,
    score: np.ndarray,
    confidence: np.ndarray,
    take: np.ndarray,
    net_return_frac: np.ndarray,
    net_pnl_quote: np.ndarray,
    committed_quote: np.ndarray,
) -> EvalMetrics:
    """Metrics of one slice. All arrays shape (n,): ``score`` the model's ranking score,
    ``confidence`` calibrated in [0, 1] (NaN where not calibrated), ``take`` the rule's
    decision, ``committed_quote`` the filled cost of each setup."""
    y = np.asarray(win, dtype=bool)
    c = np.asarray(confidence, dtype="float64")
    approved = np.asarray(take, dtype=bool)
    has_c = ~np.isnan(c)
    r = np.asarray(net_return_frac, dtype="float64")
    pnl = np.asarray(net_pnl_quote, dtype="float64")
    q = np.asarray(committed_quote, dtype="float64")
    return EvalMetrics(
        setups=int(y.size),
        base_win_rate=float(y.mean()) if y.size else float("nan"),
        auc=auc(y, score),
        brier=brier(y[has_c], c[has_c]),
        calibration_error=calibration_error(y[has_c], c[has_c]),
        precision_at_threshold=float(y[approved].mean()) if approved.any() else float("nan"),
        approved=int(approved.sum()),
        all_setups=trade_stats(r, pnl, q),
        ml_approved=trade_stats(r[approved], pnl[approved], q[approved]),
    )
