"""Training candidates on the same folds: same setups for each, the chance baseline beside
them, and a win only for a gate pass with a higher uplift than ``current``."""

from __future__ import annotations

import math

from ml_signals.scoring.config import DEFAULT_SCORING
from training.labels.dataset import build_dataset, compute_pair_features, label_config_for
from training.labels.outcomes import FeeSchedule
from training.models.boosters import fit_money_scorer, predict
from training.models.compare import COMPARE_HEADER, compare_candidates, compare_rows
from training.models.pooled import indicator, pooled_dataset


def test_candidates_share_setups_and_show_the_null(sample_binance):
    results = compare_candidates(sample_binance, "BTC-USDT", ["dca"], FeeSchedule(),
                                 ["current", "capital_weight"], n_folds=3)
    by_name = results["dca"]
    assert by_name["current"]["evidence"]["setups"] == \
        by_name["capital_weight"]["evidence"]["setups"] > 0
    assert 0.3 < by_name["current"]["null_auc"] < 0.7
    assert by_name["capital_weight"]["null_auc"] is None  # the baseline is run once
    for name, r in by_name.items():
        uplift = r["evidence"]["diff_capital_frac"]
        beats = math.isfinite(uplift) and uplift > by_name["current"]["evidence"][
            "diff_capital_frac"]
        assert r["wins"] == (name != "current" and r["gate"]["passed"] and beats)
    rows = compare_rows(results)
    assert len(rows) == 2 and all(len(r) == len(COMPARE_HEADER) for r in rows)
    null_col = COMPARE_HEADER.index("null AUC")
    assert rows[0][null_col] == rows[1][null_col] != "-"


def test_pooled_model_is_judged_on_each_strategys_own_rows(sample_binance):
    """One model over dca and channel setups with a strategy indicator; each strategy's
    out-of-fold rows get their own evidence, on the same setups as its own model."""
    results = compare_candidates(sample_binance, "BTC-USDT", ["dca", "channel"], FeeSchedule(),
                                 ["current", "pooled"], n_folds=3)
    features = compute_pair_features(sample_binance, "BTC-USDT")
    datasets = {s: build_dataset(s, features,
                                 label_config=label_config_for(DEFAULT_SCORING[s]))
                for s in ("dca", "channel")}
    pooled = pooled_dataset(datasets)
    assert len(pooled.frame) == sum(len(d.frame) for d in datasets.values())
    assert (pooled.frame["decision_s"].diff().dropna() >= 0).all()
    for name, ds in datasets.items():
        mine = pooled.frame["strategy"] == name
        assert (pooled.frame.loc[mine, indicator(name)] == 1.0).all()
        assert (pooled.frame.loc[~mine, indicator(name)] == 0.0).all()
        assert sorted(pooled.frame.loc[mine, "setup_id"]) == sorted(ds.frame["setup_id"])
    assert not any(c.startswith("setup_grid") for c in pooled.input_columns)
    assert [s.setup_id for s in pooled.setups] == list(pooled.frame["setup_id"])
    for strategy in ("dca", "channel"):
        r = results[strategy].get("pooled")
        assert r is not None, f"{strategy}: the pooled model scored none of its rows"
        ev = r["evidence"]
        # judged on the setups the strategy's own model scored ex ante (or a subset of them)
        assert 0 < ev["setups"] <= results[strategy]["current"]["evidence"]["setups"]
        assert ev["approved"] <= ev["setups"]
        assert {"passed", "reasons"} <= set(r["gate"])
    rows = compare_rows(results)
    assert sum(1 for row in rows if row[1] == "pooled") == 2


def test_money_target_ranks_by_predicted_pnl(sample_binance):
    """The money candidate's score is a PnL regressor: its out-of-fold AUC and evidence are
    computed on the same setups as ``current``, and the model it trains predicts quote, not a
    probability."""
    results = compare_candidates(sample_binance, "BTC-USDT", ["dca"], FeeSchedule(),
                                 ["current", "money_target"], n_folds=3)
    cur, money = results["dca"]["current"], results["dca"]["money_target"]
    assert money["evidence"]["setups"] == cur["evidence"]["setups"] > 0
    assert money["evidence"]["diff_capital_frac"] != cur["evidence"]["diff_capital_frac"]
    features = compute_pair_features(sample_binance, "BTC-USDT")
    ds = build_dataset("dca", features, label_config=label_config_for(DEFAULT_SCORING["dca"]))
    x, pnl = ds.inputs(), ds.frame["net_pnl_quote"].to_numpy(float)
    ok = ~(ds.frame["exit_reason"] == "OPEN_AT_END").to_numpy()
    n = int(ok.sum() * 0.8)
    idx = ok.nonzero()[0]
    booster = fit_money_scorer(x[idx[:n]], pnl[idx[:n]], list(ds.input_columns),
                               x[idx[n:]], pnl[idx[n:]])
    pred = predict(booster, x[idx[n:]], list(ds.input_columns))
    assert pred.min() < 0 or pred.max() > 1  # quote PnL, not a probability
