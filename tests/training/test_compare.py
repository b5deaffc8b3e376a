"""Training candidates on the same folds: same setups for each, the chance baseline beside
them, and a win only for a gate pass with a higher uplift than ``current``."""

from __future__ import annotations

import math

from training.compare import COMPARE_HEADER, compare_candidates, compare_rows
from training.labels import FeeSchedule


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
