"""Flat vs rank-scaled sizes: the comparison re-derived from the rows, the stated rule, the
manifest field and the scorer's sizes under it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml_signals.scoring.artifact import MANIFEST
from ml_signals.scoring.config import DEFAULT_SCORING
from ml_signals.scoring.scorer import Scorer
from training.artifacts.provenance import data_provenance
from training.artifacts.writer import write_artifact
from training.evaluation.size_choice import MIN_CI_LOW, choose_sizing, compare_sizing
from training.labels.dataset import build_dataset, compute_pair_features, label_config_for
from training.labels.outcomes import FeeSchedule
from training.models.train import train_strategy


@pytest.fixture(scope="module")
def channel(sample_binance):
    scoring = DEFAULT_SCORING["channel"]
    label_config = label_config_for(scoring)
    features = compute_pair_features(sample_binance, "BTC-USDT")
    ds = build_dataset("channel", features, label_config=label_config)
    result = train_strategy(ds, scoring, n_folds=3, null_run=False)
    return ds, result, scoring, label_config


def test_sizing_comparison_and_rule(channel):
    ds, result, scoring, _ = channel
    oof, frame = result.oof, ds.frame
    rows = (oof["fold"].to_numpy() > 0) & result.trainable & oof["take"].to_numpy(bool)
    cmp = compare_sizing(frame, oof, rows, scoring)
    assert cmp["setups"] == int(rows.sum()) > 0
    mult = np.array([scoring.size_multiplier(r, c) for r, c in
                     zip(oof.loc[rows, "rank"], oof.loc[rows, "min_rank"], strict=True)])
    assert ((mult >= 1.0 - 1e-12) & (mult <= scoring.size_max)).all()  # taken: at or above cut
    pnl, quote = frame.loc[rows, "net_pnl_quote"], frame.loc[rows, "filled_quote"]
    assert cmp["flat"] == pytest.approx(pnl.sum() / quote.sum())
    assert cmp["rank"] == pytest.approx((pnl * mult).sum() / (quote * mult).sum())
    lo, hi = cmp["diff_ci"]
    assert lo <= cmp["diff"] <= hi
    choice = choose_sizing(frame, oof, result.trainable, scoring)
    assert choice["oof"] == cmp
    assert choice["source"] == ("rank" if lo > MIN_CI_LOW else "flat")


def test_flat_sizing_in_the_manifest_trades_one_x(channel, sample_binance, tmp_path):
    ds, result, scoring, label_config = channel
    prov = data_provenance(sample_binance, ds, FeeSchedule(), label_config)
    folder, _ = write_artifact(tmp_path, ds, result, scoring, prov, now_s=1_760_000_000,
                               publish_mode="always", sizing_choice={"source": "flat"})
    assert json.loads((folder / MANIFEST).read_text())["sizing"]["source"] == "flat"
    flat = Scorer.load(tmp_path, "channel")
    ranked = Scorer(flat.strategy, flat.config, flat._models, flat._calibration,
                    {**flat.manifest, "sizing": {"source": "rank"}}, flat.rule)
    sizes = {"flat": set(), "rank": set()}
    for i in np.flatnonzero(result.trainable)[-60:]:
        row = ds.frame.iloc[i]
        a, b = flat.score(ds.setups[i], row), ranked.score(ds.setups[i], row)
        assert a.take == b.take and a.strength == b.strength
        sizes["flat"].add(a.size_multiplier)
        sizes["rank"].add(round(b.size_multiplier, 9))
    assert sizes["flat"] == {1.0}
    assert len(sizes["rank"]) > 5  # the same scores sized by rank spread out
