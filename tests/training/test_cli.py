"""The main job's CLI end to end on the shipped real Kraken sample (2 pairs, 2021-2022)."""

from __future__ import annotations

import json

from ml_signals.scoring.scorer import Scorer
from training.cli import main


def test_train_writes_artifacts_report_and_skips_untrainable_strategy(sample_dir, tmp_path,
                                                                       capsys):
    models, reports = tmp_path / "models", tmp_path / "reports"
    code = main(["train", "--data", str(sample_dir / "kraken"), "--models", str(models),
                 "--reports", str(reports), "--strategies", "swing,channel", "--folds", "3",
                 "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    # swing has too few breakouts on two pairs: skipped with the reason, channel still trained
    assert "swing: not trained" in out
    assert not (models / "swing").exists()
    scorer = Scorer.load(models, "channel")
    assert not scorer.rules_only
    (run_dir,) = (reports / "training").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert "swing" in summary["not_trained"] and "channel" in summary["strategies"]
    assert summary["pairs"] == ["BTC-USD", "ETH-USD"] and summary["btc_pair"] == "BTC-USD"
    assert (run_dir / "index.html").is_file()
    assert str(run_dir / "index.html") in out


def test_train_fails_with_non_zero_exit_on_bad_input(tmp_path, sample_dir):
    bad = tmp_path / "data"
    bad.mkdir()
    rows = (sample_dir / "kraken" / "XBTUSD_60.csv").read_text().splitlines()[:2000]
    rows[1500] = rows[1500].replace(",", ",x", 1)  # a non-numeric open price
    (bad / "XBTUSD_60.csv").write_text("\n".join(rows) + "\n")
    assert main(["train", "--data", str(bad), "--models", str(tmp_path / "m"),
                 "--reports", str(tmp_path / "r"), "--no-progress"]) != 0


def test_train_fails_when_no_candles(tmp_path):
    assert main(["train", "--data", str(tmp_path), "--models", str(tmp_path / "m"),
                 "--reports", str(tmp_path / "r"), "--no-progress"]) != 0
