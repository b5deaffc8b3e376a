"""The Hummingbot pieces around a replayed strategy: funded exchanges, the app and markets
recorder singletons, quiet loggers that still count errors, and the teardown.

Used by :mod:`.runner`, which drives the clock; nothing here advances time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from hummingbot.client.config.client_config_map import ClientConfigMap
from hummingbot.client.config.config_helpers import ClientConfigAdapter
from hummingbot.connector.markets_recorder import MarketsRecorder
from hummingbot.model.sql_connection_manager import SQLConnectionManager, SQLConnectionType

from training.replay.exchange import ReplayExchange

HUMMINGBOT_NETWORK_CHECK_S = 10.0
"""Hummingbot's ``NetworkIterator`` network-check interval (s), used in exhaustive mode."""
FLUSH_TIMEOUT_S = 60.0
"""Longest wait, after the last tick, for the journal to be written and the alerts delivered
(seconds, wall clock; each takes well under a second for a two-month replay)."""


class ErrorLog(logging.Handler):
    """Collects ERROR records, each cut to 300 characters (Hummingbot logs executor and event
    failures instead of raising)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}"[:300])


@contextmanager
def quiet_hummingbot(level: int) -> Iterator[ErrorLog]:
    """Within the block: the ``hummingbot``, ``ml_signals`` and ``hummingbot_scripts`` loggers
    at ``level`` and an :class:`ErrorLog` on the root logger (yielded); both undone after."""
    errors = ErrorLog()
    root = logging.getLogger()
    root.addHandler(errors)
    loggers = [logging.getLogger(n) for n in ("hummingbot", "ml_signals", "hummingbot_scripts")]
    saved = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(level)
    try:
        yield errors
    finally:
        root.removeHandler(errors)
        for lg, lvl in zip(loggers, saved, strict=True):
            lg.setLevel(lvl)


def funded_connectors(markets: Mapping[str, list[str]], *, half_spread_frac: float,
                      quote_balance: float, exhaustive: bool) -> dict[str, ReplayExchange]:
    """One :class:`ReplayExchange` per market connector, funded with ``quote_balance`` of each
    quote asset of its pairs; with ``exhaustive``, checking its network at Hummingbot's
    interval (``HUMMINGBOT_NETWORK_CHECK_S``) instead of once a simulated day."""
    connectors = {name: ReplayExchange(name, pairs, half_spread_frac=half_spread_frac)
                  for name, pairs in markets.items()}
    for exchange in connectors.values():
        if exhaustive:
            exchange.check_network_interval = HUMMINGBOT_NETWORK_CHECK_S
        quotes = {pair.split("-")[1] for pair in exchange.trading_pairs}
        exchange.fund({q: Decimal(str(quote_balance)) for q in quotes})
    return connectors


def hummingbot_app_and_recorder(connectors: list[ReplayExchange], config_name: str,
                                strategy_name: str) -> None:
    """Create the Hummingbot singletons ``StrategyV2Base`` reads: the app (``start`` asks it
    for MQTT; headless, in-memory client config) and the markets recorder on an in-memory
    SQLite database (the orchestrator loads and stores executors through it)."""
    from hummingbot.client.hummingbot_application import HummingbotApplication

    client_config = ClientConfigAdapter(ClientConfigMap())
    app = HummingbotApplication.main_application(client_config_map=client_config,
                                                 headless_mode=True)
    # TradingCore starts a Gateway (DEX middleware) status poller; the replay has no Gateway,
    # and on the virtual clock the poller would spin on connection attempts.
    app.trading_core.gateway_monitor.stop_monitor()
    sql = SQLConnectionManager(client_config, SQLConnectionType.TRADE_FILLS, db_path=":memory:")
    MarketsRecorder(sql, list(connectors), config_name, strategy_name,
                    client_config.market_data_collection)


def close_observers(strategy: Any) -> None:
    """Close the script's journal and alert threads after everything is written and delivered
    (waiting up to ``FLUSH_TIMEOUT_S``).

    The executors stay as they are (``on_stop`` would stop them at market), so the ml scripts'
    ``close_runtime`` is called instead of Hummingbot's stop; other scripts' runtimes are closed
    directly."""
    close = getattr(strategy, "close_runtime", None)
    runtime = getattr(strategy, "runtime", None)
    if callable(close):
        if runtime is not None:
            # the sync a next tick would make: closes seen after the last tick reach the
            # ledger, journal and alerts as they reach the replay's executor records
            strategy.update_executors_info()
            runtime.sync(strategy.current_timestamp, strategy.get_all_executors())
        close(flush_timeout_s=FLUSH_TIMEOUT_S)  # notifier detached, all written and delivered
    elif runtime is not None and callable(getattr(runtime, "close", None)):
        runtime.close()


def cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the loop's unfinished tasks and let them finish cancelling."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
