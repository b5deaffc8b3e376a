"""Operator commands and their answers (table ``control_commands``).

One row per command received by the control layer (:mod:`ml_signals.control`), keyed by the
command id the transport gives (Slack: the Socket Mode envelope id). The row is written when the
command is accepted (``outcome = "pending"``) and written again, same id, with the answer, so a
command accepted just before a crash is still on record.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

OUTCOMES: Final[tuple[str, ...]] = ("pending", "ok", "refused", "rejected", "error")
"""``pending`` (queued for the tick thread), ``ok`` (done), ``refused`` (the user may not run
it), ``rejected`` (bad arguments), ``error`` (it failed; logged)."""

ANSWER_MAX_CHARS: Final[int] = 4000
"""Answers are stored cut to this length (Slack's own limit for a message's text)."""


@dataclass(frozen=True, slots=True)
class ControlRecord:
    """A command and its answer.

    Attributes:
        command_id: the transport's id of the command (Slack envelope id).
        transport: ``"slack"``.
        command: command name as typed, e.g. ``"/pause"``.
        args: its argument text (``""`` when none).
        user_id: the transport's user id (Slack ``U…``); user_name: display name.
        authorised: the user may run this command.
        outcome: one of :data:`OUTCOMES`.
        answer: plain-text answer (cut to :data:`ANSWER_MAX_CHARS`); ``""`` while pending.
        requested_s: when the command was accepted (s, UTC).
        answered_s: when it was answered; ``None`` while pending.

    Raises:
        ValueError: empty id or command, unknown outcome, non-finite times, an answer time
            before the request or missing once answered.
    """

    TABLE: ClassVar[str] = "control_commands"
    CONFLICT: ClassVar[tuple[str, ...]] = ("command_id",)

    command_id: str
    transport: str
    command: str
    args: str
    user_id: str
    user_name: str
    authorised: bool
    outcome: str
    answer: str
    requested_s: float
    answered_s: float | None = None

    def __post_init__(self) -> None:
        ident = self.command_id
        if not ident or not self.command:
            raise ValueError(f"control_commands {ident!r}: command_id and command are required")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"control_commands {ident}: outcome must be one of {OUTCOMES}, "
                             f"got {self.outcome!r}")
        times = [self.requested_s] + ([self.answered_s] if self.answered_s is not None else [])
        if not all(math.isfinite(t) for t in times):
            raise ValueError(f"control_commands {ident}: times must be finite")
        if (self.outcome == "pending") != (self.answered_s is None):
            raise ValueError(f"control_commands {ident}: answered_s is set exactly when the "
                             "outcome is not pending")
        if self.answered_s is not None and self.answered_s < self.requested_s:
            raise ValueError(f"control_commands {ident}: answered_s before requested_s")

    @property
    def natural_id(self) -> str:
        """Primary key value."""
        return self.command_id

    def to_row(self) -> dict[str, Any]:
        """Column dict (the answer cut to :data:`ANSWER_MAX_CHARS`)."""
        return {"command_id": self.command_id, "transport": self.transport,
                "command": self.command, "args": self.args, "user_id": self.user_id,
                "user_name": self.user_name, "authorised": bool(self.authorised),
                "outcome": self.outcome, "answer": self.answer[:ANSWER_MAX_CHARS],
                "requested_s": float(self.requested_s),
                "answered_s": None if self.answered_s is None else float(self.answered_s)}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ControlRecord:
        """Inverse of :meth:`to_row` (accepts extra columns)."""
        answered = row.get("answered_s")
        return cls(command_id=str(row["command_id"]), transport=str(row["transport"]),
                   command=str(row["command"]), args=str(row["args"]),
                   user_id=str(row["user_id"]), user_name=str(row["user_name"]),
                   authorised=bool(row["authorised"]), outcome=str(row["outcome"]),
                   answer=str(row["answer"]), requested_s=float(row["requested_s"]),
                   answered_s=None if answered is None else float(answered))
