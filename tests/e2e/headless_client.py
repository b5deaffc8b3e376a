"""Run the unmodified Hummingbot client headless on one ``ml_*`` script (a child process).

What ``bin/hummingbot_quickstart.py --headless --v2 <conf>`` does, step by step, with Hummingbot's
own functions (``hummingbot/client/runner.py``): on a first start store the password's
verification file (as the login prompt does), log in with the password
(``ETHKeyFileSecretManger``), ``bootstrap_application`` (legacy YAML files, logging, paper-trade
settings from ``conf/conf_client.yml``, ``HummingbotApplication`` in headless mode) and
``load_and_start_strategy`` (``TradingCore.start_strategy``: the script's ``init_markets``, the
``kraken_paper_trade`` connector, the clock, the strategy). Three things differ, all in this
process and none in Hummingbot's files:

* Hummingbot's root (``hummingbot.root_path``, where ``conf/``, ``scripts/``, ``logs/`` and
  ``data/`` live) is the temporary ``--root`` instead of the installed package's folder, and
  the working directory (as ``/home/hummingbot`` is in the Docker image);
* Kraken's REST and WebSocket URLs (``kraken_constants`` and the Kraken candles feed's
  ``constants``) point at the loopback Kraken server, and so do Gate.io's (the default rate
  oracle source);
* MQTT is not started (no broker here; quickstart starts it in headless mode).

Instead of ``hb.run()`` (which waits for ever) the process prints ``E2E-READY`` once the
strategy's connectors and candle feeds are ready, waits until the strategy has a closed trade
(or ``--timeout-s``), waits for the journal and alerts to be written, stops the bot with the
console's ``stop`` (``HummingbotApplication.stop_loop``) and prints one ``E2E-SUMMARY <json>``
line: the executors, the trading rules used, whether Hummingbot's own paper-trade factory is
back. Exit code 0 when a summary was printed.

Usage: ``python headless_client.py --root DIR --conf conf_ml_swing.yml --rest URL --ws URL``
(the password comes from ``E2E_CONFIG_PASSWORD``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path


def _use_root(root: Path) -> None:
    """Make ``root`` Hummingbot's root before any module computes a path from it."""
    import hummingbot

    assert "hummingbot.client.settings" not in sys.modules, "set the root before settings load"
    hummingbot.root_path = lambda: root  # settings.py: CONF_DIR_PATH = root_path() / "conf" ...
    hummingbot.set_prefix_path(str(root))
    sys.path.insert(0, str(root))  # the ``scripts`` package Hummingbot imports scripts from
    os.chdir(root)  # TradingCore looks for ``scripts/<name>.py`` from the working directory


def _point_network_at(rest_url: str, ws_url: str) -> None:
    """Kraken's connector and candles feed read these module attributes at call time. Gate.io,
    Hummingbot's default rate oracle source (started with every strategy), is pointed at the
    same loopback server, which has no Gate.io API: the oracle logs its failure and nothing
    leaves the machine."""
    import hummingbot.connector.exchange.gate_io.gate_io_constants as gate_io_constants
    import hummingbot.connector.exchange.kraken.kraken_constants as exchange_constants
    import hummingbot.data_feed.candles_feed.kraken_spot_candles.constants as candles_constants

    exchange_constants.BASE_URL = rest_url
    exchange_constants.WS_URL = ws_url
    candles_constants.REST_URL = rest_url
    candles_constants.WSS_URL = ws_url
    gate_io_constants.REST_URL = rest_url + "/gate-io/api/v4"
    gate_io_constants.WS_URL = ws_url + "/gate-io"


