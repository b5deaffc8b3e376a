"""``ml_signals`` records reach Hummingbot's handlers after the client's logging reloads.

Each scenario runs ``logging_probe.py`` in a child process (Hummingbot's ``init_logging``
reconfigures logging for the whole interpreter): the script imported at boot, Hummingbot's own
``init_logging`` on ``conf/hummingbot_logs.yml`` as the client writes it, Hummingbot's
``TradingCore.load_v2_class`` (``init_markets``), the strategy object, a second reload (the
headless quickstart), Hummingbot's clock (``start``, ``on_tick``). The records are read back
from the file handler's ``logs/logs_conf_ml_swing.log`` and the console handler's stdout.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from ml_signals.hummingbot import logging_setup

PROBE = Path(__file__).with_name("logging_probe.py")
ALL_PROBES = ("reload", "init_markets", "second_reload", "strategy_start", "on_tick")


@pytest.fixture(scope="module")
def probe_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """``{mode: (file log, console output)}`` of both probe runs (started together)."""
    root = tmp_path_factory.mktemp("logging_probe")
    procs = {mode: subprocess.Popen(  # noqa: S603 - this interpreter, a file of this repository
        [sys.executable, str(PROBE), str(root / mode), mode], cwd=root,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for mode in ("code", "snippet")}
    runs = {}
    for mode, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        runs[mode] = ((root / mode / "logs" / "logs_conf_ml_swing.log").read_text(), out)
    return runs


def _probes(text: str) -> list[str]:
    return [tag for tag in ALL_PROBES if f"script_base - INFO - probe {tag}\n" in text]


def test_scripts_re_enable_their_loggers_after_each_reload(probe_runs: dict) -> None:
    """With Hummingbot's template config the reload silences ``ml_signals`` (the records
    logged right after a reload are lost); ``init_markets``, ``start`` and ``on_tick`` bring
    the loggers back, so the strategy's own records reach the file and the console."""
    file_log, console = probe_runs["code"]
    assert _probes(file_log) == ["init_markets", "strategy_start", "on_tick"]
    # the strategy's start announces its model mode (here rules-only: no models folder)
    assert "ml_signals.hummingbot.strategy_runtime - WARNING - swing: rules-only: no " \
        "published model" in file_log
    assert "re-enabled" in file_log
    assert "script_base - probe on_tick" in console  # Hummingbot's CLIHandler format


def test_merged_snippet_keeps_the_loggers_enabled(probe_runs: dict) -> None:
    """``conf/hummingbot_logs.ml_signals.yml`` merged into the client's config: every record
    reaches the handlers, before and after each reload, and nothing needs re-enabling."""
    file_log, console = probe_runs["snippet"]
    assert _probes(file_log) == list(ALL_PROBES)
    assert "re-enabled" not in file_log
    assert "script_base - probe reload" in console


@pytest.fixture
def probe_logger() -> logging.Logger:
    logger = logging.getLogger("ml_signals.tests_logging_probe")
    parent = logging.getLogger(logging_setup.ML_LOGGER)
    saved = (logger.disabled, parent.disabled)
    yield logger
    logger.disabled, parent.disabled = saved


def test_enable_ml_loggers_only_touches_disabled_ml_loggers(probe_logger: logging.Logger) -> None:
    other = logging.getLogger("tests_not_ml_signals")
    other.disabled = True
    probe_logger.disabled = True
    try:
        names = logging_setup.enable_ml_loggers()
        assert probe_logger.name in names and other.name not in names
        assert not probe_logger.disabled and other.disabled
        assert probe_logger.name not in logging_setup.enable_ml_loggers()  # nothing left
    finally:
        other.disabled = False


def test_keep_enabled_checks_the_parent(probe_logger: logging.Logger) -> None:
    parent = logging.getLogger(logging_setup.ML_LOGGER)
    probe_logger.disabled = True
    parent.disabled = False
    logging_setup.keep_ml_loggers_enabled()
    assert probe_logger.disabled  # a reload disables the parent too: no reload, no work
    parent.disabled = True
    logging_setup.keep_ml_loggers_enabled()
    assert not probe_logger.disabled and not parent.disabled
