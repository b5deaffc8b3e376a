"""Evaluation metrics against independent computations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from training.evaluation.metrics import auc, brier, calibration_error, evaluate, trade_stats


def _auc_by_pairs(y, s):
    pos = [v for v, t in zip(s, y, strict=True) if t]
    neg = [v for v, t in zip(s, y, strict=True) if not t]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_pairwise_definition(seed):
    rng = np.random.default_rng(seed)
    y = rng.random(80) < 0.4
    s = np.round(rng.random(80), 1)  # many ties
    assert auc(y, s) == pytest.approx(_auc_by_pairs(y, s))


def test_auc_one_class_is_nan():
    assert np.isnan(auc(np.ones(5, bool), np.arange(5.0)))


def test_brier_and_calibration_error():
    y = np.array([1, 0, 1, 1], dtype=bool)
    p = np.array([0.9, 0.2, 0.6, 0.65])
    assert brier(y, p) == pytest.approx(np.mean((p - y) ** 2))
    # two bins used: [0.2] -> |0.2-0|, [0.6,0.65] -> |0.625-1| (bin 6), [0.9] -> |0.9-1|
    expected = (1 * 0.2 + 2 * abs(0.625 - 1.0) + 1 * 0.1) / 4
    assert calibration_error(y, p) == pytest.approx(expected)


def test_trade_stats_profit_factor_and_expectancy():
    r = np.array([0.05, -0.02, 0.01, -0.04])
    pnl = r * 100
    st = trade_stats(r, pnl)
    assert st.trades == 4
    assert st.win_rate == 0.5
    assert st.expectancy_frac == pytest.approx(0.0)
    assert st.profit_factor == pytest.approx(6.0 / 6.0)
    assert trade_stats(np.array([0.1]), np.array([10.0])).profit_factor == float("inf")


def test_evaluate_splits_approved():
    win = np.array([1, 0, 1, 0], dtype=bool)
    score = np.array([0.9, 0.7, 0.3, 0.2])
    conf = np.array([0.6, 0.55, np.nan, 0.4])  # one row without a calibration
    take = score >= 0.6
    r = np.array([0.1, -0.05, 0.02, -0.01])
    committed = np.array([100.0, 100.0, 200.0, 50.0])
    m = evaluate(win, score, conf, take, r, r * 100, committed)
    assert m.approved == 2
    assert m.precision_at_threshold == 0.5
    assert m.ml_approved.trades == 2
    assert m.ml_approved.net_pnl_quote == pytest.approx(5.0)
    assert m.ml_approved.capital_return_frac == pytest.approx(5.0 / 200.0)
    assert m.all_setups.capital_return_frac == pytest.approx(6.0 / 450.0)
    assert m.auc == pytest.approx(0.75)  # of the score, not the calibrated confidence
    assert m.brier == pytest.approx(np.mean([(0.6 - 1) ** 2, 0.55 ** 2, 0.4 ** 2]))
