"""Run in a child process by ``test_logging_setup.py``: a script's life in the Hummingbot client,
with Hummingbot's own logging reloads, writing probe records from an ``ml_signals`` logger.

``python logging_probe.py PREFIX_DIR MODE`` - MODE ``code``: Hummingbot's template as the
client writes it to ``conf/hummingbot_logs.yml``; ``snippet``: the template with
``conf/hummingbot_logs.ml_signals.yml`` merged in. Logs go to ``PREFIX_DIR/logs``. Steps, in the
client's order (``StartCommand.start_check``, ``TradingCore``, ``hummingbot_quickstart``):

1. boot: import ``scripts.ml_swing`` (the client imports every script for tab completion);
2. ``start``: ``init_logging`` -> probe ``reload``; ``TradingCore.load_v2_class`` (config from
   the shipped YAML for one pair, no models, no network; ``init_markets``) -> probe
   ``init_markets``; the strategy object is built;
3. the headless quickstart's second ``init_logging`` -> probe ``second_reload``;
4. the clock's first tick starts the strategy (``start``) -> probe ``strategy_start``; a third
   reload, two more ticks (``on_tick``) -> probe ``on_tick``.

A separate process because ``init_logging`` reconfigures logging for the whole interpreter.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
from pathlib import Path

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]

from hb_support import (  # noqa: E402
    CONNECTOR,
    backtest_clock,
    fixed_paper_exchange,
    install_markets_recorder,
    set_books,
    tick_through,
)
from hummingbot import init_logging, set_prefix_path  # noqa: E402
from hummingbot.client.config.client_config_map import ClientConfigMap  # noqa: E402
from hummingbot.client.config.config_helpers import ClientConfigAdapter  # noqa: E402
from hummingbot.client.settings import TEMPLATE_PATH  # noqa: E402
from hummingbot.connector.test_support.mock_order_tracker import MockOrderTracker  # noqa: E402
from hummingbot.core.trading_core import TradingCore  # noqa: E402

import hummingbot_scripts  # noqa: E402

CONF_NAME = "conf_ml_swing.yml"
PROBE_LOGGER = "ml_signals.hummingbot.script_base"  # a real module logger, created at import


def write_logging_conf(prefix: Path, mode: str) -> None:
    """``conf/hummingbot_logs.yml`` as ``create_yml_files_legacy`` writes it (the template),
    with our snippet merged in for ``snippet``."""
    yaml = YAML()
    conf = yaml.load((TEMPLATE_PATH / "hummingbot_logs_TEMPLATE.yml").read_text())
    if mode == "snippet":
        snippet = yaml.load((REPO / "conf" / "hummingbot_logs.ml_signals.yml").read_text())
        conf["loggers"].update(snippet["loggers"])
    (prefix / "conf").mkdir(parents=True)
    (prefix / "logs").mkdir()
    with (prefix / "conf" / "hummingbot_logs.yml").open("w") as fd:
        yaml.dump(conf, fd)


def write_script_conf(prefix: Path) -> Path:
    """The shipped ``conf_ml_swing.yml`` for one pair, without models or network."""
    yaml = YAML()
    data = yaml.load((REPO / "conf" / "scripts" / CONF_NAME).read_text())
    data["trading_pairs"] = ["BTC-USD"]
    data["models_dir"] = str(prefix / "no-models")
    data["no_model_policy"] = "rules_only"  # no models folder: trade rules-only, say so
    data["paper_trading_rules"] = {"fetch_from_exchange": False}
    path = prefix / "conf" / "scripts" / CONF_NAME
    path.parent.mkdir(parents=True)
    with path.open("w") as fd:
        yaml.dump(data, fd)
    return path


def main(prefix: Path, mode: str) -> None:
    write_logging_conf(prefix, mode)
    script_conf = write_script_conf(prefix)
    set_prefix_path(str(prefix))
    client_config = ClientConfigAdapter(ClientConfigMap())

    def reload() -> None:
        init_logging("hummingbot_logs.yml", client_config, strategy_file_path=CONF_NAME)

    def probe(tag: str) -> None:
        logging.getLogger(PROBE_LOGGER).info("probe %s", tag)

    sys.modules["scripts"] = hummingbot_scripts
    importlib.import_module("scripts.ml_swing")  # 1. boot

    async def scenario() -> None:
        reload()  # 2. start
        probe("reload")
        core = TradingCore.__new__(TradingCore)
        core._config_data = None
        core._config_source = str(script_conf)
        strategy_class, config = core.load_v2_class("ml_swing")
        probe("init_markets")
        install_markets_recorder(prefix / "trades.sqlite")
        exchange = fixed_paper_exchange(MockOrderTracker(), pairs=("BTC-USD",))
        set_books(exchange, {"BTC-USD": 60_000.0})
        strategy = strategy_class({CONNECTOR: exchange}, config)
        strategy.market_data_provider.stop()  # no network: the Kraken feeds never start

        reload()  # 3. the headless quickstart
        probe("second_reload")

        clock = backtest_clock(1_700_000_000, 1_700_000_100)  # 4. the clock
        clock.add_iterator(strategy)
        with clock:
            await tick_through(clock, 1_700_000_001)  # the first tick starts the strategy
            probe("strategy_start")
            reload()
            await tick_through(clock, 1_700_000_003)  # later ticks call on_tick
            probe("on_tick" if strategy.ready_to_trade else "on_tick (never ticked)")
        strategy.close_runtime()

    asyncio.run(scenario())
    logging.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
