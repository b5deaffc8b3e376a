"""Walk-forward plan: purge, embargo, quarantine and time order on real setup times."""

from __future__ import annotations

import numpy as np
import pytest

from training.models.walkforward import DAY_S, plan_walk_forward


@pytest.fixture()
def times(sample_binance):
    """Decision times: every 7th real BTC candle close; labels resolve 0-72 h later."""
    ts = sample_binance["BTC-USDT"].frame["timestamp"].to_numpy()[::7] + 3600
    rng = np.random.default_rng(3)
    end = ts + rng.integers(0, 72 * 3600, size=ts.size)
    return ts, end, int(ts[-1] + 3600)


def test_train_labels_end_before_test_minus_embargo(times):
    decision, label_end, data_end = times
    plan = plan_walk_forward(decision, label_end, data_end, n_folds=5)
    assert len(plan.folds) == 5
    for fold in plan.folds:
        assert fold.train.any() and fold.test.any()
        assert label_end[fold.train].max() < fold.test_start_s - DAY_S
        assert decision[fold.test].min() >= fold.test_start_s
        assert decision[fold.test].max() < fold.test_end_s
        # no row is in both
        assert not (fold.train & fold.test).any()


def test_folds_are_time_ordered_and_disjoint(times):
    decision, label_end, data_end = times
    plan = plan_walk_forward(decision, label_end, data_end, n_folds=4)
    starts = [f.test_start_s for f in plan.folds]
    assert starts == sorted(starts)
    tested = np.zeros(decision.size, dtype=int)
    for fold in plan.folds:
        tested += fold.test
    assert tested.max() == 1


def test_quarantine_never_trains(times):
    decision, label_end, data_end = times
    plan = plan_walk_forward(decision, label_end, data_end, quarantine_s=30 * DAY_S)
    assert plan.quarantine_start_s == data_end - 30 * DAY_S
    assert decision[plan.quarantine].min() >= plan.quarantine_start_s
    assert label_end[plan.final_train].max() < plan.quarantine_start_s - DAY_S
    for fold in plan.folds:
        assert not (fold.test & plan.quarantine).any()
        assert not (fold.train & plan.quarantine).any()


def test_bad_arguments_are_refused(times):
    decision, label_end, data_end = times
    with pytest.raises(ValueError, match="one day"):
        plan_walk_forward(decision, label_end, data_end, embargo_s=3600)
    with pytest.raises(ValueError, match="before its setup"):
        plan_walk_forward(decision, decision - 1, data_end)
    with pytest.raises(ValueError, match="quarantined"):
        plan_walk_forward(decision, label_end, int(decision.min()) + 10 * DAY_S)
