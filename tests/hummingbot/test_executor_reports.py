"""Terminated executors listed with their report computed once (``executor_reports``).

A real ``PositionExecutor`` on the executor-capable paper exchange, Hummingbot's backtest clock
and orchestrator: while it runs it is never wrapped; once terminated, the wrapped executor gives
the report Hummingbot builds from the executor itself, and Hummingbot's own reports, archiving
(``StoreExecutorAction`` through the markets recorder) and shutdown signature work on it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hb_support import (
    CONNECTOR,
    Host,
    HostConfig,
    backtest_clock,
    fixed_paper_exchange,
    install_markets_recorder,
    run,
    run_until_done,
    set_books,
    tick_through,
    usd,
)
from hummingbot.connector.test_support.mock_order_tracker import MockOrderTracker
from hummingbot.core.data_type.common import OrderType, TradeType
from hummingbot.strategy_v2.executors.position_executor.data_types import (
    PositionExecutorConfig,
    TripleBarrierConfig,
)
from hummingbot.strategy_v2.models.base import RunnableStatus
from hummingbot.strategy_v2.models.executor_actions import (
    CreateExecutorAction,
    StoreExecutorAction,
)
from hummingbot.strategy_v2.models.executors import CloseType

from ml_signals.hummingbot.executor_reports import FinishedExecutor, freeze_finished, reports_key

T0 = 1_640_995_200  # 2022-01-01 00:00 UTC, inside the Kraken sample


def _info_fields(info):
    return info.model_dump(exclude={"config"})


def test_terminated_executor_report_computed_once(markets_recorder, kraken_frames):
    frame = kraken_frames["BTC-USD"]
    mid = float(frame.loc[frame["timestamp"] == T0, "close"].iat[0])

    async def scenario():
        install_markets_recorder(markets_recorder)
        exchange = fixed_paper_exchange(MockOrderTracker())
        exchange.set_balance("USD", usd(10_000))
        set_books(exchange, {"BTC-USD": mid})
        host = Host({CONNECTOR: exchange}, HostConfig())
        orchestrator = host.executor_orchestrator
        orchestrator.executors_update_interval = 0.05
        clock = backtest_clock(T0, T0 + 3600)
        clock.add_iterator(exchange)
        clock.add_iterator(host)
        seen = {}
        with clock:
            await tick_through(clock, T0 + 2)
            config = PositionExecutorConfig(
                timestamp=clock.current_timestamp, connector_name=CONNECTOR,
                trading_pair="BTC-USD", side=TradeType.BUY, amount=Decimal("0.004"),
                triple_barrier_config=TripleBarrierConfig(
                    take_profit=Decimal("0.02"), stop_loss=Decimal("0.03"), time_limit=3600,
                    open_order_type=OrderType.MARKET))
            orchestrator.execute_actions(
                [CreateExecutorAction(controller_id="test", executor_config=config)])
            await tick_through(clock, T0 + 30)
            running = orchestrator.active_executors["test"][0]
            seen["running_status"] = running.status
            seen["wrapped_while_running"] = freeze_finished(orchestrator)
            seen["key_while_running"] = reports_key(orchestrator)
            with pytest.raises(ValueError, match="not terminated"):
                FinishedExecutor(running)
            set_books(exchange, {"BTC-USD": mid * 1.03})
            await run_until_done(clock, host)
            seen["fresh"] = _info_fields(running.executor_info)
            seen["wrapped"] = freeze_finished(orchestrator)
            seen["wrapped_again"] = freeze_finished(orchestrator)
            listed = orchestrator.active_executors["test"][0]
            seen["listed"] = listed
            seen["key"] = reports_key(orchestrator)
            set_books(exchange, {"BTC-USD": mid * 0.9})  # the market moves on: the report not
            seen["after_move"] = _info_fields(listed.executor_info)
            reports = orchestrator.get_all_reports()["test"]
            seen["reported"] = _info_fields(reports["executors"][0])
            seen["realized"] = reports["performance"].realized_pnl_quote
            seen["signature"] = orchestrator._executors_shutdown_signature()
            orchestrator.execute_actions(
                [StoreExecutorAction(executor_id=config.id, controller_id="test")])
            seen["after_store"] = list(orchestrator.active_executors["test"])
            seen["cached_realized"] = orchestrator.cached_performance["test"].realized_pnl_quote
            return seen, config.id

    seen, executor_id = run(scenario)
    assert seen["running_status"] == RunnableStatus.RUNNING
    assert seen["wrapped_while_running"] == 0 and seen["key_while_running"] is None
    assert (seen["wrapped"], seen["wrapped_again"]) == (1, 0)
    assert isinstance(seen["listed"], FinishedExecutor)
    assert seen["listed"].status == RunnableStatus.TERMINATED  # read through to the executor
    assert seen["listed"].close_type == CloseType.TAKE_PROFIT
    assert seen["key"] == (executor_id,)
    assert seen["after_move"] == seen["fresh"] == seen["reported"]
    assert seen["realized"] == seen["fresh"]["net_pnl_quote"] > 0
    assert seen["signature"]  # Hummingbot's own shutdown check read the wrapped executor
    assert seen["after_store"] == []  # archived by Hummingbot through the markets recorder
    assert seen["cached_realized"] == seen["fresh"]["net_pnl_quote"]
