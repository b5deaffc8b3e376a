"""``no_model_policy`` and the fee check, on the DCA script's runtime, real Kraken candles, real
artifacts (tiny XGBoost boosters written as the scorer reads them), the SQLite journal and the
alert outbox (alerts to the log)."""

from __future__ import annotations

import json
import logging

import pytest
from artifact_support import KRAKEN_FEES, write_artifact
from hb_support import SampleView
from hummingbot.strategy_v2.models.executor_actions import CreateExecutorAction

import hummingbot_scripts.ml_dca_grid as dca_script
import hummingbot_scripts.ml_portfolio as portfolio_script
from ml_signals.alerts.outbox import Outbox
from ml_signals.decision.events import RuntimeObserver
from ml_signals.features import compute_features
from ml_signals.hummingbot import model_policy
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend
from ml_signals.scoring.artifact import ArtifactError
from ml_signals.scoring.inputs import input_columns
from ml_signals.setups import make_detector

HOUR = 3600
PAIRS = ["BTC-USD", "ETH-USD"]


@pytest.fixture(scope="module")
def dca_setup(kraken_frames):
    """First BTC DCA setup with a full 720-candle window before it."""
    btc = kraken_frames["BTC-USD"]
    features = compute_features(btc, None, HOUR)
    return next(s for s in make_detector("dca").detect("BTC-USD", btc, features)
                if s.bar_index >= 720)


class Skips(RuntimeObserver):
    def __init__(self) -> None:
        self.skipped: list[tuple[str, str, str]] = []

    def setup_skipped(self, evaluation, reason, now_s):
        self.skipped.append((evaluation.setup.setup_id, reason.guard, reason.reason))


def dca_config(tmp_path, **overrides):
    return dca_script.MlDcaGridConfig(**{
        "trading_pairs": PAIRS, "models_dir": str(tmp_path / "models"),
        "journal": {"enabled": True, "backend": "sqlite",
                    "sqlite_path": str(tmp_path / "journal.sqlite"),
                    "spool_path": str(tmp_path / "spool.sqlite")},
        "alerts": {"enabled": True, "destination": "log",
                   "outbox_path": str(tmp_path / "outbox.sqlite")},
        **overrides})


def run_to_setup(config, kraken_frames, setup):
    """Build, start and tick the runtime one candle after ``setup``; returns what it did."""
    view = SampleView(kraken_frames)
    view.now_s = setup.timestamp + HOUR + 10
    runtime = config.build_runtime()
    skips = Skips()
    runtime.observers.append(skips)
    config.start_runtime(runtime, view.now_s)
    actions = runtime.on_tick(view.now_s, view, [])
    status = runtime.format_status(view.now_s, [])
    runtime.close()
    return actions, skips.skipped, status


def journal_setups(tmp_path):
    backend = SQLiteJournalBackend(tmp_path / "journal.sqlite", create_schema=False)
    rows = backend.fetch_rows("strategy_setups", "setup_id")
    backend.close()
    return {r["setup_id"]: (r["taken"], r["skip_reason"]) for r in rows}


