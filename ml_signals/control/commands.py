"""Operator commands: what can be asked, who may ask it, and how a request is parsed.

The commands come from the original plan ("Slack Commands": ``/ml-status``, ``/performance``,
``/positions``, ``/pause``, ``/resume``) plus ``/reset-guard NAME``, which lifts a latched risk
stop (kill switch, losing streak) without a restart. The names are transport-neutral here; the
Slack front end (:mod:`ml_signals.control.slack`) maps its slash commands onto them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class CommandKind(StrEnum):
    """What a command does; the value is the Slack slash command without its ``/``."""

    STATUS = "ml-status"
    PERFORMANCE = "performance"
    POSITIONS = "positions"
    PAUSE = "pause"
    RESUME = "resume"
    RESET_GUARD = "reset-guard"
    RELOAD_MODELS = "reload-models"

    @property
    def mutating(self) -> bool:
        """True when the command changes what the bot does (operators only)."""
        return self in MUTATING


MUTATING: Final[frozenset[CommandKind]] = frozenset(
    {CommandKind.PAUSE, CommandKind.RESUME, CommandKind.RESET_GUARD, CommandKind.RELOAD_MODELS})
"""Commands only a configured operator may run; the others only read."""

_GUARD_NAME = re.compile(r"^[a-z_]{1,40}$")
_MAX_ARGS_CHARS = 200


class CommandError(ValueError):
    """A request that cannot become a :class:`Command` (unknown name, bad arguments); the
    message is one line an operator can act on."""


@dataclass(frozen=True, slots=True)
class Command:
    """One operator request, as accepted from a transport.

    Attributes:
        command_id: the transport's unique id (Slack: the Socket Mode envelope id); the
            journal's natural id, so a redelivered request is one row.
        kind: what to do.
        args: argument text, stripped (``/reset-guard kill_switch`` -> ``"kill_switch"``).
        user_id: the transport's user id (Slack ``U…``), checked against the operators.
        user_name: display name for logs and the journal.
        transport: ``"slack"``.
        typed: the command as the user typed it (``"/pause"``), for the journal.
        requested_s: when it was accepted (s, UTC).
    """

    command_id: str
    kind: CommandKind
    args: str
    user_id: str
    user_name: str
    transport: str
    typed: str
    requested_s: float

    @property
    def guard_name(self) -> str | None:
        """The guard ``/reset-guard`` names, ``None`` when none was given.

        Raises:
            CommandError: the argument is not a guard name (lowercase letters and ``_``).
        """
        if not self.args:
            return None
        if not _GUARD_NAME.match(self.args):
            raise CommandError(f"{self.typed} {self.args!r}: a guard name is lowercase letters "
                               "and underscores, e.g. kill_switch")
        return self.args


def parse_command(command_id: str, typed: str, args: str, user_id: str, user_name: str,
                  transport: str, requested_s: float) -> Command:
    """A :class:`Command` from a transport's request.

    Args:
        command_id: unique id of the request.
        typed: the command name, with or without a leading ``/`` (``"/ml-status"``).
        args: the text after it.
        user_id, user_name: who asked.
        transport: e.g. ``"slack"``.
        requested_s: acceptance time (s, UTC).

    Raises:
        CommandError: unknown command, arguments where none are taken, or arguments longer
            than 200 characters.
    """
    name = typed.strip().lstrip("/").lower()
    try:
        kind = CommandKind(name)
    except ValueError:
        known = ", ".join(f"/{k.value}" for k in CommandKind)
        raise CommandError(f"unknown command {typed!r}; known: {known}") from None
    text = " ".join(args.split())
    if len(text) > _MAX_ARGS_CHARS:
        raise CommandError(f"{typed}: arguments longer than {_MAX_ARGS_CHARS} characters")
    if text and kind not in (CommandKind.RESET_GUARD, CommandKind.PAUSE):
        raise CommandError(f"{typed} takes no arguments, got {text!r}")
    return Command(command_id=command_id, kind=kind, args=text, user_id=user_id,
                   user_name=user_name, transport=transport, typed=f"/{kind.value}",
                   requested_s=requested_s)
