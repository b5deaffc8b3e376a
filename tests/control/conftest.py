"""Fixtures of the control tests: the shipped Kraken candles, their DCA setups, and the Socket
Mode server on loopback. Helpers live in ``control_support``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("hummingbot.strategy.strategy_v2_base",
                    reason="compiled Hummingbot package not installed")

from control_support import HOUR  # noqa: E402
from servers.socket_mode_like import SocketModeLikeServer  # noqa: E402

from ml_signals.features import compute_features  # noqa: E402
from ml_signals.setups import make_detector  # noqa: E402


@pytest.fixture(scope="session")
def dca_setups(kraken_frames) -> list:
    """DCA setups on BTC-USD with a full 720-candle window before them, oldest first."""
    btc = kraken_frames["BTC-USD"]
    features = compute_features(btc, None, HOUR)
    return [s for s in make_detector("dca").detect("BTC-USD", btc, features)
            if s.bar_index >= 720]


@pytest.fixture
def socket_mode_server() -> Iterator[SocketModeLikeServer]:
    """The Socket Mode server on 127.0.0.1, stopped after the test."""
    with SocketModeLikeServer() as server:
        yield server


@pytest.fixture
def markets_recorder(tmp_path: Path) -> Iterator[Path]:
    """A temporary trade database for Hummingbot's ``MarketsRecorder`` (the executor
    orchestrator reads the shared recorder when a strategy is created); the previous shared
    recorder is restored afterwards."""
    from hummingbot.connector.markets_recorder import MarketsRecorder

    previous = MarketsRecorder._shared_instance
    yield tmp_path / "trades.sqlite"
    MarketsRecorder._shared_instance = previous
