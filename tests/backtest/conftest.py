"""Fixtures of the backtest tests: real detector setups on the shipped sample candles, and a
small real training run (three pairs, three folds)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ml_signals.decision.sizing import SizedEntry, SizingConfig, size_entry
from ml_signals.exits import ExitRules
from ml_signals.scoring.scorer import Scorer
from ml_signals.setups import make_detector
from ml_signals.setups.base import Setup
from training.labels.dataset import PairFeatures, compute_pair_features
from training.labels.outcomes import FeeSchedule
from training.pipeline import TrainingRun, train_all

PARITY_PAIRS = ("BTC-USDT", "ETH-USDT", "SOL-USDT", "DOGE-USDT")
TRAIN_PAIRS = ("BTC-USDT", "DOGE-USDT", "ETH-USDT", "LINK-USDT", "SOL-USDT", "XRP-USDT")
HOUR = 3600

# Exit variants beside each setup's own exits, chosen so that take profit, stop loss, trailing
# stop and time limit all occur on the sample: a tight triple barrier with a trailing stop for
# market entries, a trailing stop on DCA grids.
MARKET_VARIANT = ExitRules(0.03, 0.03, 24 * HOUR, 0.015, 0.0075)
GRID_VARIANT = ExitRules(0.05, 0.08, 48 * HOUR, 0.02, 0.01)


@pytest.fixture(scope="session")
def parity_features(sample_binance) -> dict[str, PairFeatures]:
    """Features of four sample pairs (BTC reference)."""
    return compute_pair_features({p: sample_binance[p] for p in PARITY_PAIRS}, "BTC-USDT")


def sized_rules_only(setup: Setup) -> SizedEntry:
    """The live scripts' sized entry of ``setup`` under a rules-only score."""
    score = Scorer.rules_only_scorer(setup.strategy).score(setup, {})
    return size_entry(setup, score, SizingConfig())


@pytest.fixture(scope="session")
def parity_cases(parity_features) -> list[tuple[Setup, SizedEntry]]:
    """Real detector setups of the three strategies on four pairs, each with its own exits and
    with the variant exits above, as ``(setup with sized entry and exits, sized entry)``."""
    cases = []
    for pair, pf in parity_features.items():
        frame = pf.candles.frame
        for strategy in ("swing", "channel", "dca"):
            for setup in make_detector(strategy).detect(pair, frame, pf.features):
                variant = GRID_VARIANT if strategy == "dca" else MARKET_VARIANT
                for exits in (setup.exits, variant):
                    sized = sized_rules_only(replace(setup, exits=exits))
                    cases.append((replace(setup, entry=sized.entry, exits=sized.exits), sized))
    return cases


@pytest.fixture(scope="module")
def training_run(sample_binance) -> TrainingRun:
    """A real training run: DCA and channel on the six sample pairs, three walk-forward folds
    (folds 2-3 get an ex-ante rule), no artifact written, no null run (swing has too few
    setups on the sample to train)."""
    sets = {p: sample_binance[p] for p in TRAIN_PAIRS}
    return train_all(sets, "BTC-USDT", ["dca", "channel"], FeeSchedule(), None, n_folds=3,
                     progress=False, null_run=False)