async def _wait_for(predicate: object, timeout_s: float, every_s: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        await asyncio.sleep(every_s)
    return False


def _executor_rows(strategy: object) -> list[dict[str, object]]:
    rows = []
    for info in strategy.get_all_executors():  # type: ignore[attr-defined]
        config = info.config
        rows.append({
            "id": info.id, "type": info.type, "controller_id": info.controller_id,
            "pair": info.trading_pair, "status": info.status.name,
            "close_type": info.close_type.name if info.close_type else None,
            "filled_amount_quote": float(info.filled_amount_quote),
            "net_pnl_quote": float(info.net_pnl_quote),
            "level_id": config.level_id,
            "amount_base": str(getattr(config, "amount", "")),
            "prices": [str(p) for p in getattr(config, "prices", [])],
            "amounts_quote": [str(a) for a in getattr(config, "amounts_quote", [])],
            "entry_price": info.custom_info.get("current_position_average_price") and str(
                info.custom_info.get("current_position_average_price")),
        })
    return rows


def _order_rows(connector: object) -> list[dict[str, object]]:
    """Every order the paper exchange took, with its fills as the exchange reported them."""
    tracker = getattr(connector, "_order_tracker", None)
    if tracker is None or not hasattr(tracker, "all_orders"):
        return []
    return [{
        "id": order.client_order_id, "pair": order.trading_pair, "side": order.trade_type.name,
        "type": order.order_type.name, "amount": str(order.amount),
        "price": str(order.price) if order.price is not None else None,
        "state": order.current_state.name,
        "fills": [{"amount": str(f.fill_base_amount), "price": str(f.fill_price)}
                  for f in order.order_fills.values()],
    } for order in tracker.all_orders.values()]


async def _flush_observers(strategy: object, timeout_s: float) -> None:
    """Wait (off the event loop) until the journal spool and the alert outbox are written."""
    from ml_signals.hummingbot.alerts_observer import AlertsObserver
    from ml_signals.hummingbot.observers import JournalObserver

    for observer in strategy.runtime.observers:  # type: ignore[attr-defined]
        if isinstance(observer, JournalObserver):
            await asyncio.to_thread(observer.journal.flush, timeout_s)
        elif isinstance(observer, AlertsObserver):
            await asyncio.to_thread(observer.sender.flush, timeout_s)


async def _main(args: argparse.Namespace) -> dict[str, object]:
    from hummingbot.client.config.config_crypt import (
        ETHKeyFileSecretManger,
        store_password_verification,
    )
    from hummingbot.client.config.config_helpers import load_client_config_map_from_file
    from hummingbot.client.config.security import Security
    from hummingbot.client.runner import bootstrap_application, load_and_start_strategy
    from hummingbot.connector.exchange.paper_trade.paper_trade_exchange import PaperTradeExchange
    from hummingbot.core import connector_manager

    secrets = ETHKeyFileSecretManger(os.environ["E2E_CONFIG_PASSWORD"])
    if Security.new_password_required():  # first start: what the login prompt does
        store_password_verification(secrets)
    client_config_map = load_client_config_map_from_file()
    hb = await bootstrap_application(client_config_map, secrets, headless=True,
                                     mqtt_autostart=False)
    assert hb is not None, "login refused"
    started = await load_and_start_strategy(hb, v2_conf=args.conf, headless=True)
    core = hb.trading_core
    if not started or core.strategy is None:
        return {"started": False}
    strategy = core.strategy
    connector = core.connectors[strategy.config.connector_name]
    ready = await _wait_for(lambda: strategy.market_data_provider.ready, args.timeout_s)
    print(f"E2E-READY {json.dumps({'ready': ready})}", flush=True)
    closed = await _wait_for(
        lambda: bool(strategy.runtime.planner.ledger.closed_trades)
        and all(i.is_done for i in strategy.get_all_executors()), args.timeout_s)
    await _flush_observers(strategy, 30.0)
    rules = {pair: {"min_order_size": str(rule.min_order_size),
                    "min_price_increment": str(rule.min_price_increment),
                    "min_base_amount_increment": str(rule.min_base_amount_increment),
                    "min_notional_size": str(rule.min_notional_size)}
             for pair, rule in connector.trading_rules.items()}
    summary: dict[str, object] = {
        "started": True, "ready": ready, "closed": closed,
        "connector_class": type(connector).__name__,
        "executors": _executor_rows(strategy), "orders": _order_rows(connector),
        "trading_rules": rules,
        "status": strategy.runtime.format_status(strategy.current_timestamp,
                                                 strategy.get_all_executors()),
    }
    await hb.stop_loop()  # the console's ``stop``: on_stop, connectors removed, clock stopped
    fresh = connector_manager.create_paper_trade_market("kraken", ["BTC-USD"])
    summary["after_stop_factory_class"] = type(fresh).__name__
    summary["after_stop_is_hummingbot_class"] = type(fresh) is PaperTradeExchange
    return summary


def main() -> int:
    """Parse the arguments, run the client, print the summary; 0 when it was printed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--conf", required=True, help="V2 config in <root>/conf/scripts/")
    parser.add_argument("--rest", required=True, help="loopback Kraken REST base URL")
    parser.add_argument("--ws", required=True, help="loopback Kraken WebSocket URL")
    parser.add_argument("--timeout-s", type=float, default=180.0)
    args = parser.parse_args()
    _use_root(args.root.resolve())
    _point_network_at(args.rest, args.ws)
    summary = asyncio.run(_main(args))
    print(f"E2E-SUMMARY {json.dumps(summary, default=str)}", flush=True)  # Decimals as text
    return 0


if __name__ == "__main__":
    sys.exit(main())
