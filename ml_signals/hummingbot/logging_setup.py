"""Keep the ``ml_signals`` loggers alive through Hummingbot's logging reloads.

Hummingbot imports every script at boot (tab completion), which imports :mod:`ml_signals` and
creates its module loggers. It then (re)loads ``conf/hummingbot_logs.yml`` with
``logging.config.dictConfig`` (``hummingbot.init_logging``) at boot, when the console opens and
on every ``start``; the file sets no ``disable_existing_loggers``, so dictConfig's default
(``True``) disables every existing logger the file does not name: ``ml_signals.*`` then drops
every record, in the console and in ``logs/logs_<conf>.log``.

When those reloads happen, relative to the script (installed client, ``hummingbot==20260922``):

- console ``start --v2 conf.yml`` (``StartCommand.start_check``): reload, then
  ``TradingCore.load_v2_class`` -> the script's ``init_markets``, then ``start``;
- ``hbot start conf.yml [--foreground]`` (``hummingbot.cli.engine``): reload at boot, then
  ``init_markets``, then ``start``;
- quickstart with ``--headless`` (``bin/hummingbot_quickstart.py``): reload, ``init_markets``,
  then a second reload in ``run_application``, then the clock calls ``start``.

So the scripts call :func:`enable_ml_loggers` from ``init_markets`` and ``start``, and
:func:`keep_ml_loggers_enabled` (one attribute read) on every tick for any later reload. A
``conf/hummingbot_logs.yml`` that names ``ml_signals`` (``conf/hummingbot_logs.ml_signals.yml``)
keeps them enabled without this, and sets their level and handlers.
"""

from __future__ import annotations

import logging
from typing import Final

ML_LOGGER: Final[str] = "ml_signals"
"""Parent of every logger of this package (module loggers are ``ml_signals.<module>``)."""

_PARENT = logging.getLogger(ML_LOGGER)  # exists before any reload, so a reload disables it too
log = logging.getLogger(__name__)


def enable_ml_loggers() -> list[str]:
    """Re-enable ``ml_signals`` and every ``ml_signals.*`` logger a logging reload disabled.

    Levels, handlers and propagation stay as the logging config left them (records propagate
    to Hummingbot's root handlers: console and ``logs/logs_<conf>.log``).

    Returns:
        the names re-enabled, sorted (empty when none was disabled).
    """
    prefix = ML_LOGGER + "."
    names = sorted(name for name, logger in logging.root.manager.loggerDict.items()
                   if (name == ML_LOGGER or name.startswith(prefix))
                   and isinstance(logger, logging.Logger) and logger.disabled)
    for name in names:
        logging.getLogger(name).disabled = False
    if names:
        log.info("re-enabled %d ml_signals loggers that Hummingbot's logging config disabled "
                 "(add conf/hummingbot_logs.ml_signals.yml to conf/hummingbot_logs.yml to set "
                 "their level)", len(names))
    return names


def keep_ml_loggers_enabled() -> None:
    """:func:`enable_ml_loggers` when a reload disabled the ``ml_signals`` parent logger; a
    single attribute read otherwise (cheap enough for every tick)."""
    if _PARENT.disabled:
        enable_ml_loggers()
