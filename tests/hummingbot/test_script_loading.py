"""The scripts load exactly as ``start --v2 conf_<script>.yml`` loads them.

The loader is Hummingbot's own ``TradingCore.load_v2_class`` (``hummingbot/core/trading_core.py``),
called on a ``TradingCore`` object built without its ``__init__`` (which would start the Gateway
monitor): it imports ``scripts.<name>``, picks the first ``StrategyV2Base`` subclass and the first
``BaseClientModel`` config class, builds the config from the YAML and runs ``init_markets``. In
the container the scripts live in the ``scripts`` package; here ``scripts`` is an alias of
``hummingbot_scripts`` for the duration of a test.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml
from hb_support import run
from hummingbot.client.config.client_config_map import ClientConfigMap
from hummingbot.client.config.config_data_types import BaseClientModel
from hummingbot.client.config.config_helpers import ClientConfigAdapter
from hummingbot.core.connector_manager import ConnectorManager
from hummingbot.core.trading_core import TradingCore
from hummingbot.strategy.strategy_v2_base import StrategyV2Base, StrategyV2ConfigBase

import hummingbot_scripts
from ml_signals.hummingbot import paper_trading

SCRIPTS = {
    "ml_dca_grid": ("MlDcaGrid", "MlDcaGridConfig"),
    "ml_swing": ("MlSwing", "MlSwingConfig"),
    "ml_channel": ("MlChannel", "MlChannelConfig"),
    "ml_portfolio": ("MlPortfolio", "MlPortfolioConfig"),
}


@pytest.fixture
def scripts_package(no_paper_factory) -> Iterator[None]:
    """``scripts`` -> ``hummingbot_scripts`` while the test runs (Hummingbot's module name)."""
    saved = {k: v for k, v in sys.modules.items() if k == "scripts" or k.startswith("scripts.")}
    for key in saved:
        del sys.modules[key]
    sys.modules["scripts"] = hummingbot_scripts
    yield
    for key in [k for k in sys.modules if k == "scripts" or k.startswith("scripts.")]:
        del sys.modules[key]
    sys.modules.update(saved)


def load_like_hummingbot(script: str, conf_path: Path) -> tuple[type, Any]:
    """``TradingCore.load_v2_class(script)`` with the config read from ``conf_path``."""
    core = TradingCore.__new__(TradingCore)  # the loader needs only the config source
    core._config_data = None
    core._config_source = str(conf_path)
    return core.load_v2_class(script)


def conf_file(repo_root: Path, script: str) -> Path:
    return repo_root / "conf" / "scripts" / f"conf_{script}.yml"


def bad_conf(tmp_path: Path, repo_root: Path, script: str, path: str, value: Any) -> Path:
    """A copy of the shipped YAML with the value at ``path`` (dotted) replaced."""
    data = yaml.safe_load(conf_file(repo_root, script).read_text())
    node = data
    keys = path.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    target = tmp_path / f"conf_{script}.yml"
    target.write_text(yaml.safe_dump(data))
    return target


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_module_defines_one_strategy_and_one_config(script):
    module = importlib.import_module(f"hummingbot_scripts.{script}")
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass)]
    strategies = [c for c in classes if issubclass(c, StrategyV2Base) and c is not StrategyV2Base]
    configs = [c for c in classes if issubclass(c, BaseClientModel)
               and c not in (BaseClientModel, StrategyV2ConfigBase)]
    assert [c.__name__ for c in strategies] == [SCRIPTS[script][0]]
    assert [c.__name__ for c in configs] == [SCRIPTS[script][1]]


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_hummingbot_loader_picks_our_classes_and_reads_the_yaml(script, repo_root,
                                                                scripts_package):
    path = conf_file(repo_root, script)
    data = yaml.safe_load(path.read_text())
    strategy_class, config = load_like_hummingbot(script, path)

    strategy_name, config_name = SCRIPTS[script]
    assert strategy_class.__name__ == strategy_name
    assert strategy_class.__module__ == f"scripts.{script}"
    assert type(config).__name__ == config_name
    assert issubclass(strategy_class, StrategyV2Base)
    # what start_command checks: script_file_name names this module's file
    assert data["script_file_name"] == f"{script}.py" == config.script_file_name
    assert (Path(hummingbot_scripts.__file__).parent / data["script_file_name"]).is_file()
    # the YAML, not the defaults, was used (the loader silently falls back to defaults)
    assert config.risk.max_exposure_quote == data["risk"]["max_exposure_quote"] != 500.0
    assert config == type(config)(**data)
    # init_markets declared the markets and prepared the paper connector
    assert strategy_class.markets == {"kraken_paper_trade": {"BTC-USD", "ETH-USD", "SOL-USD"}}
    from hummingbot.core import connector_manager
    assert connector_manager.create_paper_trade_market.__module__ == paper_trading.__name__


