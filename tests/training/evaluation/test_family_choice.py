"""training.evaluation.decision.choose_family: the family that passed the gate with the higher
out-of-fold capital-weighted taken-all is published; ties keep the first listed; without a
pass the best is written, marked unpublished."""

from __future__ import annotations

import numpy as np

from training.evaluation.decision import GateVerdict, choose_family, judge
from training.evaluation.evidence import selection_evidence


def _verdict(passed: bool) -> GateVerdict:
    return GateVerdict(passed, {"beats_rules": passed}, ("PASS" if passed else "FAIL",))


def _evidence(diff: float | None) -> dict:
    return {"oof": {"diff_capital_frac": diff, "diff_capital_ci": (None, None)}}


def test_a_passing_family_beats_a_failing_one_with_a_higher_difference():
    choice = choose_family({"xgboost": (_verdict(False), _evidence(0.05)),
                            "torch": (_verdict(True), _evidence(0.01))})
    assert choice.family == "torch"
    assert "passed the gate" in choice.reason and "torch PASS taken-all +1.00%" in choice.reason


def test_between_passing_families_the_higher_difference_wins_and_ties_keep_the_first():
    both = {"xgboost": (_verdict(True), _evidence(0.010)),
            "torch": (_verdict(True), _evidence(0.012))}
    assert choose_family(both).family == "torch"
    tie = {"xgboost": (_verdict(True), _evidence(0.01)),
           "torch": (_verdict(True), _evidence(0.01))}
    assert choose_family(tie).family == "xgboost"


def test_no_pass_writes_the_best_difference_and_says_it_is_not_published():
    choice = choose_family({"xgboost": (_verdict(False), _evidence(None)),
                            "torch": (_verdict(False), _evidence(-0.02))})
    assert choice.family == "torch" and "not published" in choice.reason
    assert choice.candidates["xgboost"]["diff_capital_frac"] is None


def test_verdicts_from_the_gate_on_real_shaped_evidence():
    """Both inputs built by the gate's own functions: 150 setups over 20 weeks where one
    family's rule keeps the winners and the other's keeps a fixed half."""
    rng = np.random.default_rng(3)
    n = 150
    win = rng.random(n) < 0.5
    pnl = np.where(win, 2.0, -1.0)
    quote = np.full(n, 100.0)
    ret = pnl / quote
    decision = 1_700_000_000 + np.arange(n) * 86_400  # one setup a day
    score = win + rng.random(n) * 0.1
    good = selection_evidence(win, score, win | (rng.random(n) < 0.1), pnl, quote, ret,
                              decision)
    half = selection_evidence(win, score, np.arange(n) % 2 == 0, pnl, quote, ret, decision)
    evidence = {"good": (judge(good, None, min_trades=30), {"oof": good.to_dict()}),
                "half": (judge(half, None, min_trades=30), {"oof": half.to_dict()})}
    choice = choose_family(evidence)
    assert evidence["good"][0].passed and not evidence["half"][0].passed
    assert choice.family == "good"
    assert choice.candidates["good"]["diff_capital_frac"] == good.diff_capital_frac

