"""Do volatility-scaled exits beat the plan's fixed ones? Multiples chosen on the earlier half,
judged on the later half.

Every setup is replayed by the same label kernel under its detector's fixed exits and under
:class:`ml_signals.vol_exits.VolExitPolicy` for each multiple pair of :data:`GRID`. The pair
with the best capital-weighted return on the setups decided in the earlier half of the data is
chosen there; on the later half it is compared with the fixed exits on the same setups (rows
resolved under both), with the 95 % interval of the paired difference from resampling weeks.
Rules only, no model: if the chosen volatility exits win, they are the better rules, and the
gate should judge models against them (DCA's detector now uses them by default; the comparison
is always made from the plan's fixed exits, :func:`fixed_exits_config`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd

from ml_signals.scoring.config import ScoringConfig
from ml_signals.setups import DcaConfig, DetectorConfig
from ml_signals.vol_exits import ATR_FEATURE, VolatilityExits, VolExitPolicy
from training.evaluation.evidence import block_counts, capital_return, interval, week_of
from training.evaluation.exit_choice import replay_setups
from training.labels.dataset import PairFeatures, SetupDataset
from training.labels.outcomes import FeeSchedule, LabelConfig

GRID: Final[tuple[tuple[float, float], ...]] = (
    (3.0, 3.0), (4.0, 4.0), (6.0, 4.0), (6.0, 6.0), (8.0, 6.0), (8.0, 8.0), (12.0, 8.0))
"""``(k_tp, k_sl)`` multiples of ``atr_14_frac`` tried (ATR at 1h: about 0.5-1 % for BTC,
2-3 % for small caps, so 6 x ATR spans the plan's 3-15 %)."""


def fixed_exits_config(strategy: str) -> DetectorConfig | None:
    """Detector config of ``strategy`` with the plan's fixed exits (volatility scaling off);
    ``None`` where the detector's defaults are already fixed. The baseline of
    :func:`compare_vol_exits`: build the dataset with it."""
    if strategy == "dca":
        return DcaConfig(volatility_exits=VolatilityExits(enabled=False))
    return None


def relabel(ds: SetupDataset, features: Mapping[str, PairFeatures], policy: VolExitPolicy,
            fees: FeeSchedule, label_config: LabelConfig) -> pd.DataFrame:
    """Label frame of ``ds``'s setups replayed with ``policy``'s exits, aligned with
    ``ds.frame`` (same index); columns of :func:`training.labels.outcomes.label_setups`."""
    atr = ds.frame[ATR_FEATURE].to_numpy("float64")
    setups = [policy.apply(s, float(a)) for s, a in zip(ds.setups, atr, strict=True)]
    return replay_setups(ds, features, np.arange(len(ds.frame)), setups, fees, label_config)


def _usable(labels: pd.DataFrame) -> np.ndarray:
    return (labels["filled"].to_numpy(bool)
            & (labels["exit_reason"].to_numpy() != "OPEN_AT_END"))


def _capital(labels: pd.DataFrame, rows: np.ndarray) -> float:
    q = labels.loc[rows, "filled_quote"].to_numpy(float).sum()
    return float(labels.loc[rows, "net_pnl_quote"].to_numpy(float).sum() / q) if q > 0 \
        else float("nan")


def compare_vol_exits(ds: SetupDataset, features: Mapping[str, PairFeatures],
                      scoring: ScoringConfig, fees: FeeSchedule,
                      label_config: LabelConfig) -> dict[str, Any]:
    """Fixed vs volatility-scaled exits, rules only (module docstring). ``ds`` must carry the
    plan's fixed exits (built with :func:`fixed_exits_config`).

    Returns:
        ``{"chosen": policy dict, "early": {grid label: capital return}, "late": {"setups",
        "weeks", "fixed", "vol", "diff", "diff_ci"}}`` (capital-weighted returns, fractions).
    """
    frame = ds.frame
    decision = frame["decision_s"].to_numpy("int64")
    split = int(np.median(decision))
    early, late = decision < split, decision >= split
    fixed = frame
    scores: dict[str, float] = {}
    labels_by: dict[str, pd.DataFrame] = {}
    for k_tp, k_sl in GRID:
        policy = VolExitPolicy(k_tp, k_sl, scoring.take_profit_min_frac,
                               scoring.take_profit_max_frac, scoring.stop_loss_min_frac,
                               scoring.stop_loss_max_frac)
        name = f"tp {k_tp:g}x / sl {k_sl:g}x ATR"
        labels = relabel(ds, features, policy, fees, label_config)
        labels_by[name] = labels
        scores[name] = _capital(labels, early & _usable(labels))
    best = max(scores, key=lambda n: scores[n] if np.isfinite(scores[n]) else -np.inf)
    vol = labels_by[best]
    rows = late & _usable(vol) & _usable(fixed)
    counts, index = block_counts(week_of(decision[rows]))
    whole = np.ones((1, counts.shape[1]))
    both = np.vstack([whole, counts])
    mask = np.ones(int(rows.sum()), dtype=bool)
    f_cap = capital_return(fixed.loc[rows, "net_pnl_quote"].to_numpy(float),
                           fixed.loc[rows, "filled_quote"].to_numpy(float), mask, both, index)
    v_cap = capital_return(vol.loc[rows, "net_pnl_quote"].to_numpy(float),
                           vol.loc[rows, "filled_quote"].to_numpy(float), mask, both, index)
    k_tp, k_sl = GRID[list(scores).index(best)]
    return {
        "chosen": {"name": best, "k_tp": k_tp, "k_sl": k_sl},
        "early": {**scores, "fixed": _capital(fixed, early & _usable(fixed))},
        "late": {"setups": int(rows.sum()), "weeks": int(counts.shape[1]),
                 "fixed": float(f_cap[0]), "vol": float(v_cap[0]),
                 "diff": float(v_cap[0] - f_cap[0]), "diff_ci": interval(v_cap[1:] - f_cap[1:])},
    }
