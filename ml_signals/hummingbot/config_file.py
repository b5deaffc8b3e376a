"""Read a script's YAML config so that a bad file is one clear error naming it.

Hummingbot's loader (``TradingCore._load_v2_yaml_config``, called by ``load_v2_class``) returns
``yaml.safe_load(file)`` as is and, when the file cannot be read, logs a warning and returns
``{}``. So an empty file (``None``) or a list fails later as ``TypeError: argument after **
must be a mapping``, and a mistyped file name starts the bot on the config defaults.

:func:`read_script_yaml` refuses all three with a :class:`ConfigFileError` naming the file.
:func:`install_strict_yaml_loader` puts it in place of Hummingbot's method, resolving the path
as Hummingbot does (a bare name lives in ``conf/scripts``). Hummingbot imports the script
module before it reads the YAML, so :mod:`.script_base` installs it when imported: Hummingbot's
files stay untouched, and the change only turns Hummingbot's silent fallbacks into errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_INSTALLED_FLAG = "_ml_signals_strict_yaml"


class ConfigFileError(ValueError):
    """A script config file is missing, unreadable, not YAML, empty or not a mapping."""


def read_script_yaml(path: Path) -> dict[str, Any]:
    """The mapping in the YAML file ``path``.

    Raises:
        ConfigFileError: the file is missing or unreadable, is not valid YAML, is empty, or
            holds something other than a mapping (the message names the file and the rule).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read the script config: "
                              f"{exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigFileError(f"{path}: not valid YAML{where}: "
                              f"{getattr(exc, 'problem', None) or exc}") from exc
    if data is None:
        raise ConfigFileError(f"{path}: the script config is empty; it must be a mapping of "
                              "settings (script_file_name: ..., trading_pairs: ...)")
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: the script config must be a mapping of settings, "
                              f"got a {type(data).__name__}")
    return data


def hummingbot_config_path(config_file_path: str) -> Path:
    """Where Hummingbot looks for ``config_file_path``: as given when it holds a folder
    separator, else in Hummingbot's ``conf/scripts`` folder (``SCRIPT_STRATEGY_CONF_DIR_PATH``)."""
    if "/" in config_file_path or "\\" in config_file_path:
        return Path(config_file_path)
    from hummingbot.client.settings import SCRIPT_STRATEGY_CONF_DIR_PATH

    return Path(SCRIPT_STRATEGY_CONF_DIR_PATH) / config_file_path


def _strict_load_v2_yaml_config(self: object, config_file_path: str) -> dict[str, Any]:
    """Replacement of ``TradingCore._load_v2_yaml_config`` (module docstring)."""
    return read_script_yaml(hummingbot_config_path(config_file_path))


def install_strict_yaml_loader() -> None:
    """Make Hummingbot's V2 config loading use :func:`read_script_yaml` (idempotent)."""
    from hummingbot.core.trading_core import TradingCore

    if getattr(TradingCore._load_v2_yaml_config, _INSTALLED_FLAG, False):
        return
    setattr(_strict_load_v2_yaml_config, _INSTALLED_FLAG, True)
    TradingCore._load_v2_yaml_config = _strict_load_v2_yaml_config