@pytest.mark.parametrize("script, path, value, message", [
    ("ml_dca_grid", "dca.amount_per_level_quote", -100, "greater than 0"),
    ("ml_swing", "swing.amount_quote", -200, "greater than 0"),
    ("ml_channel", "channel.amount_quote", 0, "greater than 0"),
    ("ml_dca_grid", "dca.take_profit_frac", 0, "greater than 0"),
    ("ml_swing", "swing.take_profit_frac", -0.1, "greater than 0"),
    ("ml_portfolio", "connector_name", "krakn_paper_trade",
     "unknown connector 'krakn_paper_trade'"),
    ("ml_swing", "connector_name", "nasdaq", "unknown connector 'nasdaq'"),
    ("ml_channel", "candles_connector", "kraken_paper_trade", "unknown candles connector"),
    ("ml_portfolio", "max_records", 1000, "max_records 1000 exceeds 720"),
    ("ml_dca_grid", "max_records", 200, "300-candle feature warm-up"),
    ("ml_portfolio", "confidence_thresholds.swing", 1.5, "must be in [0, 1]"),
    ("ml_portfolio", "allocation.total_capital_quote", 1000, "must equal capital_quote"),
    ("ml_dca_grid", "trading_pairs", ["BTCUSD"], "BASE-QUOTE"),
    ("ml_swing", "btc_pair", "BTC-USDT", "btc_pair BTC-USDT is not among the candle feeds"),
    ("ml_portfolio", "btc_pair", "ETH-USD", "btc_pair ETH-USD is not among the candle feeds"),
    ("ml_dca_grid", "alerts.env_file", "/nonexistent/slack.env",
     "alerts.env_file '/nonexistent/slack.env' does not exist"),
    ("ml_channel", "journal.env_file", "missing-supabase.env",
     "journal.env_file 'missing-supabase.env' does not exist"),
    ("ml_swing", "no_model_policy", "rules-only", "'skip' or 'rules_only'"),
])
def test_bad_yaml_is_refused_with_a_clear_message(script, path, value, message, tmp_path,
                                                   repo_root, scripts_package):
    target = bad_conf(tmp_path, repo_root, script, path, value)
    with pytest.raises(pydantic.ValidationError) as excinfo:
        load_like_hummingbot(script, target)
    text = str(excinfo.value)
    assert message in text
    assert path.split(".")[0] in text or "Value error" in text  # names the field or the rule


def test_loaded_strategy_starts_on_the_connector_hummingbot_creates(repo_root, markets_recorder,
                                                                   scripts_package):
    """After ``init_markets``, Hummingbot's ConnectorManager builds a paper connector the
    executors can use, and the script's ``__init__`` builds its runtime on it."""
    from hb_support import install_markets_recorder

    strategy_class, config = load_like_hummingbot("ml_portfolio",
                                                  conf_file(repo_root, "ml_portfolio"))

    async def scenario():
        install_markets_recorder(markets_recorder)
        manager = ConnectorManager(ClientConfigAdapter(ClientConfigMap()))
        pairs = sorted(strategy_class.markets["kraken_paper_trade"])
        connector = manager.create_connector("kraken_paper_trade", pairs)
        strategy = strategy_class({"kraken_paper_trade": connector}, config)
        strategy.market_data_provider.stop()  # no network here: stop the Kraken candle feeds
        return connector, strategy

    connector, strategy = run(scenario)
    assert isinstance(connector, paper_trading.ExecutorPaperTradeExchange)
    assert sorted(connector.trading_rules) == ["BTC-USD", "ETH-USD", "SOL-USD"]
    runtime = strategy.runtime
    assert runtime.controller_ids == ("dca", "swing", "channel")
    assert runtime._halt is None  # the connector supports executors
    assert [c.trading_pair for c in runtime.candles_configs()] == ["BTC-USD", "ETH-USD", "SOL-USD"]
    shipped = yaml.safe_load(conf_file(repo_root, "ml_portfolio").read_text())["max_records"]
    assert {c.max_records for c in runtime.candles_configs()} == {shipped}
    assert runtime.planner.orchestrator is not None


@pytest.mark.parametrize("content, rule", [
    ("", "the script config is empty"),
    ("# only a comment\n", "the script config is empty"),
    ("- BTC-USD\n- ETH-USD\n", "must be a mapping of settings, got a list"),
    ("just text\n", "must be a mapping of settings, got a str"),
    ("trading_pairs: [BTC-USD\n", "not valid YAML"),
    (None, "cannot read the script config"),
])
def test_empty_or_non_mapping_yaml_is_one_error_naming_the_file(content, rule, tmp_path,
                                                                 scripts_package):
    from ml_signals.hummingbot.config_file import ConfigFileError

    path = tmp_path / "conf_ml_swing.yml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigFileError) as excinfo:
        load_like_hummingbot("ml_swing", path)
    assert str(excinfo.value).startswith(f"{path}: ")
    assert rule in str(excinfo.value)
