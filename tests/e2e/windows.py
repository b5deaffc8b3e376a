"""Where in the shipped real Kraken candles the detectors fire, seen as the live scripts see them.

The end-to-end test replays a short stretch of ``data/sample/kraken`` through the loopback
Kraken server. This module finds a stretch that holds a setup by running the scripts' own code
offline: for each candidate candle, the last ``max_records`` closed candles (exactly the frame
the runtime reads from Hummingbot's feed), ``compute_features`` with BTC as reference and the
strategy's detector through ``StrategyEngine.evaluate`` with a rules-only scorer. Nothing is
hard-coded: a change to the detectors or features moves the windows with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ml_signals.decision.engine import Evaluation, StrategyEngine
from ml_signals.features import compute_features
from ml_signals.scoring.scorer import Scorer
from ml_signals.setups import DetectorConfig, make_detector
from training.data import load_candles

HOUR = 3600
SAMPLE_FILES = {"BTC-USD": "XBTUSD_60.csv", "ETH-USD": "ETHUSD_60.csv"}
"""Hummingbot pair -> shipped Kraken OHLCVT file (data/sample/README.md)."""


@dataclass(frozen=True)
class Window:
    """A stretch to replay around one setup.

    Attributes:
        pair: pair whose candle is a setup.
        setup_ts: open time (real, s) of the setup candle.
        first_replay_ts: open time of the first replayed candle (``lead`` candles earlier).
        setup_id: the detector's id of the setup (``<strategy>:<pair>:<ts>``-like).
    """

    pair: str
    setup_ts: int
    first_replay_ts: int
    setup_id: str


def kraken_frames(sample_dir: Path) -> dict[str, pd.DataFrame]:
    """Canonical 1h frames of the shipped Kraken sample, by Hummingbot pair."""
    return {pair: load_candles(sample_dir / "kraken" / name).frame
            for pair, name in SAMPLE_FILES.items()}


def find_window(frames: dict[str, pd.DataFrame], strategy: str, config: DetectorConfig,
                max_records: int, lead: int, follow: int,
                follow_check: object | None = None) -> Window:
    """The first setup of ``strategy`` that the live runtime would see on a fresh start.

    Args:
        frames: pair -> canonical frame (BTC-USD included; all on one timeline).
        strategy: ``"swing"``, ``"dca"`` or ``"channel"``.
        config: the detector settings of the test YAML.
        max_records: candles the feed keeps (the runtime's frame length).
        lead: replayed candles before the setup candle.
        follow: candles that must exist after the setup candle.
        follow_check: optional ``callable(frame, setup_index, evaluation) -> bool`` a window
            must also pass (e.g. the next candles trade through a DCA grid's first level).

    Raises:
        LookupError: no such setup in the sample (names the strategy and the search).
    """
    btc = frames["BTC-USD"]
    engine = StrategyEngine(make_detector(strategy, config, HOUR),  # type: ignore[arg-type]
                            Scorer.rules_only_scorer(strategy))
    for pair, frame in frames.items():
        full = compute_features(frame, None if pair == "BTC-USD" else btc, HOUR)
        candidates = engine.detector.detect(pair, frame, full)
        for setup in candidates:
            i = int(setup.bar_index)
            if i < max_records + lead + 1 or i + follow >= len(frame):
                continue
            window = frame.iloc[i - max_records + 1: i + 1].reset_index(drop=True)
            ref = btc.iloc[i - max_records + 1: i + 1].reset_index(drop=True)
            features = compute_features(window, None if pair == "BTC-USD" else ref, HOUR)
            if int(features["btc_regime"].iat[-1]) == 0:  # CRASH: the crash guard would skip
                continue
            evaluation = engine.evaluate(pair, window, features)
            if evaluation is None or evaluation.sized is None:
                continue
            if follow_check is not None and not follow_check(frame, i, evaluation):  # type: ignore[operator]
                continue
            return Window(pair, int(frame["timestamp"].iat[i]),
                          int(frame["timestamp"].iat[i - lead]), evaluation.setup.setup_id)
    raise LookupError(f"no {strategy} setup in the Kraken sample that a {max_records}-candle "
                      f"feed shows with {lead} candles before and {follow} after")


def dca_first_level_fills(frame: pd.DataFrame, i: int, evaluation: Evaluation,
                          within: int = 3) -> bool:
    """True when a candle among the ``within`` after the setup trades through the grid's first
    level (the maker buy then fills on the replayed book)."""
    assert evaluation.sized is not None
    first_level = evaluation.sized.entry.prices[0]
    lows = frame["low"].iloc[i + 1: i + 1 + within]
    return bool((lows < first_level * 0.999).any())
