"""Detectors on real candles: their rules hold, and the decision at candle t needs nothing
after t (prefix computation equals the batch result)."""

from __future__ import annotations

import numpy as np
import pytest

from ml_signals.features import compute_features
from ml_signals.regime import BtcRegime
from ml_signals.setups import STRATEGIES, DcaConfig, SwingConfig, make_detector
from ml_signals.setups.channel import ChannelConfig, ChannelDetector

PAIRS = ("ETH-USDT", "SOL-USDT", "DOGE-USDT")


@pytest.fixture(scope="module")
def batch(sample_binance):
    """Features and setups of every strategy on three real pairs, computed on full history."""
    btc = sample_binance["BTC-USDT"].frame
    out = {}
    for pair in PAIRS:
        candles = sample_binance[pair].frame
        feats = compute_features(candles, btc, 3600)
        out[pair] = (candles, feats, {s: make_detector(s).detect(pair, candles, feats)
                                      for s in STRATEGIES})
    return btc, out


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategy_finds_setups_on_real_data(batch, strategy):
    _, out = batch
    assert sum(len(v[2][strategy]) for v in out.values()) >= 5


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_prefix_decision_equals_batch(batch, strategy):
    """For setup candles and as many random non-setup candles: recompute from candles[:t+1]
    only; the live-style ``detect_latest`` must return exactly the batch answer at t."""
    btc, out = batch
    rng = np.random.default_rng(11)
    checked = 0
    for pair, (candles, _, setups) in out.items():
        hits = {s.bar_index: s for s in setups[strategy]}
        positives = sorted(hits)[:4]
        negatives = rng.choice(np.setdiff1d(np.arange(300, len(candles)), list(hits)), 4, False)
        for t in [*positives, *map(int, negatives)]:
            prefix = candles.iloc[: t + 1]
            btc_prefix = btc[btc["timestamp"] <= prefix["timestamp"].iat[-1]]
            feats = compute_features(prefix, btc_prefix, 3600)
            live = make_detector(strategy).detect_latest(pair, prefix, feats)
            assert live == hits.get(t), f"{strategy} {pair} t={t}"
            checked += 1
    assert checked >= 12


def test_dca_rule_and_grid(batch):
    cfg = DcaConfig()
    _, out = batch
    for candles, feats, setups in out.values():
        for s in setups["dca"]:
            i = s.bar_index
            high4 = candles["high"].iloc[i - 3 : i + 1].max()
            assert candles["close"].iat[i] <= high4 * (1 - cfg.drop_frac) + 1e-9
            assert feats["volume_ratio_20"].iat[i] > 1.0
            assert feats["btc_regime"].iat[i] != BtcRegime.CRASH
            assert s.entry.entry_type == "limit_grid"
            assert s.entry.amounts_quote == (100.0,) * 5
            steps = np.diff(np.array(s.entry.prices)) / s.reference_price
            assert np.allclose(steps, -0.01)
            # exits: 12 x / 8 x the candle's ATR within the plan's bounds (volatility_exits)
            atr = feats["atr_14_frac"].iat[i]
            assert s.exits.take_profit_frac == pytest.approx(min(max(12 * atr, 0.03), 0.15))
            assert s.exits.stop_loss_frac == pytest.approx(min(max(8 * atr, 0.05), 0.12))
            assert s.exits.time_limit_s == 72 * 3600


def test_swing_rule(batch):
    _, out = batch
    for candles, feats, setups in out.values():
        for s in setups["swing"]:
            i = s.bar_index
            resistance = candles["high"].iloc[i - 48 : i].max()
            assert candles["close"].iat[i] >= resistance * 1.03 - 1e-9
            assert feats["volume_ratio_20"].iat[i] >= 2.0
            assert feats["rsi_14"].iat[i] > 60
            assert feats["htf_uptrend"].iat[i] == 1
            assert s.entry.entry_type == "market"
            assert s.exits.trailing_delta_frac == 0.07
            assert s.context["resistance"] == pytest.approx(resistance, rel=1e-12)


def test_channel_levels(batch):
    _, out = batch
    for candles, _, setups in out.values():
        for s in setups["channel"]:
            i = s.bar_index
            support = candles["low"].iloc[i - 47 : i + 1].min()
            resistance = candles["high"].iloc[i - 47 : i + 1].max()
            assert s.context["support"] == support and s.context["resistance"] == resistance
            stop_price = s.reference_price * (1 - s.exits.stop_loss_frac)
            target_price = s.reference_price * (1 + s.exits.take_profit_frac)
            assert stop_price < support < s.reference_price < target_price <= resistance