def outbox_keys(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite")
    keys = [row.key for row in outbox.rows()]
    outbox.close()
    return keys


def test_skip_policy_journals_the_setup_as_skipped_and_announces_it(tmp_path, kraken_frames,
                                                                    dca_setup, caplog):
    (tmp_path / "models").mkdir()  # a models folder without any published model
    config = dca_config(tmp_path)
    assert config.no_model_policy == "skip"  # the default
    with caplog.at_level(logging.WARNING, logger="ml_signals.hummingbot.strategy_runtime"):
        actions, skipped, status = run_to_setup(config, kraken_frames, dca_setup)

    assert not [a for a in actions if isinstance(a, CreateExecutorAction)]
    ours = [s for s in skipped if s[0] == dca_setup.setup_id]
    assert len(ours) == 1 and ours[0][1] == model_policy.NO_MODEL_GUARD
    assert "no published model" in ours[0][2] and "dca/current" in ours[0][2]
    taken, reason = journal_setups(tmp_path)[dca_setup.setup_id]
    assert taken is False and reason.startswith("no_model: no published model")
    assert "dca: no published model" in status and "no new entries" in status
    assert any("no published model" in r.getMessage() for r in caplog.records)
    assert any(k.startswith("notice:model-mode:dca:") for k in outbox_keys(tmp_path))


def test_rules_only_policy_takes_the_setup(tmp_path, kraken_frames, dca_setup):
    config = dca_config(tmp_path, no_model_policy="rules_only")  # models folder absent
    actions, skipped, status = run_to_setup(config, kraken_frames, dca_setup)

    placed = [a.executor_config.level_id for a in actions if isinstance(a, CreateExecutorAction)]
    assert dca_setup.setup_id in placed
    assert journal_setups(tmp_path)[dca_setup.setup_id] == (True, None)
    assert "dca: rules-only" in status
    assert any(k.startswith("notice:model-mode:dca:") for k in outbox_keys(tmp_path))


@pytest.mark.parametrize("make_path", [
    lambda tmp: tmp / "modles",                                   # mistyped: does not exist
    lambda tmp: (tmp / "file").write_text("x") and tmp / "file",  # a file, not a folder
])
def test_missing_models_dir_is_a_config_error_unless_rules_only(tmp_path, make_path):
    path = make_path(tmp_path)
    config = dca_config(tmp_path, models_dir=str(path))
    with pytest.raises(model_policy.ScriptConfigError) as excinfo:
        config.build_runtime()
    assert str(path) in str(excinfo.value) and "no_model_policy" in str(excinfo.value)
    runtime = dca_config(tmp_path, models_dir=str(path),
                         no_model_policy="rules_only").build_runtime()
    assert model_policy.mode_of(runtime.engines["dca"].scorer) == "rules_only"


def test_portfolio_skips_only_the_strategy_without_a_model(tmp_path, dca_setup):
    models = tmp_path / "models"
    write_artifact(models, "dca", input_columns(dca_setup))
    config = portfolio_script.MlPortfolioConfig(trading_pairs=PAIRS, models_dir=str(models))
    runtime = config.build_runtime()
    modes = {name: model_policy.mode_of(e.scorer) for name, e in runtime.engines.items()}
    assert modes == {"dca": "model", "swing": "skip", "channel": "skip"}


def test_model_trained_at_other_fees_is_refused_at_start(tmp_path, dca_setup):
    models = tmp_path / "models"
    folder = write_artifact(models, "dca", input_columns(dca_setup),
                            fees={"maker_frac": 0.001, "taker_frac": 0.001})
    with pytest.raises(ArtifactError) as excinfo:
        dca_config(tmp_path).build_runtime()
    text = str(excinfo.value)
    assert str(folder / "manifest.json") in text
    assert "labels.fees.maker_frac = 0.001" in text and "fees.maker_frac = 0.0016" in text
    # a script that trades at those fees accepts the model
    runtime = dca_config(tmp_path, fees={"maker_frac": 0.001, "taker_frac": 0.001}).build_runtime()
    assert runtime.engines["dca"].scorer.model_version == folder.name


def test_model_at_the_script_fees_loads_and_one_without_fees_is_refused(tmp_path, dca_setup):
    models = tmp_path / "models"
    folder = write_artifact(models, "dca", input_columns(dca_setup), fees=KRAKEN_FEES)
    runtime = dca_config(tmp_path).build_runtime()
    assert model_policy.describe(runtime.engines["dca"].scorer) == f"model {folder.name}"

    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["labels"]["fees"]["taker_frac"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"manifest.json: labels.fees.taker_frac is None"):
        dca_config(tmp_path).build_runtime()


def test_script_fee_defaults_are_the_training_fees():
    """The fees a script trades at by default are those ``make run`` trains at."""
    from training.labels.outcomes import FeeSchedule

    fees, trained = model_policy.TradingFees(), FeeSchedule()
    assert (fees.maker_frac, fees.taker_frac) == (trained.maker_frac, trained.taker_frac)
