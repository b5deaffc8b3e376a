"""Honest evaluation: week-block intervals, the shifted-feature null, an ex-ante rule that never
sees its own or later labels, and a gate that refuses a model worse than the rules."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml_signals.scoring.artifact import current_version_dir
from ml_signals.scoring.config import DEFAULT_SCORING
from training.artifacts.provenance import data_provenance
from training.artifacts.writer import write_artifact
from training.evaluation.decision import KEEP_GRID, choose_keep, judge
from training.evaluation.evidence import block_counts, selection_evidence, weighted_auc
from training.evaluation.metrics import auc
from training.labels.dataset import build_dataset, compute_pair_features, label_config_for
from training.labels.outcomes import FeeSchedule
from training.models import train as train_module
from training.models.train import train_strategy, trainable_rows
from training.models.walkforward import plan_walk_forward


@pytest.fixture(scope="module")
def dca_dataset(sample_binance):
    scoring = DEFAULT_SCORING["dca"]
    features = compute_pair_features(sample_binance, "BTC-USDT")
    return build_dataset("dca", features, label_config=label_config_for(scoring))


@pytest.fixture(scope="module")
def dca_result(dca_dataset):
    return train_strategy(dca_dataset, DEFAULT_SCORING["dca"], n_folds=3)


def test_weighted_auc_equals_the_auc_of_repeated_rows():
    rng = np.random.default_rng(3)
    y = rng.random(400) < 0.4
    s = np.round(rng.random(400) + 0.2 * y, 2)  # ties on purpose
    w = rng.integers(0, 4, 400).astype(float)
    rep = np.repeat(np.arange(400), w.astype(int))
    assert weighted_auc(y, s, np.ones(400)) == pytest.approx(auc(y, s))
    assert weighted_auc(y, s, w) == pytest.approx(auc(y[rep], s[rep]))


def test_bootstrap_is_deterministic_and_draws_whole_weeks():
    blocks = np.repeat(np.arange(10), 7)
    a, idx = block_counts(blocks, n_boot=50, seed=1)
    b, _ = block_counts(blocks, n_boot=50, seed=1)
    c, _ = block_counts(blocks, n_boot=50, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert (a.sum(axis=1) == 10).all()  # as many weeks drawn as there are
    rows = a[:, idx]  # rows of one week always share their weight
    assert (rows.reshape(50, 10, 7).std(axis=2) == 0).all()


def test_selection_evidence_on_real_setups_is_deterministic(dca_dataset, dca_result):
    rows = (dca_result.oof["fold"].to_numpy() > 0) & dca_result.trainable
    f, o = dca_dataset.frame.loc[rows], dca_result.oof.loc[rows]
    args = (f["win"], o["rank"], o["take"], f["net_pnl_quote"], f["filled_quote"],
            f["net_return_frac"], f["decision_s"])
    first, again = selection_evidence(*args), selection_evidence(*args)
    assert first == again
    assert first.setups == int(rows.sum()) and first.approved == int(o["take"].sum())
    lo, hi = first.diff_capital_ci
    assert lo <= first.diff_capital_frac <= hi
    expected = f["net_pnl_quote"].sum() / f["filled_quote"].sum()
    assert first.all_capital_frac == pytest.approx(expected)


def test_null_auc_on_real_data_sits_near_one_half(dca_result):
    null = dca_result.evidence["null"]
    assert abs(null["auc"] - 0.5) < 0.1
    lo, hi = null["auc_ci"]
    assert lo < 0.5 < hi  # shifted inputs cannot be told from chance


def test_each_folds_rule_is_fitted_on_earlier_labels_only(dca_dataset, dca_result):
    """Rewriting the labels of every row decided from fold k on changes nothing fold k's
    model, calibration and rule saw: its ranks, confidences, cut and decisions stay equal."""
    ds, frame = dca_dataset, dca_dataset.frame
    plan = dca_result.plan
    k = next(f for f in plan.folds if dca_result.oof["fold"].eq(f.index).any())
    later = frame["decision_s"].to_numpy() >= k.test_start_s
    rng = np.random.default_rng(0)
    changed = frame.copy()
    flip = later & (rng.random(len(frame)) < 0.5)
    changed.loc[flip, "win"] = ~changed.loc[flip, "win"].astype(bool)
    changed.loc[later, "net_pnl_quote"] = rng.normal(0, 10, int(later.sum()))
    ds2 = type(ds)(ds.strategy, ds.setups, changed, ds.input_columns, ds.data_end_s)
    usable = trainable_rows(frame)
    a = train_module._walk_forward(ds, plan, usable, ds.inputs(), 86_400, regressors=False)
    b = train_module._walk_forward(ds2, plan, usable, ds2.inputs(), 86_400, regressors=False)
    rows = k.test
    for name in ("raw", "rank", "confidence", "min_rank"):
        np.testing.assert_array_equal(getattr(a, name)[rows], getattr(b, name)[rows])
    np.testing.assert_array_equal(a.take[rows], b.take[rows])
    keep = {m["fold"]: m["keep_frac"] for m in a.fold_metrics}
    assert keep[k.index] is not None
    assert keep[k.index] == {m["fold"]: m["keep_frac"] for m in b.fold_metrics}[k.index]
    # and the check can fail: the next fold's rule does see fold k's rewritten labels
    nxt = [m["fold"] for m in a.fold_metrics if m["fold"] > k.index]
    if nxt:
        after = plan.folds[nxt[0] - 1].test
        assert not np.array_equal(a.confidence[after], b.confidence[after])


def test_the_rule_share_is_the_best_on_earlier_rows():
    rank = np.linspace(0, 1, 500)
    # ranks 0.7-0.8 earn 2, the top 20 % earn 0.5, the rest lose 1: the top 30 % is best
    pnl = np.where(rank >= 0.8, 0.5, np.where(rank >= 0.7, 2.0, -1.0))
    assert choose_keep(rank, pnl, np.ones(500)) == 0.3
    assert choose_keep(rank[:20], pnl[:20], np.ones(20)) in KEEP_GRID  # too few: default


def test_published_artifact_approves_out_of_fold_setups(dca_result):
    assert dca_result.evidence["oof"]["approved"] > 0
    assert 0 < dca_result.rule.keep_frac < 1


def _shuffled(ds, seed: int = 11):
    """Labels permuted across setups: whatever the model learns, it is not the outcome."""
    frame = ds.frame.copy()
    order = np.random.default_rng(seed).permutation(len(frame))
    cols = ["win", "net_return_frac", "net_pnl_quote", "filled_quote", "filled", "exit_reason",
            "best_take_profit_frac", "best_stop_loss_frac", "best_hold_s"]
    frame[cols] = frame[cols].to_numpy()[order]
    return type(ds)(ds.strategy, ds.setups, frame, ds.input_columns, ds.data_end_s)


def test_gate_refuses_a_model_on_shuffled_labels_and_always_publishes_it(
        dca_dataset, sample_binance, tmp_path):
    ds = _shuffled(dca_dataset)
    scoring = DEFAULT_SCORING["dca"]
    result = train_strategy(ds, scoring, n_folds=3, null_run=False)
    assert result.verdict is not None and not result.verdict.passed
    assert not result.verdict.checks["beats_rules"]
    prov = data_provenance(sample_binance, ds, FeeSchedule(), label_config_for(scoring))
    folder, published = write_artifact(tmp_path, ds, result, scoring, prov, publish_mode="gate")
    assert not published and current_version_dir(tmp_path, "dca") is None
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["gate"]["verdict"] == "fail" and not manifest["gate"]["published"]
    assert any(r.startswith("FAIL beats_rules") for r in manifest["gate"]["reasons"])
    folder2, published2 = write_artifact(tmp_path, ds, result, scoring, prov, now_s=1,
                                         publish_mode="always")
    assert published2 and current_version_dir(tmp_path, "dca") == folder2
    _, never = write_artifact(tmp_path, ds, result, scoring, prov, now_s=2,
                              publish_mode="never")
    assert not never and current_version_dir(tmp_path, "dca") == folder2


def test_gate_checks_each_condition():
    def ev(**kw):
        base = dict(setups=1000, weeks=60, approved=300, approved_share=0.3, auc=0.55,
                    auc_ci=(0.5, 0.6), all_capital_frac=-0.001, all_capital_ci=(-0.01, 0.01),
                    approved_capital_frac=0.01, approved_capital_ci=(0.0, 0.02),
                    diff_capital_frac=0.011, diff_capital_ci=(0.002, 0.02), all_mean_frac=0.0,
                    approved_mean_frac=0.01)
        base.update(kw)
        from training.evaluation.evidence import SelectionEvidence

        return SelectionEvidence(**base)

    assert judge(ev(), ev(setups=50, approved=10)).passed
    assert not judge(ev(approved=99), None).checks["min_trades"]
    assert not judge(ev(diff_capital_ci=(-0.001, 0.02)), None).checks["beats_rules"]
    assert not judge(ev(approved_capital_frac=-0.001), None).checks["positive_expectancy"]
    worse = ev(approved=5, approved_capital_frac=-0.05, all_capital_frac=-0.01)
    assert not judge(ev(), worse).checks["newest_30d"]
    none_taken = ev(approved=0, approved_capital_frac=float("nan"), all_capital_frac=-0.01)
    assert judge(ev(), none_taken).checks["newest_30d"]  # cash beats a losing period


def test_walk_forward_plan_used_by_the_rule_is_time_ordered(dca_dataset):
    frame = dca_dataset.frame
    plan = plan_walk_forward(frame["decision_s"].to_numpy(), frame["label_end_s"].to_numpy(),
                             dca_dataset.data_end_s, 3)
    starts = [f.test_start_s for f in plan.folds]
    assert starts == sorted(starts)


def test_published_rule_and_calibration_see_no_label_reaching_the_quarantine(dca_dataset):
    """Rewriting every label that resolves inside the quarantine (or its embargo) changes
    neither the published calibration nor the rule: the newest 30 days stay unseen."""
    ds, frame = dca_dataset, dca_dataset.frame
    scoring = DEFAULT_SCORING["dca"]
    first = train_strategy(ds, scoring, n_folds=3, null_run=False)
    late = frame["label_end_s"].to_numpy() >= first.plan.quarantine_start_s - 86_400
    assert late.any()
    changed = frame.copy()
    changed.loc[late, "win"] = ~changed.loc[late, "win"].astype(bool)
    changed.loc[late, "net_pnl_quote"] = -changed.loc[late, "net_pnl_quote"] * 5
    second = train_strategy(type(ds)(ds.strategy, ds.setups, changed, ds.input_columns,
                                     ds.data_end_s), scoring, n_folds=3, null_run=False)
    assert second.calibration == first.calibration
    assert second.rule == first.rule
    assert first.final_label_end_s < first.plan.quarantine_start_s - 86_400
