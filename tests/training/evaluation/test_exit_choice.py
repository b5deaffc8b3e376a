"""Whose exits a model trades: the regressors' exits replayed by the label kernel on the taken
out-of-fold setups, compared with the detector's, chosen by the stated rule, written to the
manifest and obeyed by the scorer, the backtest and ``evaluate``."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from ml_signals.scoring.artifact import MANIFEST, sha256_file
from ml_signals.scoring.config import DEFAULT_SCORING
from ml_signals.scoring.scorer import Scorer
from training.artifacts.provenance import data_provenance
from training.artifacts.writer import write_artifact
from training.evaluation.exit_choice import (
    MIN_CI_LOW,
    choose_exit_source,
    compare_exits,
    model_exit_setups,
    replay_setups,
)
from training.labels.dataset import build_dataset, compute_pair_features, label_config_for
from training.labels.outcomes import FeeSchedule, label_setups
from training.models.train import train_strategy
from training.pipeline import detector_exits_text


@pytest.fixture(scope="module")
def dca(sample_binance):
    scoring = DEFAULT_SCORING["dca"]
    label_config = label_config_for(scoring)
    features = compute_pair_features(sample_binance, "BTC-USDT")
    ds = build_dataset("dca", features, label_config=label_config)
    result = train_strategy(ds, scoring, n_folds=3, null_run=False)
    return ds, features, result, scoring, label_config


def test_model_exits_are_the_clipped_predictions_replayed_by_the_kernel(dca):
    ds, features, result, scoring, label_config = dca
    oof = result.oof
    idx = np.flatnonzero((oof["fold"].to_numpy() > 0) & result.trainable)[:40]
    setups = model_exit_setups(ds, oof, idx, scoring)
    for i, s in zip(idx, setups, strict=True):
        assert s.exits.take_profit_frac == pytest.approx(float(np.clip(
            oof["take_profit"].iat[i], scoring.take_profit_min_frac,
            scoring.take_profit_max_frac)))
        assert scoring.stop_loss_min_frac <= s.exits.stop_loss_frac <= scoring.stop_loss_max_frac
        assert s.setup_id == ds.setups[i].setup_id and s.entry == ds.setups[i].entry
    labels = replay_setups(ds, features, idx, setups, FeeSchedule(), label_config)
    assert list(labels.index) == list(ds.frame.index[idx])
    pair = ds.frame["pair"].iat[int(idx[0])]
    mine = [k for k, i in enumerate(idx) if ds.frame["pair"].iat[i] == pair]
    cs = features[pair].candles
    direct = label_setups([setups[k] for k in mine], cs.frame, cs.interval_s, FeeSchedule(),
                          label_config)
    np.testing.assert_array_equal(labels["net_pnl_quote"].to_numpy()[mine],
                                  direct["net_pnl_quote"].to_numpy())
    # detector exits replayed the same way reproduce the dataset's own labels
    own = replay_setups(ds, features, idx, [ds.setups[i] for i in idx], FeeSchedule(),
                        label_config)
    np.testing.assert_array_equal(own["net_pnl_quote"].to_numpy(),
                                  ds.frame["net_pnl_quote"].to_numpy()[idx])


def test_comparison_figures_and_the_rule(dca):
    ds, features, result, scoring, label_config = dca
    oof = result.oof
    rows = (oof["fold"].to_numpy() > 0) & result.trainable & oof["take"].to_numpy(bool)
    cmp = compare_exits(ds, features, oof, rows, scoring, FeeSchedule(), label_config)
    assert 0 < cmp["setups"] <= rows.sum()
    lo, hi = cmp["diff_ci"]
    assert lo <= cmp["diff"] <= hi
    assert cmp["diff"] == pytest.approx(cmp["model"] - cmp["detector"])
    # the headline figures, re-derived: net PnL / committed quote on rows resolved under both
    idx = np.flatnonzero(rows)
    model = replay_setups(ds, features, idx, model_exit_setups(ds, oof, idx, scoring),
                          FeeSchedule(), label_config)
    both = model["filled"].to_numpy(bool) & (model["exit_reason"].to_numpy() != "OPEN_AT_END")
    assert cmp["setups"] == int(both.sum())
    sub = ds.frame.iloc[idx[both]]
    assert cmp["detector"] == pytest.approx(
        sub["net_pnl_quote"].sum() / sub["filled_quote"].sum())
    pnl, quote = model["net_pnl_quote"].to_numpy(), model["filled_quote"].to_numpy()
    assert cmp["model"] == pytest.approx(pnl[both].sum() / quote[both].sum())
    choice = choose_exit_source(ds, features, oof, result.trainable, scoring, FeeSchedule(),
                                label_config, detector_exits_text(ds))
    assert choice["oof"] == cmp
    expected = "model" if cmp["diff_ci"][0] > MIN_CI_LOW else "detector"
    assert choice["source"] == expected
    assert choice["detector_exits"].startswith("volatility: take profit 12 x ATR")


def test_scorer_trades_the_exits_the_manifest_names(dca, sample_binance, tmp_path):
    ds, features, result, scoring, label_config = dca
    prov = data_provenance(sample_binance, ds, FeeSchedule(), label_config)
    choice = {"source": "detector", "detector_exits": detector_exits_text(ds)}
    folder, _ = write_artifact(tmp_path, ds, result, scoring, prov, now_s=1_760_000_000,
                               publish_mode="always", exit_choice=choice)
    assert json.loads((folder / MANIFEST).read_text())["exits"]["source"] == "detector"
    detector = Scorer.load(tmp_path, "dca")
    assert detector.exit_source == "detector"
    i = int(np.flatnonzero(result.trainable)[-1])
    setup = ds.setups[i]
    features_row = ds.frame.iloc[i].to_dict()
    got = detector.score(setup, features_row)
    assert (got.take_profit_frac, got.stop_loss_frac, got.expected_hold_s) == (
        setup.exits.take_profit_frac, setup.exits.stop_loss_frac, setup.exits.time_limit_s)

    # the same artifact told to use the regressors: their clipped predictions instead
    other = tmp_path / "model_exits"
    shutil.copytree(tmp_path, other)
    version = other / "dca" / folder.name
    manifest = json.loads((version / MANIFEST).read_text())
    manifest["exits"] = {"source": "model"}
    (version / MANIFEST).write_text(json.dumps(manifest))
    model = Scorer.load(other, "dca")
    mine = model.score(setup, features_row)
    pred = model.raw_predictions(ds.inputs()[i:i + 1])
    assert mine.take_profit_frac == pytest.approx(float(np.clip(
        pred["take_profit"][0], scoring.take_profit_min_frac, scoring.take_profit_max_frac)))
    assert mine.take == got.take and mine.size_multiplier == got.size_multiplier
    moved = replace(setup, exits=replace(setup.exits, take_profit_frac=0.5))
    assert detector.score(moved, features_row).take_profit_frac == 0.5
    assert sha256_file(version / "classifier.ubj") == manifest["files"]["classifier.ubj"]
