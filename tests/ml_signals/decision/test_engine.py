"""The engine of one strategy (:mod:`ml_signals.decision.engine`) on the shipped Kraken candles:
the real DCA detector, a scorer whose verdict is given."""

from __future__ import annotations

from ml_signals.decision.engine import StrategyEngine
from ml_signals.features import compute_features
from ml_signals.scoring.score import Score
from ml_signals.scoring.scorer import Scorer
from ml_signals.setups import make_detector


def test_below_threshold_is_a_confidence_skip(kraken_frames):
    """A model score under the threshold yields no entry and a 'confidence' skip reason."""

    class Fixed(Scorer):
        """A scorer whose verdict is given (the model itself is tested in tests/training)."""

        def score(self, setup, features):
            return Score(confidence=0.41, take=False, take_profit_frac=0.05,
                         stop_loss_frac=0.06, size_multiplier=0.84, expected_hold_s=43200,
                         model_version="v-test", strength=0.41, cut=0.60,
                         rule="score rank 0.41 vs rule cut 0.60")

    btc, eth = kraken_frames["BTC-USD"], kraken_frames["ETH-USD"]
    setups = make_detector("dca").detect("ETH-USD", eth, compute_features(eth, btc, 3600))
    assert setups, "the Kraken sample has dca setups on ETH-USD"
    dca_setup = setups[0]
    window = eth.iloc[: dca_setup.bar_index + 1].tail(720).reset_index(drop=True)
    features = compute_features(window, btc[btc["timestamp"] <= window["timestamp"].iat[-1]])
    engine = StrategyEngine(make_detector("dca"), Fixed("dca", Scorer.rules_only_scorer(
        "dca").config))
    evaluation = engine.evaluate("ETH-USD", window, features)
    assert evaluation is not None and evaluation.setup.setup_id == dca_setup.setup_id
    assert not evaluation.takes
    assert evaluation.skip.guard == "confidence"
    assert "0.41" in evaluation.skip.reason and "0.60" in evaluation.skip.reason
