"""Training candidates on the same folds: same setups for each, the chance baseline beside
them, and a win only for a gate pass with a higher uplift than ``current``."""

from __future__ import annotations

import math

from ml_signals.scoring.config import DEFAULT_SCORING
from training.compare import COMPARE_HEADER, compare_candidates, compare_rows
from training.dataset import build_dataset, compute_pair_features, label_config_for
from training.labels import FeeSchedule
from training.pooled import indicator, pooled_dataset


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
        assert 0 < ev["setups"] <= len(datasets[strategy].frame)
        assert ev["approved"] <= ev["setups"]
        assert {"passed", "reasons"} <= set(r["gate"])
    rows = compare_rows(results)
    assert sum(1 for row in rows if row[1] == "pooled") == 2
