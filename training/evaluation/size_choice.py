"""Does sizing by the score's rank earn more per unit of capital than a flat size?

The scorer can scale each taken setup's quote amounts by its rank (the plan's 0.5-1.5 x,
:meth:`ml_signals.scoring.config.ScoringConfig.size_multiplier`: 1 x at the rule's cut, up to
``size_max`` at the top). That is a bet that the ranking carries money, not only order. On the
taken out-of-fold setups before the quarantine, the rank-scaled sizes are compared with a flat
1 x on capital-weighted return (net PnL / committed quote, both scaled by the multiplier), the
interval from resampling whole weeks. Rank sizing is published only when the difference is
above zero with its interval; otherwise every taken setup trades 1 x. The quarantine's figure
is reported, not used.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from ml_signals.scoring.config import ScoringConfig
from training.evaluation.evidence import block_counts, capital_return, interval, week_of

MIN_CI_LOW: Final = 0.0
"""Rank sizing wins only when the lower end of the 95 % interval of (rank-sized - flat)
capital-weighted return is above this."""


def compare_sizing(frame: pd.DataFrame, oof: pd.DataFrame, rows: np.ndarray,
                   scoring: ScoringConfig) -> dict[str, Any]:
    """Flat vs rank-scaled sizes on the ``rows`` setups (boolean mask over ``frame``).

    Args:
        frame: the dataset frame (``net_pnl_quote``, ``filled_quote``, ``decision_s``).
        oof: ``TrainResult.oof`` aligned with ``frame`` (``rank``, ``min_rank``).
        rows: which setups (usually the rule's, out of fold).
        scoring: the size rule (``size_min`` / ``size_max``).

    Returns:
        ``{"setups", "weeks", "flat", "rank", "diff", "diff_ci", "mean_multiplier"}``
        (fractions; NaN figures when no row).
    """
    n = int(rows.sum())
    if n == 0:
        nan = float("nan")
        return {"setups": 0, "weeks": 0, "flat": nan, "rank": nan, "diff": nan,
                "diff_ci": (nan, nan), "mean_multiplier": nan}
    rank = oof.loc[rows, "rank"].to_numpy(float)
    cut = oof.loc[rows, "min_rank"].to_numpy(float)
    mult = np.array([scoring.size_multiplier(float(r), float(c))
                     for r, c in zip(rank, cut, strict=True)])
    pnl = frame.loc[rows, "net_pnl_quote"].to_numpy(float)
    quote = frame.loc[rows, "filled_quote"].to_numpy(float)
    counts, index = block_counts(week_of(frame.loc[rows, "decision_s"].to_numpy("int64")))
    weights = np.vstack([np.ones((1, counts.shape[1])), counts])
    mask = np.ones(n, dtype=bool)
    flat = capital_return(pnl, quote, mask, weights, index)
    sized = capital_return(pnl * mult, quote * mult, mask, weights, index)
    return {"setups": n, "weeks": int(counts.shape[1]), "flat": float(flat[0]),
            "rank": float(sized[0]), "diff": float(sized[0] - flat[0]),
            "diff_ci": interval(sized[1:] - flat[1:]), "mean_multiplier": float(mult.mean())}


def choose_sizing(frame: pd.DataFrame, oof: pd.DataFrame, usable: np.ndarray,
                  scoring: ScoringConfig) -> dict[str, Any]:
    """The published sizing (module docstring) with its evidence.

    Returns:
        ``{"source": "rank" | "flat", "rule", "oof": compare_sizing on the taken ex-ante
        rows, "quarantine": the same on the quarantine}``.
    """
    fold = oof["fold"].to_numpy("int64")
    take = oof["take"].to_numpy(bool)
    ex_ante = compare_sizing(frame, oof, (fold > 0) & usable & take, scoring)
    quarantine = compare_sizing(frame, oof, (fold < 0) & usable & take, scoring)
    low = ex_ante["diff_ci"][0]
    source = "rank" if ex_ante["setups"] and np.isfinite(low) and low > MIN_CI_LOW else "flat"
    return {"source": source,
            "rule": "size by rank only when rank-sized minus flat capital-weighted return on "
                    "the taken out-of-fold setups is above zero with its 95 % interval",
            "oof": ex_ante, "quarantine": quarantine}
