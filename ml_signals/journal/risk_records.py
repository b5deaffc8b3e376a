"""Journal records of the risk state: per-day totals and guard locks.

``daily_performance`` (the plan's "Database Schema", keyed by ``(date, strategy)``) feeds the
daily reports; ``guard_locks`` lets a restarted bot get its kill switch and loss-streak stop back.
Conventions as in :mod:`ml_signals.journal.records` (natural ids, units in column names,
seconds UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date as Date
from typing import Any, ClassVar

from ml_signals.journal.record_checks import check_finite, check_non_negative, opt_float

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DailyPerformanceRecord:
    """Per-day, per-strategy totals (table ``daily_performance``).

    The plan's ``date PRIMARY KEY`` allowed one strategy per day; the key here is
    ``(date, strategy)`` (use ``strategy="all"`` for the portfolio).

    Attributes:
        date: local trading date (America/Los_Angeles, the evening report's date).
        strategy: detector name or ``"all"``.
        setups_detected, setups_taken, trades_count, wins, losses: counts.
        net_pnl_quote: net P&L of trades closed that day.
        ml_precision: wins over closed model-approved trades, [0, 1]; ``None`` if none.
        updated_s: when the totals were computed.
    """

    TABLE: ClassVar[str] = "daily_performance"
    CONFLICT: ClassVar[tuple[str, ...]] = ("date", "strategy")

    date: Date
    strategy: str
    setups_detected: int
    setups_taken: int
    trades_count: int
    wins: int
    losses: int
    net_pnl_quote: float
    ml_precision: float | None
    updated_s: float

    def __post_init__(self) -> None:
        ident = self.natural_id
        check_non_negative(self.TABLE, ident, setups_detected=self.setups_detected,
                      setups_taken=self.setups_taken, trades_count=self.trades_count,
                      wins=self.wins, losses=self.losses)
        if self.wins + self.losses > self.trades_count:
            raise ValueError(f"daily_performance {ident}: wins + losses > trades_count")
        check_finite(self.TABLE, ident, net_pnl_quote=self.net_pnl_quote)
        if self.ml_precision is not None and not (0.0 <= self.ml_precision <= 1.0):
            raise ValueError(f"daily_performance {ident}: ml_precision must be in [0, 1]")

    @property
    def natural_id(self) -> str:
        """``"YYYY-MM-DD:strategy"``."""
        return f"{self.date.isoformat()}:{self.strategy}"

    def to_row(self) -> Row:
        """Column dict (``date`` as ISO text)."""
        return {"date": self.date.isoformat(), "strategy": self.strategy,
                "setups_detected": int(self.setups_detected),
                "setups_taken": int(self.setups_taken), "trades_count": int(self.trades_count),
                "wins": int(self.wins), "losses": int(self.losses),
                "net_pnl_quote": float(self.net_pnl_quote),
                "ml_precision": opt_float(self.ml_precision), "updated_s": float(self.updated_s)}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DailyPerformanceRecord:
        """Inverse of :meth:`to_row`."""
        return cls(date=Date.fromisoformat(str(row["date"])), strategy=str(row["strategy"]),
                   setups_detected=int(row["setups_detected"]),
                   setups_taken=int(row["setups_taken"]), trades_count=int(row["trades_count"]),
                   wins=int(row["wins"]), losses=int(row["losses"]),
                   net_pnl_quote=float(row["net_pnl_quote"]),
                   ml_precision=opt_float(row.get("ml_precision")),
                   updated_s=float(row["updated_s"]))


@dataclass(frozen=True, slots=True)
class GuardLockRecord:
    """A risk guard lock set by a closed trade (table ``guard_locks``), so a restarted bot gets
    its kill switch and loss-streak stop back (:mod:`ml_signals.hummingbot.risk_state`).

    Attributes:
        lock_id: ``"<scope>:<guard>:<locked_at_s>"``.
        scope: the strategies of the bot that set it, comma-separated (``"dca"``,
            ``"dca,swing,channel"``); a bot restores only its own scope's locks.
        guard: guard name (``"kill_switch"``, ``"consecutive_losses"``).
        reason: the guard's sentence with the figures.
        locked_at_s: close time (s, UTC) of the trade that set it.
        until_s: first second the lock no longer applies; ``None`` until an operator reset.
        trade_id: executor id of the trade whose close set it (``trades.trade_id``); ``None``
            when unknown.
        recorded_s: when it was journaled.
    """

    TABLE: ClassVar[str] = "guard_locks"
    CONFLICT: ClassVar[tuple[str, ...]] = ("lock_id",)

    lock_id: str
    scope: str
    guard: str
    reason: str
    locked_at_s: int
    until_s: int | None
    trade_id: str | None
    recorded_s: float

    def __post_init__(self) -> None:
        expected = f"{self.scope}:{self.guard}:{self.locked_at_s}"
        if self.lock_id != expected:
            raise ValueError(f"guard_locks {self.lock_id!r}: lock_id must be {expected!r}")
        if not self.guard:
            raise ValueError(f"guard_locks {self.lock_id}: guard must not be empty")
        if self.until_s is not None and self.until_s <= self.locked_at_s:
            raise ValueError(f"guard_locks {self.lock_id}: until_s must be after locked_at_s")

    @property
    def natural_id(self) -> str:
        """Primary key value."""
        return self.lock_id

    @classmethod
    def from_lock(cls, lock: Any, trade_id: str | None, scope: str,
                  recorded_s: float) -> GuardLockRecord:
        """Record of a :class:`ml_signals.risk.GuardLock` (``guard``, ``reason``,
        ``locked_at_s``, ``until_s``)."""
        return cls(lock_id=f"{scope}:{lock.guard}:{int(lock.locked_at_s)}", scope=scope,
                   guard=lock.guard, reason=lock.reason, locked_at_s=int(lock.locked_at_s),
                   until_s=None if lock.until_s is None else int(lock.until_s),
                   trade_id=trade_id, recorded_s=float(recorded_s))

    def to_row(self) -> Row:
        """Column dict."""
        return {"lock_id": self.lock_id, "scope": self.scope, "guard": self.guard,
                "reason": self.reason, "locked_at_s": int(self.locked_at_s),
                "until_s": None if self.until_s is None else int(self.until_s),
                "trade_id": self.trade_id, "recorded_s": float(self.recorded_s)}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> GuardLockRecord:
        """Inverse of :meth:`to_row` (accepts extra columns)."""
        until = row.get("until_s")
        return cls(lock_id=str(row["lock_id"]), scope=str(row["scope"]), guard=str(row["guard"]),
                   reason=str(row["reason"]), locked_at_s=int(row["locked_at_s"]),
                   until_s=None if until is None else int(until), trade_id=row.get("trade_id"),
                   recorded_s=float(row["recorded_s"]))
