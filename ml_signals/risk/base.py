"""The contract every risk guard follows (shape of freqtrade's ``IProtection``).

A guard answers one question for one candidate: may it be entered now? ``check`` returns a
:class:`~ml_signals.risk.types.GuardResult` to block or ``None`` to allow. Guards hold only their
thresholds; all state comes in through :class:`~ml_signals.risk.types.PortfolioState` (and its
ledger), so one guard instance serves any number of backtest runs.

Hooks, and when they are called:

- ``check(state, candidate)``: for each candidate, by ``RiskManager.check``.
- ``blocking_now(state)``: for status displays; answers without a candidate, only for guards
  with ``blocks_globally = True`` (they stop every new entry, whatever it is).
- ``on_trade_closed(ledger, trade)``: after each close, by ``RiskManager.record_close``, once the
  ledger has the trade; returns a lock to set or ``None``. O(1).
- ``reset(ledger)``: operator reset of a latched stop, by ``RiskManager.reset``.

Logging: a per-candidate block logs at DEBUG (a backtest asks millions of times; callers log the
returned result at the level they need); setting or lifting a lock logs at WARNING / INFO.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import ClassVar

from ml_signals.risk.config import RiskConfig
from ml_signals.risk.ledger import TradeLedger
from ml_signals.risk.types import (
    Candidate,
    ClosedTrade,
    GuardLock,
    GuardResult,
    PortfolioState,
)
from ml_signals.timeutil import format_utc


class RiskGuard(ABC):
    """Base of every guard: one per module in ``ml_signals.risk``.

    Subclasses set :attr:`name`, :attr:`blocks_globally`, implement :meth:`enabled`,
    :meth:`check` and :meth:`short_desc`, and may override :meth:`blocking_now`,
    :meth:`on_trade_closed` and :meth:`reset`.

    Args:
        config: the risk limits; a guard reads only its own fields.

    Raises:
        ValueError: when built from a config that disables it (see :meth:`enabled`).
    """

    name: ClassVar[str]
    blocks_globally: ClassVar[bool] = False
    resettable: ClassVar[bool] = False
    """True for guards that latch a lock an operator may lift (:meth:`reset`); the others
    follow the market or the book and have nothing to reset."""

    def __init__(self, config: RiskConfig) -> None:
        if not self.enabled(config):
            raise ValueError(f"{self.name} is disabled by this RiskConfig")
        self.config = config
        self._logger = logging.getLogger(type(self).__module__)

    @classmethod
    @abstractmethod
    def enabled(cls, config: RiskConfig) -> bool:
        """True when ``config`` turns this guard on."""

    @abstractmethod
    def check(self, state: PortfolioState, candidate: Candidate) -> GuardResult | None:
        """Block ``candidate`` given ``state`` (a :class:`GuardResult`), or allow it (``None``)."""

    @abstractmethod
    def short_desc(self) -> str:
        """One line describing the rule with its thresholds, for status displays."""

    def blocking_now(self, state: PortfolioState) -> GuardResult | None:
        """The block this guard puts on every new entry now, or ``None``."""
        return None

    def on_trade_closed(self, ledger: TradeLedger, trade: ClosedTrade) -> GuardLock | None:
        """React to ``trade`` (already in ``ledger``): return a lock to set, or ``None``."""
        return None

    def reset(self, ledger: TradeLedger, now_s: int) -> GuardLock | None:
        """Lift this guard's lock in ``ledger`` (operator action at ``now_s``); returns the
        lock lifted (active or expired), ``None`` when there was none."""
        lock = ledger.clear_lock(self.name)
        if lock is not None:
            self._logger.info("%s reset at %d (was: %s)", self.name, now_s, lock.reason)
        return lock

    def _block(self, reason: str) -> GuardResult:
        self._logger.debug("%s blocks: %s", self.name, reason)
        return GuardResult(self.name, reason)

    def _lock_result(self, state: PortfolioState) -> GuardResult | None:
        """Block from this guard's active lock in the ledger, if any."""
        lock = state.ledger.active_lock(self.name, state.now_s)
        if lock is None:
            return None
        until = "until reset" if lock.until_s is None else f"until {format_utc(lock.until_s)}"
        return self._block(f"{lock.reason}; locked {until}")
