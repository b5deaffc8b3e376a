"""Market-state inputs live: ``universe_pairs`` feeds candles for them; a model trained with
them scores from the runtime's feeds exactly as from the whole history (what training used);
with too few pairs fed the candle is skipped with the reason, never scored on NaN."""

from __future__ import annotations

import numpy as np
import pytest
from artifact_support import write_artifact
from hb_support import SampleView
from hummingbot.strategy_v2.models.executor_actions import CreateExecutorAction

import hummingbot_scripts.ml_dca_grid as dca_script
from ml_signals.features import compute_features
from ml_signals.market_features import MARKET_COLUMNS, MarketState
from ml_signals.scoring.inputs import input_columns
from ml_signals.scoring.scorer import Scorer
from ml_signals.setups import make_detector

HOUR = 3600
TRADING = ["BTC-USDT", "ETH-USDT"]
UNIVERSE = ["DOGE-USDT", "LINK-USDT", "SOL-USDT", "XRP-USDT"]


@pytest.fixture(scope="module")
def frames(sample_binance):
    return {p: cs.frame for p, cs in sample_binance.items()}


@pytest.fixture(scope="module")
def setup(frames):
    btc = frames["BTC-USDT"]
    features = compute_features(btc, None, HOUR)
    return next(s for s in make_detector("dca").detect("BTC-USDT", btc, features)
                if s.bar_index >= 1500)


def market_runtime(tmp_path, setup, universe):
    columns = input_columns(setup, market=True)
    write_artifact(tmp_path, "dca", columns, created_at_s=setup.timestamp)
    config = dca_script.MlDcaGridConfig(
        trading_pairs=TRADING, btc_pair="BTC-USDT", universe_pairs=universe,
        models_dir=str(tmp_path), max_records=710, risk={"max_exposure_quote": 2000},
        fees={"maker_frac": 0.0016, "taker_frac": 0.0026})
    return config.build_runtime()


def test_universe_pairs_feed_the_market_inputs_as_training_computes_them(tmp_path, frames,
                                                                         setup):
    runtime = market_runtime(tmp_path, setup, UNIVERSE)
    fed = [c.trading_pair for c in runtime.candles_configs()]
    assert fed == [*TRADING, *UNIVERSE]
    view = SampleView(frames, max_records=710)
    view.now_s = setup.timestamp + HOUR + 10
    actions = runtime.on_tick(view.now_s, view, [])
    evaluation = runtime.pairs["BTC-USDT"].evaluations["dca"]
    assert evaluation.setup.setup_id == setup.setup_id
    assert runtime.pairs["BTC-USDT"].note == ""
    # the same score from the whole-history market state training uses
    batch = MarketState({p: frames[p][["timestamp", "close"]] for p in [*TRADING, *UNIVERSE]})
    btc = frames["BTC-USDT"]
    row = compute_features(btc[btc["timestamp"] <= setup.timestamp].tail(709), None,
                           HOUR).iloc[-1].copy()
    market = batch.features("BTC-USDT", np.array([setup.timestamp])).iloc[0]
    for c in MARKET_COLUMNS:
        row[c] = market[c]
    expected = Scorer.load(tmp_path, "dca").score(setup, row)
    assert evaluation.score.confidence == pytest.approx(expected.confidence, abs=1e-9)
    assert evaluation.score.take == expected.take
    created = [a for a in actions if isinstance(a, CreateExecutorAction)]
    assert bool(created) == expected.take


def test_too_few_pairs_fed_skips_the_candle_with_the_reason(tmp_path, frames, setup):
    runtime = market_runtime(tmp_path, setup, [])  # 2 pairs fed: no cross-section
    view = SampleView(frames, max_records=710)
    view.now_s = setup.timestamp + HOUR + 10
    actions = runtime.on_tick(view.now_s, view, [])
    assert actions == []
    assert "dca" not in runtime.pairs["BTC-USDT"].evaluations
    note = runtime.pairs["BTC-USDT"].note
    assert note.startswith("decision skipped: market features unavailable") and \
        "universe_pairs" in note