def test_detector_refuses_misaligned_features(batch):
    _, out = batch
    candles, feats, _ = out["ETH-USDT"]
    with pytest.raises(ValueError, match="feature rows"):
        make_detector("swing").detect("ETH-USDT", candles, feats.iloc[:-1])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_detect_latest_on_the_rule_tail_equals_detect_on_every_row(batch, strategy):
    """``detect_latest`` evaluates the rule on the detector's ``signal_rows`` tail only: on
    1,500 consecutive rows of each pair, and on every row where ``detect`` finds a setup on the
    whole history, it answers as ``detect`` (same setup, bar index included)."""
    _, out = batch
    found = 0
    for pair, (candles, feats, setups) in out.items():
        hits = {s.bar_index: s for s in setups[strategy]}
        detector = make_detector(strategy)
        for t in sorted(set(range(len(candles) - 1500, len(candles))) | set(hits)):
            live = detector.detect_latest(pair, candles.iloc[: t + 1], feats.iloc[: t + 1])
            assert live == hits.get(t), f"{strategy} {pair} t={t}"
            found += live is not None
    assert found == sum(len(v[2][strategy]) for v in out.values()) >= 5


@pytest.mark.parametrize("fire_on_rising_edge", [True, False])
def test_channel_latest_rule_equals_batch_on_every_candle(sample_binance, fire_on_rising_edge):
    """The channel rule evaluated on the newest candle in numpy (``latest_fires``, what scripts
    ask per closed candle) equals the batch ``signal_mask`` (what training uses) at every
    candle of every sample pair, fired or not."""
    detector = ChannelDetector(ChannelConfig(fire_on_rising_edge=fire_on_rising_edge))
    fired_total = 0
    for pair, candle_set in sample_binance.items():
        candles = candle_set.frame
        batch_mask = detector.signal_mask(candles, candles).fillna(False).to_numpy(dtype=bool)
        # the channel rule reads candles only: the frame stands in for the features
        latest = np.array([detector.latest_fires(*[candles.iloc[max(0, t - 60): t + 1]] * 2)
                           for t in range(len(candles))])
        mismatch = np.flatnonzero(latest != batch_mask)
        assert not mismatch.size, f"{pair}: rows {mismatch[:5]} differ"
        fired_total += int(batch_mask.sum())
    assert fired_total >= 20  # the comparison covers candles where the rule fires


def test_channel_detect_latest_equals_batch_setups(batch):
    """``ChannelDetector.detect_latest`` on prefixes gives the batch setup (same exits and
    context) on every setup candle, and nothing on the candle after each."""
    _, out = batch
    detector = ChannelDetector()
    checked = 0
    for pair, (candles, feats, setups) in out.items():
        for setup in setups["channel"]:
            t = setup.bar_index
            assert detector.detect_latest(pair, candles.iloc[: t + 1], feats.iloc[: t + 1]) \
                == setup, f"{pair} t={t}"
            if t + 1 < len(candles):  # rising edge: one setup per episode
                assert detector.detect_latest(pair, candles.iloc[: t + 2],
                                              feats.iloc[: t + 2]) is None
            checked += 1
    assert checked >= 5


@pytest.fixture(scope="module")
def all_features(sample_binance):
    """Every sample pair's candles and batch features (BTC as the reference)."""
    btc = sample_binance["BTC-USDT"].frame
    return {pair: (cs.frame, compute_features(cs.frame, btc, 3600))
            for pair, cs in sample_binance.items()}


@pytest.mark.parametrize("fire_on_rising_edge", [True, False])
@pytest.mark.parametrize("strategy", ["dca", "swing"])
def test_row_rule_latest_equals_batch_on_every_candle(all_features, strategy,
                                                      fire_on_rising_edge):
    """The DCA and swing rules evaluated on the newest candle from the last two feature rows
    (``latest_fires``, what scripts ask per closed candle) equal the batch ``signal_mask``
    (what training uses) at every candle of every sample pair, fired or not; and
    ``detect_latest`` on each prefix gives ``detect``'s setup on the whole frame there."""
    config = (DcaConfig if strategy == "dca" else SwingConfig)(
        fire_on_rising_edge=fire_on_rising_edge)
    detector = make_detector(strategy, config)
    fired_total = checked = 0
    for pair, (candles, feats) in all_features.items():
        batch_mask = detector.signal_mask(candles, feats).fillna(False).to_numpy(dtype=bool)
        latest = np.array([detector.latest_fires(candles.iloc[max(0, t - 5): t + 1],
                                                 feats.iloc[max(0, t - 5): t + 1])
                           for t in range(len(feats))])
        mismatch = np.flatnonzero(latest != batch_mask)
        assert not mismatch.size, f"{pair}: rows {mismatch[:5]} differ"
        fired_total += int(batch_mask.sum())
        checked += len(feats)
        hits = {s.bar_index: s for s in detector.detect(pair, candles, feats)}
        for t in np.flatnonzero(batch_mask):
            live = detector.detect_latest(pair, candles.iloc[: t + 1], feats.iloc[: t + 1])
            assert live == hits.get(int(t)), f"{pair} t={t}"
    assert checked >= 10_000
    assert fired_total >= 10  # the comparison covers candles where the rule fires
