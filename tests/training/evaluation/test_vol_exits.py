"""Volatility-scaled exits: inside the configured bounds, replayed by the label kernel exactly as
a setup carrying those exits, and compared with the fixed exits on later setups only."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ml_signals.scoring.config import DEFAULT_SCORING
from ml_signals.setups import DcaConfig
from ml_signals.vol_exits import ATR_FEATURE, VolatilityExits, VolExitPolicy
from training.evaluation.vol_exits import GRID, compare_vol_exits, fixed_exits_config, relabel
from training.labels.dataset import build_dataset, compute_pair_features, label_config_for
from training.labels.outcomes import FeeSchedule, label_setups


@pytest.fixture(scope="module")
def dca(sample_binance):
    features = compute_pair_features(sample_binance, "BTC-USDT")
    scoring = DEFAULT_SCORING["dca"]
    ds = build_dataset("dca", features, fixed_exits_config("dca"),
                       label_config=label_config_for(scoring))
    return ds, features, scoring


def test_exits_stay_inside_the_bounds(dca):
    ds, _, scoring = dca
    policy = VolExitPolicy(8.0, 6.0, scoring.take_profit_min_frac, scoring.take_profit_max_frac,
                           scoring.stop_loss_min_frac, scoring.stop_loss_max_frac)
    atr = ds.frame[ATR_FEATURE].to_numpy(float)
    scaled = [policy.apply(s, float(a)) for s, a in zip(ds.setups, atr, strict=True)]
    tp = np.array([s.exits.take_profit_frac for s in scaled])
    sl = np.array([s.exits.stop_loss_frac for s in scaled])
    assert (tp >= scoring.take_profit_min_frac).all() and (tp <= scoring.take_profit_max_frac).all()
    assert (sl >= scoring.stop_loss_min_frac).all() and (sl <= scoring.stop_loss_max_frac).all()
    # they follow the ATR between the bounds: not one fixed value
    assert len(np.unique(np.round(tp, 6))) > 10
    inside = (8 * atr > scoring.take_profit_min_frac) & (8 * atr < scoring.take_profit_max_frac)
    np.testing.assert_allclose(tp[inside], 8 * atr[inside])
    # time limit and trailing stop are the detector's
    assert all(a.exits.time_limit_s == b.exits.time_limit_s for a, b in
               zip(scaled, ds.setups, strict=True))
    assert policy.apply(ds.setups[0], math.nan) is ds.setups[0]


def test_relabel_equals_the_kernel_on_setups_carrying_those_exits(dca):
    ds, features, scoring = dca
    policy = VolExitPolicy(6.0, 4.0, scoring.take_profit_min_frac, scoring.take_profit_max_frac,
                           scoring.stop_loss_min_frac, scoring.stop_loss_max_frac)
    fees, config = FeeSchedule(), label_config_for(scoring)
    labels = relabel(ds, features, policy, fees, config)
    assert list(labels.index) == list(ds.frame.index)
    pair = ds.frame["pair"].iat[0]
    idx = np.flatnonzero(ds.frame["pair"].to_numpy(object) == pair)
    own = [policy.apply(ds.setups[i], float(ds.frame[ATR_FEATURE].iat[i])) for i in idx]
    cs = features[pair].candles
    direct = label_setups(own, cs.frame, cs.interval_s, fees, config)
    for col in ("exit_reason", "net_pnl_quote", "filled_quote", "win"):
        np.testing.assert_array_equal(labels[col].to_numpy()[idx], direct[col].to_numpy())
    # and the exits differ from the fixed ones somewhere: the comparison can tell them apart
    assert (labels["exit_reason"].to_numpy() != ds.frame["exit_reason"].to_numpy()).any()


def test_multiples_are_chosen_on_the_earlier_half(dca):
    ds, features, scoring = dca
    res = compare_vol_exits(ds, features, scoring, FeeSchedule(), label_config_for(scoring))
    grid_names = [k for k in res["early"] if k != "fixed"]
    assert len(grid_names) == len(GRID)
    best = max(grid_names, key=lambda k: res["early"][k])
    assert res["chosen"]["name"] == best
    late = res["late"]
    lo, hi = late["diff_ci"]
    assert lo <= late["diff"] <= hi and late["setups"] > 0
    split = int(np.median(ds.frame["decision_s"]))
    assert late["setups"] <= int((ds.frame["decision_s"] >= split).sum())


def test_dca_detector_scales_its_own_exits_and_labels_follow(dca, sample_binance):
    """DCA's default exits are the volatility-scaled ones; its labels are exactly the fixed
    setups relabelled under that policy, so the gate judges models against these rules."""
    fixed_ds, features, scoring = dca
    ds = build_dataset("dca", features, label_config=label_config_for(scoring))
    policy = DcaConfig().volatility_exits.policy()
    assert policy is not None
    assert [s.setup_id for s in ds.setups] == [s.setup_id for s in fixed_ds.setups]
    atr = ds.frame[ATR_FEATURE].to_numpy(float)
    for own, fixed, a in zip(ds.setups, fixed_ds.setups, atr, strict=True):
        assert own.exits == policy.apply(fixed, float(a)).exits
        assert policy.tp_min_frac <= own.exits.take_profit_frac <= policy.tp_max_frac
    relabelled = relabel(fixed_ds, features, policy, FeeSchedule(), label_config_for(scoring))
    for col in ("exit_reason", "net_pnl_quote", "filled_quote", "win"):
        np.testing.assert_array_equal(ds.frame[col].to_numpy(), relabelled[col].to_numpy())
    off = DcaConfig(volatility_exits=VolatilityExits(enabled=False))
    assert all(s.exits == off.exits() for s in fixed_ds.setups)
