"""Choosing a decision rule's share from earlier folds, and the promotion gate.

The rule itself (:class:`ml_signals.scoring.rule.DecisionRule`) takes the top ``keep_frac`` of
setups by score rank. :func:`choose_keep` picks ``keep_frac`` from a short fixed grid on
out-of-fold setups of *earlier* folds only: the share whose setups earned the highest
capital-weighted return there. Seven candidates on thousands of setups leave little room to
overfit, and whatever room there is shows up honestly in the later folds it is applied to.

:func:`judge` is the gate a model must pass before ``train`` points ``current`` at it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from training.evaluation.evidence import SelectionEvidence

KEEP_GRID: Final[tuple[float, ...]] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
"""Shares of setups a rule may take. 1.0 (take all) is not a candidate: it is the rules."""
DEFAULT_KEEP: Final = 0.5
MIN_RULE_ROWS: Final = 100
"""Earlier out-of-fold setups needed before a fold gets an ex-ante rule; folds before that only
feed the calibration and rule of later folds."""
MIN_KEPT: Final = 30
"""A candidate share must keep at least this many earlier setups to be judged."""
GATE_MIN_TRADES: Final = 100
"""Out-of-fold setups the rule must take before a model can be published."""


def choose_keep(rank: npt.ArrayLike, net_pnl_quote: npt.ArrayLike,
                committed_quote: npt.ArrayLike) -> float:
    """Share of setups to take, chosen on earlier out-of-fold setups.

    Args:
        rank: each earlier setup's score rank in [0, 1], shape (n,).
        net_pnl_quote, committed_quote: its outcome after fees and the quote it committed.

    Returns:
        The :data:`KEEP_GRID` share with the highest capital-weighted return (ties: the
        smaller share), or :data:`DEFAULT_KEEP` when no share keeps :data:`MIN_KEPT` setups.
    """
    r = np.asarray(rank, dtype="float64")
    pnl = np.asarray(net_pnl_quote, dtype="float64")
    q = np.asarray(committed_quote, dtype="float64")
    best, best_value = DEFAULT_KEEP, -math.inf
    for keep in KEEP_GRID:
        kept = r >= 1.0 - keep - 1e-12
        if kept.sum() < MIN_KEPT or q[kept].sum() <= 0:
            continue
        value = float(pnl[kept].sum() / q[kept].sum())
        if value > best_value + 1e-15:
            best, best_value = keep, value
    return best


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """Whether a model may replace the rules in live trading, and why.

    Attributes:
        passed: every check passed.
        checks: check name -> passed.
        reasons: one line per check, ``PASS``/``FAIL`` with the figures.
        plan_gates: the original plan's success gates (win rate > 55 %, profit factor > 1.2,
            max drawdown < 10 %, Sharpe > 1) on the ML backtest, reported beside the verdict,
            not part of it; filled after the backtest.
    """

    passed: bool
    checks: dict[str, bool]
    reasons: tuple[str, ...]
    plan_gates: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def judge(oof: SelectionEvidence, quarantine: SelectionEvidence | None,
          min_trades: int = GATE_MIN_TRADES) -> GateVerdict:
    """The promotion gate.

    Passes when, out of fold with the ex-ante rule: the rule took at least ``min_trades``
    setups; its setups beat all setups on capital-weighted return with the 95 % lower bound of
    the difference (weeks resampled) above 0; their capital-weighted return after fees is
    positive; and on the quarantined newest 30 days the rule's setups did not do worse than all
    setups (a rule that took none there counts as earning 0 on no capital, so it passes when
    all setups lost or broke even).
    """
    pct = lambda v: "-" if v is None or not math.isfinite(v) else f"{100 * v:+.2f}%"  # noqa: E731
    checks: dict[str, bool] = {}
    reasons: list[str] = []

    def check(name: str, ok: bool, text: str) -> None:
        checks[name] = bool(ok)
        reasons.append(f"{'PASS' if ok else 'FAIL'} {name}: {text}")

    check("min_trades", oof.approved >= min_trades,
          f"{oof.approved} out-of-fold setups taken (need {min_trades})")
    lo, hi = oof.diff_capital_ci
    check("beats_rules", math.isfinite(lo) and lo > 0,
          f"approved - all = {pct(oof.diff_capital_frac)} of committed capital, 95 % interval "
          f"[{pct(lo)}, {pct(hi)}] over {oof.weeks} weeks (lower bound must be > 0)")
    check("positive_expectancy", math.isfinite(oof.approved_capital_frac)
          and oof.approved_capital_frac > 0,
          f"approved setups earned {pct(oof.approved_capital_frac)} of committed capital")
    if quarantine is None or quarantine.setups == 0:
        check("newest_30d", True, "no resolved setups in the newest 30 days")
    else:
        taken = quarantine.approved_capital_frac if quarantine.approved else 0.0
        ok = taken >= quarantine.all_capital_frac - 1e-12
        check("newest_30d", ok,
              f"{quarantine.approved} of {quarantine.setups} taken, earning {pct(taken)} vs "
              f"{pct(quarantine.all_capital_frac)} for all setups")
    return GateVerdict(all(checks.values()), checks, tuple(reasons))


def plan_gates(stats: dict[str, Any]) -> dict[str, Any]:
    """The original plan's success gates on one backtest's headline stats (``win_rate``,
    ``profit_factor``, ``max_drawdown_frac``, ``sharpe``): value and pass/fail each."""
    def gate(value: Any, ok: bool) -> dict[str, Any]:
        v = float(value) if value is not None else float("nan")
        return {"value": v, "passed": bool(ok) if math.isfinite(v) else False}

    dd = abs(float(stats.get("max_drawdown_frac") or 0.0))
    return {
        "win_rate_gt_55pct": gate(stats.get("win_rate"), (stats.get("win_rate") or 0) > 0.55),
        "profit_factor_gt_1_2": gate(stats.get("profit_factor"),
                                     (stats.get("profit_factor") or 0) > 1.2),
        "max_drawdown_lt_10pct": gate(dd, dd < 0.10),
        "sharpe_gt_1": gate(stats.get("sharpe"), (stats.get("sharpe") or 0) > 1.0),
    }


@dataclass(frozen=True, slots=True)
class FamilyChoice:
    """Which model family a strategy publishes, and why.

    Attributes:
        family: the chosen family.
        reason: one line with the figures behind the choice.
        candidates: per family: ``passed`` (gate), ``diff_capital_frac`` and its
            ``diff_capital_ci`` (out of fold, the rule's setups minus all setups).
    """

    family: str
    reason: str
    candidates: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def choose_family(candidates: dict[str, tuple[GateVerdict | None, dict[str, Any]]]
                  ) -> FamilyChoice:
    """Pick the model family to publish from families trained on the same folds.

    Rule: among the families whose gate passed, the one with the higher out-of-fold
    capital-weighted difference (``diff_capital_frac`` of the ``oof`` evidence: the rule's
    setups minus all setups, net PnL / committed quote); ties go to the family listed first
    (the incumbent, ``xgboost``, when the CLI lists it first). When none passed, the same
    comparison over all families picks the one written (its failing verdict keeps it
    unpublished).

    Args:
        candidates: family -> (gate verdict, ``TrainResult.evidence``), in preference order.

    Raises:
        ValueError: no candidates.
    """
    if not candidates:
        raise ValueError("choose_family needs at least one trained family")

    def diff(evidence: dict[str, Any]) -> float | None:
        v = (evidence.get("oof") or {}).get("diff_capital_frac")
        return float(v) if v is not None and math.isfinite(float(v)) else None

    table = {fam: {"passed": bool(v is not None and v.passed), "diff_capital_frac": diff(ev),
                   "diff_capital_ci": (ev.get("oof") or {}).get("diff_capital_ci")}
             for fam, (v, ev) in candidates.items()}

    def key(fam: str) -> float:
        value = table[fam]["diff_capital_frac"]
        return -math.inf if value is None else float(value)

    passing = [f for f, row in table.items() if row["passed"]]
    pool = passing or list(table)
    best = pool[0]
    for fam in pool[1:]:
        if key(fam) > key(best):
            best = fam
    figures = ", ".join(
        f"{f} {'PASS' if r['passed'] else 'FAIL'} taken-all "
        + ("-" if r["diff_capital_frac"] is None else f"{100 * r['diff_capital_frac']:+.2f}%")
        for f, r in table.items())
    why = ("best taken-all of the families that passed the gate" if passing
           else "no family passed the gate; best taken-all, not published")
    return FamilyChoice(best, f"{best}: {why} ({figures})", table)
