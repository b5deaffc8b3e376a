"""Runs the risk guards in a fixed order (original plan ``TRADING_RULES`` / ``RISK_MANAGEMENT``).

Order, first block wins (``GUARD_ORDER``):

1. ``kill_switch`` - latched hit-rate stop (most serious, needs an operator);
2. ``consecutive_losses`` - losing-streak stop;
3. ``daily_loss`` - today's loss limit;
4. ``crash_pause`` - BTC regime CRASH;
5. ``max_open_positions`` - free slot;
6. ``one_position_per_pair`` - pair already held;
7. ``max_exposure`` - committed quote limit.

Emergency stops come first so the reason shown is the one an operator must act on; then the
market condition; then capacity, portfolio-wide before per-pair before per-amount.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from ml_signals.risk.base import RiskGuard
from ml_signals.risk.config import RiskConfig
from ml_signals.risk.consecutive_losses import ConsecutiveLossesGuard
from ml_signals.risk.crash_pause import CrashPauseGuard
from ml_signals.risk.daily_loss import DailyLossGuard
from ml_signals.risk.kill_switch import KillSwitchGuard
from ml_signals.risk.ledger import TradeLedger
from ml_signals.risk.max_exposure import MaxExposureGuard
from ml_signals.risk.max_open_positions import MaxOpenPositionsGuard
from ml_signals.risk.one_position_per_pair import OnePositionPerPairGuard
from ml_signals.risk.types import (
    Candidate,
    ClosedTrade,
    GuardLock,
    GuardResult,
    OpenPosition,
    PortfolioState,
    SkippedCandidate,
)

logger = logging.getLogger(__name__)

GUARD_ORDER: Final[tuple[type[RiskGuard], ...]] = (
    KillSwitchGuard,
    ConsecutiveLossesGuard,
    DailyLossGuard,
    CrashPauseGuard,
    MaxOpenPositionsGuard,
    OnePositionPerPairGuard,
    MaxExposureGuard,
)


@dataclass(frozen=True, slots=True)
class RoundCheck:
    """Outcome of checking one decision round's candidates in sequence.

    Attributes:
        accepted: candidates to enter, in the order given.
        blocked: the others with the first guard that blocked each.
        state: the input state plus a provisional position per accepted candidate.
    """

    accepted: tuple[Candidate, ...]
    blocked: tuple[SkippedCandidate, ...]
    state: PortfolioState


class RiskManager:
    """The enabled guards of ``config`` in ``GUARD_ORDER``; stateless apart from them.

    Args:
        config: risk limits; ``RiskConfig()`` (the original plan's Phase 1 numbers) when omitted.
    """

    def __init__(self, config: RiskConfig | None = None) -> None:
        self.config = config if config is not None else RiskConfig()
        self.guards: tuple[RiskGuard, ...] = tuple(
            cls(self.config) for cls in GUARD_ORDER if cls.enabled(self.config)
        )
        self._by_name = {g.name: g for g in self.guards}

    def new_ledger(self) -> TradeLedger:
        """An empty ledger sized for this config's kill-switch window."""
        return TradeLedger(hit_rate_window=self.config.kill_switch_window_trades)

    def check(self, state: PortfolioState, candidate: Candidate) -> GuardResult | None:
        """First block for ``candidate`` in guard order, or ``None`` when every guard allows it."""
        for guard in self.guards:
            result = guard.check(state, candidate)
            if result is not None:
                return result
        return None

    def check_all(self, state: PortfolioState, candidate: Candidate) -> list[GuardResult]:
        """Every block for ``candidate``, in guard order (empty when allowed)."""
        return [r for g in self.guards if (r := g.check(state, candidate)) is not None]

    def blocking_now(self, state: PortfolioState) -> list[GuardResult]:
        """Blocks that stop any new entry now, in guard order (for ``format_status``)."""
        return [r for g in self.guards if (r := g.blocking_now(state)) is not None]

    def check_round(
        self, state: PortfolioState, candidates: list[Candidate] | tuple[Candidate, ...]
    ) -> RoundCheck:
        """Check ``candidates`` one after another, each seeing the ones accepted before it.

        Each accepted candidate becomes a provisional ``OpenPosition`` (opened at
        ``state.now_s``) so slot, pair and exposure limits hold across the round. Pass the
        candidates in priority order (``StrategyOrchestrator.resolve_conflicts`` returns them
        so).
        """
        accepted: list[Candidate] = []
        blocked: list[SkippedCandidate] = []
        for cand in candidates:
            result = self.check(state, cand)
            if result is not None:
                blocked.append(SkippedCandidate(cand, result))
                continue
            accepted.append(cand)
            state = state.with_position(
                OpenPosition(
                    cand.pair, cand.strategy, cand.amount_quote, state.now_s, cand.setup_id
                )
            )
        return RoundCheck(tuple(accepted), tuple(blocked), state)

    def record_close(self, ledger: TradeLedger, trade: ClosedTrade) -> list[GuardLock]:
        """Append ``trade`` to ``ledger`` and let each guard set its lock; returns new locks.

        Call once per closed trade, in close-time order.

        Raises:
            ValueError: out-of-order close, or a ledger built for another kill-switch window.
        """
        ledger.append_closed(trade)
        locks = []
        for guard in self.guards:
            lock = guard.on_trade_closed(ledger, trade)
            if lock is not None:
                ledger.set_lock(lock)
                locks.append(lock)
        return locks

    def guard(self, guard_name: str) -> RiskGuard:
        """The enabled guard named ``guard_name``.

        Raises:
            ValueError: when no enabled guard has that name (the message lists them).
        """
        guard = self._by_name.get(guard_name)
        if guard is None:
            raise ValueError(f"no enabled guard named {guard_name!r}; have {sorted(self._by_name)}")
        return guard

    def reset(self, ledger: TradeLedger, guard_name: str, now_s: int) -> GuardLock | None:
        """Operator reset of ``guard_name``'s lock (``"kill_switch"``, ``"consecutive_losses"``);
        returns the lock lifted, ``None`` when the guard held none.

        Raises:
            ValueError: when no enabled guard has that name.
        """
        return self.guard(guard_name).reset(ledger, now_s)

    def describe(self) -> list[str]:
        """``name: rule`` per enabled guard, in order (for status displays)."""
        return [f"{g.name}: {g.short_desc()}" for g in self.guards]
