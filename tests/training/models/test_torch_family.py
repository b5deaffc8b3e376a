"""The torch family on the shipped real Binance sample: train tiny -> ONNX artifact -> Scorer
(onnxruntime) gives the in-memory torch predictions; ONNX/torch parity; the manifest hashes
the .onnx files; determinism under the seed; the live path reads the window from the pair's
candle frame; the CLI trains both families and writes the chosen one with both evidences."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import onnxruntime as ort  # noqa: E402

from ml_signals.scoring.artifact import ArtifactError, read_manifest  # noqa: E402
from ml_signals.scoring.config import DEFAULT_SCORING  # noqa: E402
from ml_signals.scoring.scorer import Scorer  # noqa: E402
from training.artifacts.provenance import data_provenance  # noqa: E402
from training.artifacts.writer import write_artifact  # noqa: E402
from training.cli.main import main  # noqa: E402
from training.labels.dataset import build_dataset, compute_pair_features, label_config_for  # noqa: E402
from training.labels.outcomes import FeeSchedule  # noqa: E402
from training.models.model_set import TrainSettings, fit_model_set  # noqa: E402
from training.models.torch_family.fit import split_flat  # noqa: E402
from training.models.torch_family.windows import dataset_windows, sequence_inputs  # noqa: E402
from training.models.train import train_strategy, trainable_rows  # noqa: E402

SETTINGS = TrainSettings(family="torch", window_bars=24)


@pytest.fixture(scope="module")
def features(sample_binance):
    return compute_pair_features(sample_binance, "BTC-USDT")


@pytest.fixture(scope="module")
def trained(sample_binance, features, tmp_path_factory):
    """DCA's torch family trained on the six sample pairs (3 folds, no null) and written."""
    models = tmp_path_factory.mktemp("models")
    scoring = DEFAULT_SCORING["dca"]
    label_config = label_config_for(scoring)
    ds = build_dataset("dca", features, label_config=label_config)
    windows = dataset_windows(ds, features, SETTINGS.window_bars)
    result = train_strategy(ds, scoring, n_folds=3, null_run=False, settings=SETTINGS,
                            windows=windows)
    prov = data_provenance(sample_binance, ds, FeeSchedule(), label_config)
    folder, published = write_artifact(models, ds, result, scoring, prov, now_s=1_760_000_000,
                                       publish_mode="always")
    assert published
    return models, folder, ds, result, windows


def test_artifact_names_the_family_and_hashes_the_onnx_files(trained):
    _, folder, _, _, _ = trained
    manifest = read_manifest(folder)
    assert manifest["model_family"] == "torch"
    assert manifest["sequence"] == {"n_bars": 24, "channels": [
        "close_rel", "high_rel", "low_rel", "body", "volume_rel"]}
    onnx_files = sorted(p.name for p in folder.glob("*.onnx"))
    assert onnx_files == ["classifier.onnx", "hold.onnx", "stop_loss.onnx", "take_profit.onnx"]
    assert set(onnx_files) <= set(manifest["files"])
    assert not list(folder.glob("*.ubj")) and not list(folder.glob("*.pt*"))


def test_round_trip_scorer_gives_the_in_memory_predictions(trained):
    """Scorer.load picks the ONNX backend from the manifest; its outputs are the torch
    models' outputs on the same real rows and windows."""
    models, folder, ds, result, windows = trained
    scorer = Scorer.load(models, "dca")
    assert scorer.model_version == folder.name and scorer.window_bars == 24
    x = ds.inputs()
    loaded = scorer.raw_predictions(x, windows)
    for role, model in result.models.items():
        np.testing.assert_allclose(loaded[role], model.predict_parts(x, windows),
                                   rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(loaded["rank"], result.rule.rank(loaded["classifier"]))
    with pytest.raises(ArtifactError, match="no candle window"):
        scorer.raw_predictions(x)


def test_onnx_matches_torch_within_1e5_on_real_candles(trained):
    """Each exported graph run by onnxruntime against the torch module on every real setup
    (probabilities absolute 1e-5; regressors relative 1e-5: hold is in seconds)."""
    _, folder, ds, result, windows = trained
    real = ds.inputs().astype(np.float32)
    gappy = real.copy()
    gappy[::7, ::5] = np.nan  # a feature missing live (e.g. BTC columns): mapped to 0 alike
    rows = np.vstack([real, gappy])
    windows = np.concatenate([windows, windows])
    for role, model in result.models.items():
        session = ort.InferenceSession(str(folder / f"{role}.onnx"),
                                       providers=["CPUExecutionProvider"])
        got = session.run(None, {"features": rows, "window": windows})[0]
        with torch.no_grad():
            want = model.net(torch.from_numpy(rows), torch.from_numpy(windows)).numpy()
        assert got.shape == want.shape == (len(rows),)
        if role == "classifier":
            assert np.max(np.abs(got - want)) <= 1e-5
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        assert np.isfinite(got).all()


def test_live_score_reads_the_window_from_the_pair_frame(trained, sample_binance, features):
    """score(setup, features, candles) (the scripts' path) makes the batch decision."""
    models, _, ds, _, windows = trained
    scorer = Scorer.load(models, "dca")
    frame = scorer.predict_frame(ds.frame, windows)
    for i in np.linspace(0, len(ds.setups) - 1, 12).astype(int):
        setup = ds.setups[i]
        candles = sample_binance[setup.pair].frame
        live_frame = candles.iloc[: setup.bar_index + 1]  # the script holds closed candles only
        score = scorer.score(setup, features[setup.pair].features.iloc[setup.bar_index],
                             live_frame)
        assert score.take == bool(frame["take"].iat[i])
        assert score.confidence == pytest.approx(min(max(frame["confidence"].iat[i], 0), 1),
                                                 abs=1e-9)
    with pytest.raises(ArtifactError, match="no candle frame"):
        scorer.score(ds.setups[0], ds.frame.iloc[0])


def test_rewritten_onnx_fails_its_hash(trained, tmp_path):
    models, folder, _, _, _ = trained
    copy = tmp_path / "models" / "dca"
    shutil.copytree(folder, copy / folder.name)
    (copy / "current").write_text(folder.name + "\n")
    target = copy / folder.name / "hold.onnx"
    # a valid graph, but another one: the classifier's bytes written over the hold model
    target.write_bytes((copy / folder.name / "classifier.onnx").read_bytes())
    with pytest.raises(ArtifactError, match="hold.onnx fails its hash check"):
        Scorer.load(tmp_path / "models", "dca")
    manifest_path = copy / folder.name / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["files"]["hold.onnx"]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="does not list hold.onnx"):
        Scorer.load(tmp_path / "models", "dca")


