"""Operate a running bot: status, performance, positions, pause, resume, guard reset.

Transport-neutral core (freqtrade's ``rpc/rpc.py`` vs ``rpc/telegram.py`` split):
:mod:`.commands` (what may be asked, by whom), :mod:`.compute` (answers from the runtime),
:mod:`.performance` (figures from the journal), :mod:`.answers` (the value objects) and
:mod:`.service` (the queue between a front end and the tick thread). Front end:
:mod:`.slack` (Socket Mode) with :mod:`.blocks` (Block Kit). A script turns it on with
``control: {enabled: true, operators: [U…]}`` (:class:`.settings.ControlSettings`) and
``SLACK_APP_TOKEN`` in the environment or env file; :func:`start_slack_control` wires it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ml_signals.control.answers import Answer
from ml_signals.control.commands import Command, CommandError, CommandKind
from ml_signals.control.performance import JournalPerformance
from ml_signals.control.service import ControlService
from ml_signals.control.settings import ControlSettings

if TYPE_CHECKING:
    from ml_signals.control.slack import SlackControl
    from ml_signals.hummingbot.strategy_runtime import StrategyRuntime

log = logging.getLogger(__name__)


def control_service(runtime: StrategyRuntime, settings: ControlSettings) -> ControlService:
    """A :class:`ControlService` journaling to the runtime's journal (if it has one), set as
    the runtime's inbox so each tick drains it; a pause in force at the last stop is restored
    (``settings.state_path``)."""
    from ml_signals.journal import Journal

    journals = (getattr(o, "journal", None) for o in runtime.observers)
    journal = next((j for j in journals if isinstance(j, Journal)), None)
    service = ControlService(settings.operators, journal,
                             JournalPerformance(journal.config) if journal is not None else None,
                             state_path=Path(settings.state_path))
    service.restore(runtime)
    runtime.inbox = service
    return service


def start_slack_control(runtime: StrategyRuntime, settings: ControlSettings,
                        environ: Mapping[str, str] | None = None) -> SlackControl | None:
    """Wire :func:`control_service` and start the Socket Mode front end (it connects on its
    own thread). Returns ``None`` (logged at ERROR, trading goes on) when the app token is
    missing or malformed."""
    from ml_signals.control.slack import SlackControl

    try:
        token = settings.app_token(environ)
    except ValueError as exc:
        log.error("Slack control not started: %s", exc)
        return None
    front = SlackControl(control_service(runtime, settings), token, settings.base_url(environ),
                         settings.ack_timeout_s, settings.ping_interval_s)
    front.start()
    if not settings.operators:
        log.warning("Slack control: no operators configured; /pause, /resume and /reset-guard "
                    "are refused for everyone")
    return front


__all__ = ["Answer", "Command", "CommandError", "CommandKind", "ControlService",
           "ControlSettings", "JournalPerformance", "control_service", "start_slack_control"]
