"""Load a V2 script and its config the way Hummingbot's ``start --v2`` does.

``TradingCore.load_v2_class`` (hummingbot/core/trading_core.py) imports ``scripts.<name>``, takes
the first ``StrategyV2Base`` subclass and the first ``BaseClientModel`` subclass other than
``BaseClientModel`` / ``StrategyV2ConfigBase`` in ``inspect.getmembers`` order (alphabetical),
builds ``config_class(**yaml)`` and calls ``strategy_class.init_markets(config)``. That method
is bound to a ``TradingCore`` (client config, connector manager, the fixed ``scripts`` package),
so :func:`load_script` repeats the same selection on any package, here ``hummingbot_scripts``;
the replay then calls ``init_markets`` itself after applying its overrides.
"""

from __future__ import annotations

import copy
import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from hummingbot.client.config.config_data_types import BaseClientModel
from hummingbot.strategy.strategy_v2_base import StrategyV2Base, StrategyV2ConfigBase

SCRIPTS_PACKAGE = "hummingbot_scripts"
"""Package the repository's scripts live in (mounted as Hummingbot's ``scripts/`` in Docker)."""


class ScriptLoadError(ValueError):
    """A script module or its config cannot be loaded; the message names the file."""


@dataclass(frozen=True)
class LoadedScript:
    """A script module, its strategy and config classes, and the config built for the replay.

    Attributes:
        name: module name, e.g. ``"ml_swing"``.
        module: the imported module.
        strategy_class: first ``StrategyV2Base`` subclass (Hummingbot's rule).
        config_class: first ``BaseClientModel`` subclass (Hummingbot's rule).
        config: the validated config.
        config_path: YAML it was read from (``None``: class defaults).
    """

    name: str
    module: ModuleType
    strategy_class: type[StrategyV2Base]
    config_class: type[BaseClientModel]
    config: BaseClientModel
    config_path: Path | None


def _first(module: ModuleType, wanted: type, excluded: tuple[type, ...]) -> type | None:
    return next((member for _, member in inspect.getmembers(module)
                 if inspect.isclass(member) and issubclass(member, wanted)
                 and member not in excluded), None)


def strategy_and_config_classes(module: ModuleType) -> tuple[type[StrategyV2Base],
                                                               type[BaseClientModel]]:
    """Hummingbot's choice of strategy and config class in ``module``.

    Raises:
        ScriptLoadError: the module has no ``StrategyV2Base`` or no config subclass.
    """
    strategy = _first(module, StrategyV2Base, (StrategyV2Base,))
    if strategy is None:
        raise ScriptLoadError(f"{module.__file__}: no subclass of StrategyV2Base")
    config = _first(module, BaseClientModel, (BaseClientModel, StrategyV2ConfigBase))
    if config is None:
        raise ScriptLoadError(f"{module.__file__}: no config class (BaseClientModel subclass)")
    return strategy, config


def read_yaml(path: Path) -> dict[str, Any]:
    """The YAML mapping in ``path`` (empty file -> ``{}``).

    Raises:
        ScriptLoadError: missing file, bad YAML, or not a mapping.
    """
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ScriptLoadError(f"{path}: cannot read config: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ScriptLoadError(f"{path}: config must be a mapping, got {type(data).__name__}")
    return data


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``overrides`` into a copy of ``base`` (nested mappings merge, others replace).

    Keys may be dotted (``"risk.daily_loss_stop_frac"``) to reach into nested mappings.
    """
    result = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        head, _, rest = key.partition(".")
        if rest:
            value = {rest: value}
        current = result.get(head)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            result[head] = merge(current, value)
        else:
            result[head] = copy.deepcopy(value)
    return result


def script_classes(name: str, package: str = SCRIPTS_PACKAGE) -> tuple[type[StrategyV2Base],
                                                                       type[BaseClientModel]]:
    """Import ``<package>.<name>`` and return Hummingbot's choice of its two classes.

    Raises:
        ScriptLoadError: import failure or missing classes.
    """
    try:
        module = importlib.import_module(f"{package}.{name}")
    except ImportError as exc:
        raise ScriptLoadError(f"cannot import script {package}.{name}: {exc}") from exc
    return strategy_and_config_classes(module)


def load_script(name: str, config_path: Path | None,
                overrides: Mapping[str, Any] | None = None,
                package: str = SCRIPTS_PACKAGE) -> LoadedScript:
    """Import ``<package>.<name>`` and build its config from ``config_path`` + ``overrides``.

    Args:
        name: script module name (``"ml_swing"``).
        config_path: YAML config; ``None`` uses the config class defaults.
        overrides: values replacing the YAML's (dotted keys reach nested fields).
        package: scripts package.

    Raises:
        ScriptLoadError: import failure, missing classes, unreadable YAML, or a config that
            does not validate (the pydantic message names the field).
    """
    strategy_class, config_class = script_classes(name, package)
    module = importlib.import_module(f"{package}.{name}")
    data = read_yaml(config_path) if config_path is not None else {}
    data = merge(data, overrides or {})
    try:
        config = config_class(**data)
    except ValueError as exc:
        where = config_path or f"{name} defaults"
        raise ScriptLoadError(f"{where}: invalid config for {config_class.__name__}: {exc}") \
            from exc
    return LoadedScript(name, module, strategy_class, config_class, config, config_path)
