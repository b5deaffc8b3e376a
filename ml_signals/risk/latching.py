"""The shape shared by the guards that latch a stop on a closed trade.

:class:`~ml_signals.risk.consecutive_losses.ConsecutiveLossesGuard` and
:class:`~ml_signals.risk.kill_switch.KillSwitchGuard` both count something in the ledger as
trades close, set a :class:`~ml_signals.risk.types.GuardLock` when the count crosses their
limit, block every new entry while the lock holds, and, on an operator reset, lift the lock and
restart their count. This base holds that shape (freqtrade's ``IProtection`` with
``has_global_stop``: the lock is global, the per-candidate check only reads it); a subclass
says only when it trips (:meth:`LatchingGuard._trip`) and which count a reset restarts
(:meth:`LatchingGuard._restart_count`).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

from ml_signals.risk.base import RiskGuard
from ml_signals.risk.ledger import TradeLedger
from ml_signals.risk.types import Candidate, ClosedTrade, GuardLock, GuardResult, PortfolioState


@dataclass(frozen=True, slots=True)
class Trip:
    """What a latching guard reports when a close crosses its limit.

    Attributes:
        reason: the sentence with the numbers that tripped it (becomes the lock's reason).
        until_s: first second at which the lock no longer applies; ``None`` = until reset.
    """

    reason: str
    until_s: int | None


class LatchingGuard(RiskGuard):
    """Base of the guards that set a global lock when a closed trade crosses their limit.

    Subclasses set :attr:`name`, implement :meth:`enabled`, :meth:`short_desc`,
    :meth:`_trip` and :meth:`_restart_count`; :meth:`check` and :meth:`blocking_now` answer
    from the lock, the same for every candidate.
    """

    blocks_globally: ClassVar[bool] = True
    resettable: ClassVar[bool] = True

    def on_trade_closed(self, ledger: TradeLedger, trade: ClosedTrade) -> GuardLock | None:
        """The lock to set when ``trade`` (already in ``ledger``) trips this guard, logged at
        WARNING; ``None`` otherwise. O(1).

        Raises:
            ValueError: from :meth:`_trip` (a ledger built for other settings).
        """
        trip = self._trip(ledger, trade)
        if trip is None:
            return None
        lock = GuardLock(guard=self.name, reason=trip.reason, locked_at_s=trade.closed_at_s,
                         until_s=trip.until_s)
        self._logger.warning("%s tripped: %s", self.name, lock.reason)
        return lock

    def blocking_now(self, state: PortfolioState) -> GuardResult | None:
        """Block while this guard's lock holds."""
        return self._lock_result(state)

    def check(self, state: PortfolioState, candidate: Candidate) -> GuardResult | None:
        """Same answer for every candidate: blocked while the lock holds."""
        return self._lock_result(state)

    def reset(self, ledger: TradeLedger, now_s: int) -> GuardLock | None:
        """Restart this guard's count, then lift its lock; returns the lock lifted (active or
        expired), ``None`` when there was none."""
        self._restart_count(ledger)
        return super().reset(ledger, now_s)

    @abc.abstractmethod
    def _trip(self, ledger: TradeLedger, trade: ClosedTrade) -> Trip | None:
        """Whether the close of ``trade`` (already in ``ledger``) crosses the limit; may restart
        the count it read (the losing streak does)."""

    @abc.abstractmethod
    def _restart_count(self, ledger: TradeLedger) -> None:
        """Restart the ledger count this guard trips on (operator reset)."""
