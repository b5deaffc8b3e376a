"""Fixtures of the control tests: real runtimes on the shipped Kraken candles, a real SQLite
journal, Hummingbot ``ExecutorInfo`` records, and the Socket Mode server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("hummingbot.strategy.strategy_v2_base",
                    reason="compiled Hummingbot package not installed")

from hummingbot.core.data_type.common import TradeType  # noqa: E402
from hummingbot.strategy_v2.executors.dca_executor.data_types import (  # noqa: E402
    DCAExecutorConfig,
)
from hummingbot.strategy_v2.models.base import RunnableStatus  # noqa: E402
from hummingbot.strategy_v2.models.executors import CloseType  # noqa: E402
from hummingbot.strategy_v2.models.executors_info import ExecutorInfo  # noqa: E402
from servers.socket_mode_like import SocketModeLikeServer  # noqa: E402

import hummingbot_scripts.ml_dca_grid as dca_script  # noqa: E402
from ml_signals.features import compute_features  # noqa: E402
from ml_signals.setups import make_detector  # noqa: E402
from training.data import load_candles  # noqa: E402

HOUR = 3600
PAIRS = ["BTC-USD", "ETH-USD"]
OPERATOR = "U0OPERATOR"
NO_MODELS = str(Path(__file__).parent / "no_models")
"""A models folder that does not exist: the runtimes here run rules-only."""


@pytest.fixture(scope="session")
def kraken_frames(sample_dir: Path) -> dict[str, pd.DataFrame]:
    """Canonical 1h frames of the shipped Kraken sample: ``{"BTC-USD": ..., "ETH-USD": ...}``."""
    frames = {}
    for name in ("XBTUSD_60.csv", "ETHUSD_60.csv"):
        candle_set = load_candles(sample_dir / "kraken" / name)
        frames[candle_set.pair] = candle_set.frame
    return frames


@pytest.fixture(scope="session")
def dca_setups(kraken_frames) -> list:
    """DCA setups on BTC-USD with a full 720-candle window before them, oldest first."""
    btc = kraken_frames["BTC-USD"]
    features = compute_features(btc, None, HOUR)
    return [s for s in make_detector("dca").detect("BTC-USD", btc, features)
            if s.bar_index >= 720]


class SampleView:
    """A ``MarketView`` over the sample frames as a Hummingbot candles feed shows them at
    ``now_s`` (the last 720 candles, the newest still forming); price = the forming open."""

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        self.frames = frames
        self.now_s = 0.0

    def candles(self, pair: str) -> pd.DataFrame:
        frame = self.frames[pair]
        window = frame[frame["timestamp"] <= self.now_s].tail(720).copy()
        return window.astype({"timestamp": "float64"}).reset_index(drop=True)

    def price(self, pair: str) -> float:
        frame = self.frames[pair]
        return float(frame[frame["timestamp"] <= self.now_s]["open"].iat[-1])


def dca_runtime(tmp_path: Path | None = None, **overrides):
    """The DCA script's runtime (rules-only), journaling to SQLite in ``tmp_path`` if given."""
    values = {"trading_pairs": PAIRS, "models_dir": NO_MODELS, **overrides}
    if tmp_path is not None:
        values["journal"] = {"enabled": True, "backend": "sqlite",
                             "sqlite_path": str(tmp_path / "journal.sqlite"),
                             "spool_path": str(tmp_path / "spool.sqlite")}
    return dca_script.MlDcaGridConfig(**values).build_runtime()


def executor(pair: str, *, status: RunnableStatus, filled_quote: float = 0.0,
             pnl_quote: float = 0.0, pnl_frac: float = 0.0, close_type: CloseType | None = None,
             timestamp: float = 0.0, close_ts: float | None = None, entry: float = 0.0,
             exit_: float = 0.0, level_id: str = "dca:X:0", take_profit: float = 0.05,
             stop_loss: float = 0.08, executor_id: str | None = None) -> ExecutorInfo:
    """A Hummingbot ``ExecutorInfo`` of a DCA executor of the ``dca`` controller."""
    config = DCAExecutorConfig(timestamp=timestamp, connector_name="kraken_paper_trade",
                               trading_pair=pair, side=TradeType.BUY,
                               amounts_quote=[Decimal(100)] * 5,
                               prices=[Decimal(100 - k) for k in range(5)], level_id=level_id,
                               controller_id="dca", take_profit=Decimal(str(take_profit)),
                               stop_loss=Decimal(str(stop_loss)))
    if executor_id is not None:
        config.id = executor_id
    return ExecutorInfo(
        id=config.id, timestamp=timestamp, type=config.type, status=status, config=config,
        net_pnl_pct=Decimal(str(pnl_frac)), net_pnl_quote=Decimal(str(pnl_quote)),
        cum_fees_quote=Decimal("0.5"), filled_amount_quote=Decimal(str(filled_quote)),
        is_active=status != RunnableStatus.TERMINATED, is_trading=filled_quote > 0,
        custom_info={"current_position_average_price": Decimal(str(entry)),
                     "close_price": Decimal(str(exit_))},
        close_type=close_type, close_timestamp=close_ts, controller_id="dca")


@pytest.fixture
def socket_mode_server() -> Iterator[SocketModeLikeServer]:
    """The Socket Mode server on 127.0.0.1, stopped after the test."""
    with SocketModeLikeServer() as server:
        yield server
