"""The main job's CLI end to end on the shipped real Kraken sample (2 pairs, 2021-2022)."""

from __future__ import annotations

import json

from ml_signals.scoring.scorer import Scorer
from training.cli.main import main


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
    (version,) = (models / "channel").iterdir()  # written whatever the verdict
    (run_dir,) = (reports / "training").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert "swing" in summary["not_trained"] and "channel" in summary["strategies"]
    gate = summary["strategies"]["channel"]["gate"]
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["gate"]["verdict"] == ("pass" if gate["passed"] else "fail")
    assert f"channel: gate {'PASS' if gate['passed'] else 'FAIL'}" in out
    # the gate decides what is current; the verdict's reasons are printed
    assert Scorer.load(models, "channel").rules_only != gate["passed"]
    for reason in manifest["gate"]["reasons"]:
        assert reason in out
    ev = summary["strategies"]["channel"]["evidence"]["oof"]
    assert {"auc_ci", "diff_capital_ci", "approved_share", "weeks"} <= set(ev)
    assert summary["pairs"] == ["BTC-USD", "ETH-USD"] and summary["btc_pair"] == "BTC-USD"
    assert (run_dir / "index.html").is_file()
    assert str(run_dir / "index.html") in out


def test_train_fails_when_no_candles(tmp_path):
    assert main(["train", "--data", str(tmp_path), "--models", str(tmp_path / "m"),
                 "--reports", str(tmp_path / "r"), "--no-progress"]) != 0


def test_publish_always_moves_current_and_says_so(sample_dir, tmp_path, capsys):
    models = tmp_path / "models"
    code = main(["train", "--data", str(sample_dir / "binance"), "--models", str(models),
                 "--reports", str(tmp_path / "r"), "--strategies", "dca", "--folds", "3",
                 "--publish", "always", "--no-null", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and "dca: gate" in out and "published as current" in out
    assert not Scorer.load(models, "dca").rules_only


def test_user_errors_are_one_line_with_exit_2(tmp_path, sample_dir, capsys):
    bad = tmp_path / "data"
    bad.mkdir()
    rows = (sample_dir / "kraken" / "XBTUSD_60.csv").read_text().splitlines()[:2000]
    rows[1500] = rows[1500].replace(",", ",x", 1)  # a non-numeric open price
    (bad / "XBTUSD_60.csv").write_text("\n".join(rows) + "\n")
    code = main(["train", "--data", str(bad), "--models", str(tmp_path / "m"),
                 "--reports", str(tmp_path / "r"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: ") and "XBTUSD_60.csv" in line and "Traceback" not in err
    assert main(["evaluate", "--data", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_unknown_strategy_lists_the_valid_ones(capsys):
    import pytest

    with pytest.raises(SystemExit) as exc:
        main(["train", "--strategies", "swng"])
    assert exc.value.code == 2
    assert "unknown strategy swng; choose from dca, swing, channel" in capsys.readouterr().err
