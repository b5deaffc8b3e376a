"""The evidence table and gate verdicts, as console text and as an HTML section.

One set of rows (:func:`evidence_rows`) feeds the printed table, ``summary.md`` and the HTML
report, so the three always show the same figures. Inputs come from
``TrainResult.evidence`` (see :mod:`training.models.train`) or an ``evaluate`` run; intervals are
the 95 % week-block bootstrap intervals of :mod:`training.evaluation.evidence`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from training.reporting.formatting import interval, num, signed_pct
from training.reporting.render import render

EVIDENCE_HEADER: Final = (
    "strategy", "slice", "setups", "weeks", "AUC [95%]", "taken", "cap. all [95%]",
    "cap. taken [95%]", "taken-all [95%]", "mean all", "mean taken",
)
"""Capital-weighted returns ("cap.") are net PnL / committed quote; means are per setup."""


def evidence_cells(strategy: str, slice_name: str, ev: Mapping[str, Any] | None,
                   auc_from: Mapping[str, Any] | None = None) -> list[str]:
    """One row of :data:`EVIDENCE_HEADER` from a ``SelectionEvidence`` dict; ``auc_from``
    supplies the AUC (e.g. pooled over every scored fold) when given."""
    if not ev or not ev.get("setups"):
        return [strategy, slice_name, "0", *["-"] * (len(EVIDENCE_HEADER) - 3)]
    a = auc_from or ev
    share = ev.get("approved_share")
    return [
        strategy, slice_name, str(ev["setups"]), str(ev["weeks"]),
        num(a.get("auc")) + interval(a.get("auc_ci"), False),
        f"{ev['approved']} ({signed_pct(share).lstrip('+')})",
        signed_pct(ev["all_capital_frac"]) + interval(ev.get("all_capital_ci"), True),
        signed_pct(ev["approved_capital_frac"]) + interval(ev.get("approved_capital_ci"), True),
        signed_pct(ev["diff_capital_frac"]) + interval(ev.get("diff_capital_ci"), True),
        signed_pct(ev["all_mean_frac"]), signed_pct(ev["approved_mean_frac"]),
    ]


def evidence_rows(strategy: str, evidence: Mapping[str, Any],
                  first_slice: str = "out-of-fold") -> list[list[str]]:
    """Rows of one strategy: out of fold (ex-ante rule; AUC over every scored fold; named
    ``first_slice``, e.g. ``"unseen candles"`` for ``evaluate``), the newest 30 days, and the
    null (inputs shifted far in time)."""
    rows = [evidence_cells(strategy, first_slice, evidence.get("oof"),
                           evidence.get("pooled_auc"))]
    if "quarantine" in evidence:
        rows.append(evidence_cells(strategy, "newest 30d", evidence.get("quarantine")))
    if evidence.get("null"):
        rows.append(evidence_cells(strategy, "null (shifted)", evidence.get("null_ex_ante"),
                                   evidence.get("null")))
    return rows


def family_evidence_rows(strategy: str, sr: Any) -> list[list[str]]:
    """Rows of one strategy run (:class:`training.pipeline.StrategyRun`): its evidence; when
    several model families were trained, every family's rows side by side, labelled
    ``strategy/family`` with ``*`` on the chosen one."""
    choice = getattr(sr, "choice", None)
    families = getattr(sr, "families", {})
    if choice is None or len(families) < 2:
        return evidence_rows(strategy, sr.result.evidence)
    rows: list[list[str]] = []
    for family, result in families.items():
        mark = "*" if family == choice.family else ""
        rows.extend(evidence_rows(f"{strategy}/{family}{mark}", result.evidence))
    return rows


def family_lines(strategy: str, sr: Any) -> list[str]:
    """Console / HTML lines: each family's gate verdict and the family choice (empty when one
    family was trained)."""
    choice = getattr(sr, "choice", None)
    if choice is None:
        return []
    lines = [f"{strategy}: model family {choice.reason}"]
    for family, result in getattr(sr, "families", {}).items():
        verdict = result.verdict
        lines.append(f"  {family}: gate {'PASS' if verdict and verdict.passed else 'FAIL'}")
        lines.extend(f"    {r}" for r in (verdict.reasons if verdict else ()))
    return lines


def verdict_lines(strategy: str, gate: Mapping[str, Any] | None) -> list[str]:
    """Console lines: the verdict and one line per check."""
    if not gate:
        return [f"{strategy}: no gate verdict"]
    head = f"{strategy}: gate {'PASS' if gate.get('passed') else 'FAIL'}"
    if "published" in gate:
        head += " - published as current" if gate["published"] else " - not published"
    lines = [head, *(f"  {r}" for r in gate.get("reasons", ()))]
    plan = gate.get("plan_gates") or {}
    for scope, gates in plan.items():
        cells = ", ".join(f"{k} {'pass' if v['passed'] else 'fail'} ({num(v['value'], 3)})"
                          for k, v in gates.items())
        lines.append(f"  plan gates, {scope} ML backtest (reported, not gating): {cells}")
    return lines


def exit_lines(strategy: str, choice: Mapping[str, Any] | None,
               sizing: Mapping[str, Any] | None = None) -> list[str]:
    """Console lines: whose exits the model trades and how it sizes, with the evidence
    (:func:`training.evaluation.exit_choice.choose_exit_source`,
    :func:`training.evaluation.size_choice.choose_sizing`).
    """
    if not choice or "oof" not in choice:
        return []
    lines = [f"{strategy}: trades with the {choice['source']}'s exits; detector exits: "
             f"{choice['detector_exits']}"]
    for name, key in (("out-of-fold", "oof"), ("newest 30d", "quarantine")):
        ev = choice.get(key) or {}
        if not ev.get("setups"):
            continue
        lines.append(f"  {name}, taken setups: {ev['setups']} over {ev['weeks']} weeks, "
                     f"detector {signed_pct(ev['detector'])}, "
                     f"model exits {signed_pct(ev['model'])}, model - detector "
                     f"{signed_pct(ev['diff'])}{interval(ev.get('diff_ci'), True)}")
    ev = (sizing or {}).get("oof") or {}
    if sizing and ev.get("setups"):
        lines.append(f"  sizes {sizing['source']}: rank-sized (mean {ev['mean_multiplier']:.2f} x) "
                     f"{signed_pct(ev['rank'])} vs flat {signed_pct(ev['flat'])}, difference "
                     f"{signed_pct(ev['diff'])}{interval(ev.get('diff_ci'), True)} "
                     f"on {ev['setups']} "
                     f"taken out-of-fold setups")
    return lines


def evidence_section(run: Any) -> str:
    """HTML section: the evidence table and each strategy's gate verdict."""
    rows: list[list[str]] = []
    verdicts: list[str] = []
    dropped: list[str] = []
    for strategy, sr in run.strategies.items():
        rows.extend(family_evidence_rows(strategy, sr))
        counts = getattr(sr.dataset, "dropped_bad_candles", {})
        if counts:
            dropped.append(f"{strategy}: " + ", ".join(f"{p} {n}"
                                                         for p, n in sorted(counts.items())))
        verdict = sr.result.verdict
        gate = verdict.to_dict() if verdict is not None else None
        if gate is not None:
            gate["published"] = getattr(sr, "published", False)
        lines = [*verdict_lines(strategy, gate), *family_lines(strategy, sr), *exit_lines(
            strategy, getattr(sr, "exit_choice", None), getattr(sr, "sizing_choice", None))]
        verdicts.append("\n".join(lines))
    return render("training/evidence.html", head=EVIDENCE_HEADER, rows=rows, verdicts=verdicts,
                  dropped="; ".join(dropped))
