"""``python -m training evaluate`` on the shipped sample with artifacts ``train`` wrote: its
numbers are the ones the live scorer and the backtest give for the same setups."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ml_signals.scoring.scorer import Scorer
from training.backtest import BacktestConfig, run_backtests
from training.cli.main import main
from training.data import load_dir
from training.evaluation.evaluate import ScoredSetups, evaluate_artifacts
from training.labels.dataset import compute_pair_features
from training.models.train import trainable_rows
from training.pipeline import StrategyRun, TrainingRun


@pytest.fixture(scope="module")
def published(sample_dir, tmp_path_factory):
    """dca and channel trained on the Binance sample and published whatever the gate says."""
    root = tmp_path_factory.mktemp("evaluate")
    models = root / "models"
    code = main(["train", "--data", str(sample_dir / "binance"), "--models", str(models),
                 "--reports", str(root / "reports"), "--strategies", "dca,channel",
                 "--folds", "3", "--publish", "always", "--no-null", "--no-progress"])
    assert code == 0
    return root, models


def test_evaluate_cli_writes_the_documented_json_and_report(published, sample_dir, capsys):
    root, models = published
    out_json = root / "eval.json"
    code = main(["evaluate", "--models", str(models), "--data", str(sample_dir / "binance"),
                 "--json", str(out_json), "--reports", str(root / "reports")])
    out = capsys.readouterr().out
    assert code == 0 and "Published models on these candles" in out
    data = json.loads(out_json.read_text())
    for name in ("dca", "channel"):
        s = data["strategies"][name]
        assert {"setups", "auc", "auc_ci", "brier", "ece", "approved", "all", "approved_stats",
                "exits"} <= set(s)
        assert s["in_sample"] > 0  # the sample trained the model: those setups are left out
        assert {"fixed", "model"} == set(s["exits"])
    for scope in ("dca", "channel", "combined"):
        assert set(data["portfolio"][scope]) == {"rules", "ml"}
        assert {"trades", "total_return", "max_drawdown"} <= set(data["portfolio"][scope]["ml"])
    assert list((root / "reports" / "evaluate").glob("*/index.html"))


def test_evaluate_equals_live_scoring_and_the_backtest(published, sample_binance):
    _, models = published
    result = evaluate_artifacts(sample_binance, "BTC-USDT", models, ["dca", "channel"])
    live: dict[str, pd.DataFrame] = {}
    for name, ev in result.strategies.items():
        scorer = Scorer.load(models, name)
        frame = ev.dataset.frame
        rows = []
        for i, setup in enumerate(ev.dataset.setups):
            score = scorer.score(setup, frame.iloc[i])  # the live path, one setup at a time
            rows.append({"take": score.take, "confidence": score.confidence,
                         "rank": score.strength, "min_rank": score.cut})
        mine = pd.DataFrame(rows, index=frame.index)
        pred = ev.predictions
        assert (mine["take"] == pred["take"]).all()
        np.testing.assert_allclose(mine["confidence"], pred["confidence"], rtol=1e-12)
        usable = trainable_rows(frame) & (pred["fold"].to_numpy() == 1)
        assert ev.metrics.approved == int((mine["take"] & usable).sum())
        assert ev.metrics.setups == int(usable.sum())
        live[name] = pred.assign(rank=mine["rank"], min_rank=mine["min_rank"],
                                 confidence=mine["confidence"])
    # the backtest on the live scores gives the evaluation's portfolio figures
    # ... trading the exits and sizes the artifact's manifest names, as the live scorer does
    loaded = {name: Scorer.load(models, name) for name in result.strategies}
    runs = {name: StrategyRun(ev.dataset, ScoredSetups(live[name]), ev.scoring, ev.label_config,
                              models / ev.version,
                              exit_choice={"source": loaded[name].exit_source},
                              sizing_choice={"source": loaded[name].size_source})
            for name, ev in result.strategies.items()}
    run = TrainingRun(sample_binance, "BTC-USDT", compute_pair_features(sample_binance,
                                                                        "BTC-USDT"),
                      next(iter(result.strategies.values())).fees, runs, {})
    again = run_backtests(run, BacktestConfig(slices=("oof",)))
    assert set(again) == set(result.backtests)
    for key, bt in again.items():
        for stat in ("trades", "total_return_frac", "max_drawdown_frac", "net_pnl_quote"):
            assert bt.stats[stat] == pytest.approx(result.backtests[key].stats[stat], nan_ok=True)
    assert result.backtests[("combined", "ml", "oof")].stats["trades"] >= 0


def test_quarantine_scores_at_training_equal_the_artifact_scores(published, sample_dir):
    """The training run scored its newest 30 days with the published model and rule; the
    artifact, loaded back, scores those setups identically."""
    root, models = published
    (run_dir,) = (root / "reports" / "training").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    sets = load_dir(sample_dir / "binance")
    result = evaluate_artifacts(sets, "BTC-USDT", models, ["dca"])
    ev = result.strategies["dca"]
    q_start = json.loads((next((models / "dca").glob("dca-*")) / "manifest.json")
                         .read_text())["walk_forward"]["quarantine_start_s"]
    q = (ev.dataset.frame["decision_s"].to_numpy() >= q_start) & trainable_rows(ev.dataset.frame)
    taken = int(ev.predictions.loc[q, "take"].sum())
    assert taken == summary["strategies"]["dca"]["evidence"]["quarantine"]["approved"]