def test_two_fits_under_the_seed_give_identical_onnx_outputs(trained, tmp_path):
    _, _, ds, _, windows = trained
    x = sequence_inputs(ds.inputs(), windows)
    rows = trainable_rows(ds.frame)
    outputs = []
    for run in range(2):
        ms = fit_model_set(ds, rows, x, 86_400, settings=SETTINGS)
        path = tmp_path / f"classifier_{run}.onnx"
        ms.models["classifier"].save_onnx(path)
        f, w = split_flat(x, len(ds.input_columns), SETTINGS.window_bars)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outputs.append(session.run(None, {"features": f, "window": w})[0])
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert np.std(outputs[0]) > 0  # a model that learned something, not a constant


def test_cli_trains_both_families_and_writes_the_chosen_one(sample_dir, tmp_path, capsys):
    models, reports = tmp_path / "models", tmp_path / "reports"
    code = main(["train", "--data", str(sample_dir / "binance"), "--models", str(models),
                 "--reports", str(reports), "--strategies", "dca", "--folds", "3",
                 "--families", "xgboost,torch", "--no-null", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    (version,) = (models / "dca").glob("dca-*")
    manifest = json.loads((version / "manifest.json").read_text())
    selection = manifest["family_selection"]
    assert set(selection["families"]) == {"xgboost", "torch"}
    assert manifest["model_family"] == selection["chosen"]
    for family in ("xgboost", "torch"):
        assert "oof" in selection["families"][family]["evidence"]
        assert f"dca/{family}" in out  # both families' rows in the printed evidence table
    (run_dir,) = (reports / "training").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["strategies"]["dca"]["families"]) == {"xgboost", "torch"}
    assert summary["strategies"]["dca"]["model_family"] == selection["chosen"]
    assert "dca/torch" in (run_dir / "summary.md").read_text()
    assert "dca/torch" in (run_dir / "index.html").read_text()


def test_unknown_family_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--families", "xgboost,lightgbm"])
    assert exc.value.code == 2
    assert "lightgbm" in capsys.readouterr().err


def test_strategy_engine_scores_a_torch_model_on_the_frame_it_holds(trained, sample_binance,
                                                                     features):
    """ml_signals.decision.engine.StrategyEngine.evaluate (what the scripts call per closed
    candle) hands its candle frame to the scorer: the torch model decides as in the batch."""
    from ml_signals.decision.engine import StrategyEngine
    from ml_signals.setups import make_detector

    models, _, ds, _, windows = trained
    scorer = Scorer.load(models, "dca")
    engine = StrategyEngine(make_detector("dca"), scorer)
    batch = scorer.predict_frame(ds.frame, windows)
    for i in (0, len(ds.setups) // 2, len(ds.setups) - 1):
        setup = ds.setups[i]
        n = setup.bar_index + 1
        evaluation = engine.evaluate(setup.pair, sample_binance[setup.pair].frame.iloc[:n],
                                     features[setup.pair].features.iloc[:n])
        assert evaluation is not None and evaluation.setup.setup_id == setup.setup_id
        assert evaluation.score.model_version == scorer.model_version
        assert evaluation.score.take == bool(batch["take"].iat[i])
