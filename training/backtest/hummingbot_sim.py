"""Run Hummingbot's own backtesting executor simulators on our setups (parity checks, benchmark).

The only module of the backtester that imports Hummingbot. Executor configs come from
:mod:`ml_signals.hummingbot.executor_configs` -- the functions the live scripts call -- and the
candles are sliced the way Hummingbot's ``BacktestingEngineBase.simulate_execution`` slices
them: from the row the controller decided on (``processed_features.loc[i:max_ts]``) up to
``min(config.timestamp + time_limit, last row)``, indexed by epoch seconds
(``BacktestingDataProvider.ensure_epoch_index``).

Row ``s`` the simulators start from is the setup candle (``entry_bar - 1``); its timestamp is the
executor's ``config.timestamp`` (Hummingbot's backtesting clock stands on a row's timestamp while
reading its close).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from hummingbot.strategy_v2.backtesting.backtesting_data_provider import BacktestingDataProvider
from hummingbot.strategy_v2.backtesting.executor_simulator_base import ExecutorSimulation
from hummingbot.strategy_v2.backtesting.executors_simulator.dca_executor_simulator import (
    DCAExecutorSimulator,
)
from hummingbot.strategy_v2.backtesting.executors_simulator.position_executor_simulator import (
    PositionExecutorSimulator,
)
from hummingbot.strategy_v2.executors.dca_executor.data_types import DCAExecutorConfig
from hummingbot.strategy_v2.executors.position_executor.data_types import PositionExecutorConfig

from ml_signals.decision.sizing import SizedEntry
from ml_signals.hummingbot.executor_configs import executor_config, to_decimal

CONNECTOR = "binance_paper_trade"


@dataclass(frozen=True, slots=True)
class HummingbotOutcome:
    """What a Hummingbot simulator reports for one executor.

    Attributes:
        close_type: ``CloseType`` name (``TAKE_PROFIT``, ``STOP_LOSS``, ``TRAILING_STOP``,
            ``TIME_LIMIT``, ``FAILED``).
        close_ts: index (candle open time, s) of the last simulated row.
        net_pnl_quote, net_pnl_pct: PnL after the simulator's fees on that row.
        filled_amount_quote: filled entry notional (the simulator doubles it on the last row
            to mark the close; this is the undoubled amount).
        cum_fees_quote: fees the simulator charged.
        rows: candle rows the simulator walked.
    """

    close_type: str
    close_ts: int
    net_pnl_quote: float
    net_pnl_pct: float
    filled_amount_quote: float
    cum_fees_quote: float
    rows: int


def epoch_frame(candles: pd.DataFrame) -> pd.DataFrame:
    """A canonical candle frame indexed by epoch seconds, as the backtesting engine feeds its
    simulators: ``timestamp`` as float seconds (Hummingbot's candles format), kept as a column."""
    frame = candles.astype({"timestamp": "float64"})
    return BacktestingDataProvider.ensure_epoch_index(frame)


def hummingbot_config(sized: SizedEntry, decision_ts: int,
                      entry_price: float) -> PositionExecutorConfig | DCAExecutorConfig:
    """The executor config the live scripts would send for ``sized`` at ``decision_ts``
    (``entry_price`` turns a market entry's quote size into its base amount). A position
    config also gets ``entry_price`` set: the simulator reads it, where a live executor takes
    it from the order book."""
    config = executor_config(sized, CONNECTOR, float(decision_ts), entry_price)
    if isinstance(config, PositionExecutorConfig):
        config = config.model_copy(update={"entry_price": to_decimal(entry_price)})
    return config


def simulate(frame: pd.DataFrame, config: PositionExecutorConfig | DCAExecutorConfig,
             trade_cost: float) -> HummingbotOutcome:
    """Run the matching Hummingbot simulator on ``frame`` (from :func:`epoch_frame`) sliced as
    the backtesting engine slices it.

    Raises:
        TypeError: another executor config type.
    """
    time_limit = (config.triple_barrier_config.time_limit
                  if isinstance(config, PositionExecutorConfig) else config.time_limit)
    last = float(frame.index[-1])
    stop = min(config.timestamp + time_limit, last) if time_limit else last
    window = frame.loc[config.timestamp:stop]
    sim: ExecutorSimulation
    if isinstance(config, PositionExecutorConfig):
        sim = PositionExecutorSimulator().simulate(window, config, trade_cost)
    elif isinstance(config, DCAExecutorConfig):
        sim = DCAExecutorSimulator().simulate(window, config, trade_cost)
    else:
        raise TypeError(f"no simulator for {type(config).__name__}")
    return outcome(sim)


def outcome(sim: ExecutorSimulation) -> HummingbotOutcome:
    """Summary of a simulation's last row (what the engine books for the executor)."""
    df = sim.executor_simulation
    row = df.iloc[-1]
    filled = float(row["filled_amount_quote"])
    if len(df) > 0 and "filled_amount_quote" in df:
        filled /= 2.0  # the simulators double the last row's amount to flag the close
    return HummingbotOutcome(
        close_type=sim.close_type.name,
        close_ts=int(df.index[-1]),
        net_pnl_quote=float(row["net_pnl_quote"]),
        net_pnl_pct=float(row["net_pnl_pct"]),
        filled_amount_quote=filled,
        cum_fees_quote=float(row["cum_fees_quote"]),
        rows=len(df),
    )
