"""The planner of a decision round: score skips, capital orchestration, then the risk guards.

:meth:`DecisionPlanner.plan` settles the round's evaluations (:mod:`ml_signals.decision.engine`)
into the entries to place now and the skipped ones with the rule that stopped each; the planner
also holds the risk ledger, fed with every closed trade (:meth:`DecisionPlanner.record_close`).
:func:`entry_cancelling` says which guard blocks also cancel entries that have not filled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ml_signals.decision.engine import Evaluation
from ml_signals.orchestration import StrategyOrchestrator, rank_key
from ml_signals.regime import BtcRegime
from ml_signals.risk import (
    ClosedTrade,
    GuardLock,
    GuardResult,
    OpenPosition,
    PortfolioState,
    RiskManager,
)
from ml_signals.risk.types import STRATEGIES

if TYPE_CHECKING:
    from ml_signals.risk.ledger import TradeLedger


@dataclass(frozen=True, slots=True)
class RoundPlan:
    """A settled decision round.

    Attributes:
        entries: evaluations to enter now, best-ranked first.
        skipped: evaluations not entered, with the rule that stopped each (score threshold,
            orchestration, or the first risk guard that blocked).
    """

    entries: tuple[Evaluation, ...]
    skipped: tuple[tuple[Evaluation, GuardResult], ...]


class DecisionPlanner:
    """Risk guards, their ledger and (for several strategies) capital orchestration.

    Args:
        risk: the guards.
        orchestrator: capital split and conflict rules between strategies (the portfolio
            script); ``None`` for a single-strategy script (candidates ranked by confidence and
            checked by the guards only).
    """

    def __init__(self, risk: RiskManager, orchestrator: StrategyOrchestrator | None = None) -> None:
        self.risk = risk
        self.orchestrator = orchestrator
        self.ledger: TradeLedger = risk.new_ledger()

    def snapshot(self, now_s: int, equity_quote: float,
                 open_positions: Iterable[OpenPosition], btc_regime: BtcRegime) -> PortfolioState:
        """Mark equity and build the state the guards see this round."""
        return self.ledger.snapshot(now_s, equity_quote, tuple(open_positions), btc_regime)

    def plan(self, state: PortfolioState, evaluations: Sequence[Evaluation]) -> RoundPlan:
        """Settle a round: score skips, then orchestration (if any), then the risk guards."""
        skipped: list[tuple[Evaluation, GuardResult]] = [
            (e, e.skip) for e in evaluations if e.skip is not None
        ]
        by_id = {e.setup.setup_id: e for e in evaluations if e.takes}
        candidates = [e.candidate() for e in by_id.values()]
        if self.orchestrator is not None:
            resolution = self.orchestrator.plan_round(state, candidates, self.risk)
            accepted, blocked = resolution.accepted, resolution.skipped
        else:
            ranked = sorted(candidates, key=lambda c: rank_key(c, STRATEGIES))
            checked = self.risk.check_round(state, ranked)
            accepted, blocked = checked.accepted, checked.blocked
        skipped += [(by_id[s.candidate.setup_id], s.result) for s in blocked]
        return RoundPlan(tuple(by_id[c.setup_id] for c in accepted), tuple(skipped))

    def record_close(self, trade: ClosedTrade) -> list[GuardLock]:
        """Feed a closed trade to the ledger and the guards; returns the locks it set."""
        return self.risk.record_close(self.ledger, trade)

    def blocking_now(self, state: PortfolioState) -> list[GuardResult]:
        """Guards that stop every new entry now (kill switch, losing streak, daily loss, crash)."""
        return self.risk.blocking_now(state)


CANCEL_ENTRIES_GUARDS: frozenset[str] = frozenset(
    {"kill_switch", "consecutive_losses", "daily_loss", "crash_pause"})
"""Guards whose block also cancels entries not yet filled: the emergency stops and the BTC
crash (original plan ``RISK_MANAGEMENT.emergency_stops``; DCA ``btc_regime: not_crashing``).
Capacity guards (``max_open_positions``, ``max_exposure``) also block every new entry when
full, but only block: the resting entries are what fills the capacity."""


def entry_cancelling(blocks: Iterable[GuardResult]) -> list[GuardResult]:
    """The blocks among ``blocks`` (``DecisionPlanner.blocking_now``) that cancel unfilled
    entries (:data:`CANCEL_ENTRIES_GUARDS`)."""
    return [b for b in blocks if b.guard in CANCEL_ENTRIES_GUARDS]
