"""Fixtures for the Hummingbot adapter tests: real Hummingbot classes, real sample candles.

Skips the folder when the compiled Hummingbot package is not installed. Nothing here replaces a
Hummingbot class: the trade database is a ``MarketsRecorder`` on a temporary SQLite file, the
order book tracker is Hummingbot's own test-support ``MockOrderTracker`` (a tracker that opens
no websocket), prices come from the shipped Kraken candles.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("hummingbot.strategy.strategy_v2_base",
                    reason="compiled Hummingbot package not installed")

from hummingbot.connector.markets_recorder import MarketsRecorder  # noqa: E402


@pytest.fixture
def markets_recorder(tmp_path: Path) -> Iterator[Path]:
    """A temporary trade database for Hummingbot's ``MarketsRecorder`` (the executor
    orchestrator reads the shared recorder when a strategy is created). Yields the database
    path; build the recorder on the running loop with ``hb_support.install_markets_recorder``.
    The previous shared recorder is restored afterwards."""
    previous = MarketsRecorder._shared_instance
    yield tmp_path / "trades.sqlite"
    MarketsRecorder._shared_instance = previous


@pytest.fixture
def no_paper_factory() -> Iterator[None]:
    """Undo any paper-trade factory a test (or a script's ``init_markets``) installs."""
    from ml_signals.hummingbot import paper_trading

    yield
    paper_trading.uninstall_paper_trade_factory()
