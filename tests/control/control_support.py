"""Helpers of the control tests (imported by the test modules of this folder): real runtimes
on the shipped Kraken candles, Hummingbot ``ExecutorInfo`` records, a candles view."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
from hummingbot.core.data_type.common import TradeType
from hummingbot.strategy_v2.executors.dca_executor.data_types import DCAExecutorConfig
from hummingbot.strategy_v2.models.base import RunnableStatus
from hummingbot.strategy_v2.models.executors import CloseType
from hummingbot.strategy_v2.models.executors_info import ExecutorInfo

import hummingbot_scripts.ml_dca_grid as dca_script
from ml_signals.control import ControlSettings

HOUR = 3600
PAIRS = ["BTC-USD", "ETH-USD"]
OPERATOR = "U0OPERATOR"
NO_MODELS = str(Path(__file__).parent / "no_models")
"""A models folder that does not exist: the runtimes here run rules-only."""


def operator_settings(tmp_path: Path, **overrides: object) -> ControlSettings:
    """Control on, :data:`OPERATOR` the only operator, the pause state file in ``tmp_path``."""
    values: dict[str, object] = {"enabled": True, "operators": [OPERATOR],
                                 "state_path": str(tmp_path / "control_state.json")}
    values.update(overrides)
    return ControlSettings.model_validate(values)


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
    values = {"trading_pairs": PAIRS, "models_dir": NO_MODELS, "no_model_policy": "rules_only",
              **overrides}
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
