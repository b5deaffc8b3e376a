"""Capital allocation and conflict resolution between strategies (original plan
``STRATEGY_MANAGER``).

One decision round = the candidates every strategy produced on the same closed candle. The
orchestrator settles the round before the risk guards see it:

1. rank: scored candidates before rules-only ones (``confidence is None``), higher confidence
   first, ties by ``AllocationConfig.priority`` (strategy order) then ``setup_id``;
2. ``opposing_signals: skip_both``: a pair with a BUY and a SELL candidate in the round loses
   all its candidates;
3. ``same_coin: higher_confidence_wins``: one candidate per pair, the best-ranked;
4. ``capital_limit: pause_lower_priority``: walking the ranking, a candidate whose strategy
   allocation has less left than its ``amount_quote`` is skipped, and so is every lower-ranked
   candidate of that strategy in the round (capital never goes to a lower-priority candidate
   ahead of a higher one). Amounts are never shrunk to fit.

The plan's other ``priority_rules`` (strategy performance, market conditions) are not applied.
Money in quote currency, fractions as fractions (0.2 = 20 %).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ml_signals.risk.manager import RiskManager
from ml_signals.risk.types import (
    STRATEGIES,
    Candidate,
    GuardResult,
    PortfolioState,
    SkippedCandidate,
)
from ml_signals.setups.base import StrategyName

# Float slack when comparing an amount with the allocation left (quote).
_EPS_QUOTE: Final[float] = 1e-9

Weight = Annotated[float, Field(ge=0, le=1_000)]


def _plan_weights() -> dict[StrategyName, float]:
    return {"dca": 0.6, "swing": 0.4, "channel": 0.0}


class AllocationConfig(BaseModel):
    """Capital split between strategies (original plan ``STRATEGY_MANAGER.capital_allocation``).

    Attributes:
        total_capital_quote: capital the bot manages (plan: $1000 paper capital).
        reserve_frac: share never deployed (plan: 0.2).
        weights: weight per strategy (plan: dca 0.6, swing 0.4). A strategy with weight 0, or
            absent, is disabled (channel by default). Weights are normalised over the enabled
            strategies, so ``{"dca": 0.6, "swing": 0.4, "channel": 0.2}`` gives
            0.5 / 0.333 / 0.167; to run channel, give it a weight.
        priority: strategy order breaking confidence ties (every strategy exactly once).
        cap_equity_at_total: True: allocations come from ``min(equity, total_capital_quote)``, so
            the bot never deploys more than its capital even when the account holds more (a
            paper account with a large balance) but shrinks after losses. False: from the equity
            passed in (compounding).

    Raises:
        pydantic.ValidationError: unknown fields, bounds, all weights zero, bad priority.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    total_capital_quote: float = Field(default=1_000.0, gt=0)
    reserve_frac: float = Field(default=0.2, ge=0, lt=1)
    weights: dict[StrategyName, Weight] = Field(default_factory=_plan_weights)
    priority: tuple[StrategyName, ...] = ("dca", "swing", "channel")
    cap_equity_at_total: bool = True

    @model_validator(mode="after")
    def _check_weights_and_priority(self) -> AllocationConfig:
        if sum(self.weights.values()) <= 0:
            raise ValueError("at least one strategy needs a weight > 0")
        if sorted(self.priority) != sorted(STRATEGIES):
            raise ValueError(f"priority must list each of {STRATEGIES} once, got {self.priority}")
        return self

    def weight_frac(self, strategy: str) -> float:
        """Normalised weight of ``strategy`` (0 when disabled); weights sum to 1.

        Raises:
            ValueError: unknown strategy name.
        """
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        weight = next((w for name, w in self.weights.items() if name == strategy), 0.0)
        return weight / sum(self.weights.values())


@dataclass(frozen=True, slots=True)
class ConflictResolution:
    """A settled decision round.

    Attributes:
        accepted: candidates to pass on, best-ranked first.
        skipped: the others with the rule that removed each, in rank order.
    """

    accepted: tuple[Candidate, ...]
    skipped: tuple[SkippedCandidate, ...]


def rank_key(candidate: Candidate, priority: Sequence[str]) -> tuple[bool, float, int, str]:
    """Sort key: scored before rules-only, confidence high to low, strategy priority, id."""
    conf = candidate.confidence
    return (conf is None, -(conf or 0.0), priority.index(candidate.strategy), candidate.setup_id)


def _describe(c: Candidate) -> str:
    conf = "rules-only" if c.confidence is None else f"confidence {c.confidence:.2f}"
    return f"{c.side} {c.setup_id} ({conf})"


class StrategyOrchestrator:
    """Allocates capital to strategies and settles conflicts inside a decision round.

    Args:
        config: allocation; ``AllocationConfig()`` (plan defaults) when omitted.
    """

    def __init__(self, config: AllocationConfig | None = None) -> None:
        self.config = config if config is not None else AllocationConfig()

    def capital_for(self, strategy: str, equity_quote: float | None = None) -> float:
        """Quote ``strategy`` may deploy: ``base x (1 - reserve_frac) x weight_frac``.

        ``base`` is ``total_capital_quote`` when ``equity_quote`` is None, else the equity
        (capped at ``total_capital_quote`` when ``cap_equity_at_total``); never below 0.
        Example: 1000 capital, 0.2 reserve, 60/40 -> dca 480, swing 320.
        """
        cfg = self.config
        base = cfg.total_capital_quote
        if equity_quote is not None:
            base = min(equity_quote, base) if cfg.cap_equity_at_total else equity_quote
        return max(0.0, base) * (1.0 - cfg.reserve_frac) * cfg.weight_frac(strategy)

    def remaining_for(self, strategy: str, state: PortfolioState) -> float:
        """Allocation of ``strategy`` left beside its open positions (quote, >= 0)."""
        used = state.exposure_for(strategy)
        return max(0.0, self.capital_for(strategy, state.equity_quote) - used)

    def resolve_conflicts(
        self, candidates: Sequence[Candidate], state: PortfolioState | None = None
    ) -> ConflictResolution:
        """Settle one round (see the module docstring for the rules, in order).

        Args:
            candidates: every candidate of the round, any order.
            state: for the capital already used by open positions; without it allocations
                come from ``total_capital_quote`` with nothing open.

        Raises:
            ValueError: two candidates share a ``setup_id``.
        """
        ids = [c.setup_id for c in candidates]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate setup_id in one round: {sorted(ids)}")
        priority = self.config.priority
        ranked = sorted(candidates, key=lambda c: rank_key(c, priority))
        skipped: dict[str, GuardResult] = {}
        self._skip_opposing(ranked, skipped)
        self._skip_same_pair(ranked, skipped)
        self._skip_over_allocation(ranked, skipped, state)
        return ConflictResolution(
            accepted=tuple(c for c in ranked if c.setup_id not in skipped),
            skipped=tuple(
                SkippedCandidate(c, skipped[c.setup_id]) for c in ranked if c.setup_id in skipped
            ),
        )

    def plan_round(
        self, state: PortfolioState, candidates: Sequence[Candidate], risk: RiskManager
    ) -> ConflictResolution:
        """``resolve_conflicts`` then ``risk.check_round`` on the survivors, best-ranked first.

        ``accepted`` are the entries to place now; ``skipped`` holds conflict skips followed by
        risk blocks.
        """
        resolved = self.resolve_conflicts(candidates, state)
        checked = risk.check_round(state, resolved.accepted)
        return ConflictResolution(checked.accepted, resolved.skipped + checked.blocked)

    @staticmethod
    def _skip_opposing(ranked: list[Candidate], skipped: dict[str, GuardResult]) -> None:
        by_pair: dict[str, list[Candidate]] = defaultdict(list)
        for c in ranked:
            by_pair[c.pair].append(c)
        for pair, group in by_pair.items():
            if len({c.side for c in group}) < 2:
                continue
            listed = "; ".join(_describe(c) for c in group)
            for c in group:
                skipped[c.setup_id] = GuardResult(
                    "opposing_signals", f"skip_both: BUY and SELL on {pair} this round ({listed})"
                )

    @staticmethod
    def _skip_same_pair(ranked: list[Candidate], skipped: dict[str, GuardResult]) -> None:
        winner: dict[str, Candidate] = {}
        for c in ranked:
            if c.setup_id in skipped:
                continue
            best = winner.setdefault(c.pair, c)
            if best is not c:
                skipped[c.setup_id] = GuardResult(
                    "same_coin",
                    f"higher_confidence_wins: {_describe(best)} ranks above {_describe(c)} "
                    f"on {c.pair}",
                )

    def _skip_over_allocation(
        self,
        ranked: list[Candidate],
        skipped: dict[str, GuardResult],
        state: PortfolioState | None,
    ) -> None:
        left: dict[str, float] = {}
        paused_by: dict[str, Candidate] = {}
        for c in ranked:
            if c.setup_id in skipped:
                continue
            if c.strategy not in left:
                left[c.strategy] = (
                    self.capital_for(c.strategy)
                    if state is None
                    else self.remaining_for(c.strategy, state)
                )
            first = paused_by.get(c.strategy)
            if first is not None:
                skipped[c.setup_id] = GuardResult(
                    "capital_limit",
                    f"pause_lower_priority: {c.strategy} allocation paused for this round after "
                    f"{first.setup_id} did not fit; {left[c.strategy]:.2f} quote left",
                )
            elif c.amount_quote > left[c.strategy] + _EPS_QUOTE:
                paused_by[c.strategy] = c
                allocation = self.capital_for(
                    c.strategy, None if state is None else state.equity_quote
                )
                skipped[c.setup_id] = GuardResult(
                    "capital_limit",
                    f"pause_lower_priority: {c.strategy} allocation has {left[c.strategy]:.2f} of "
                    f"{allocation:.2f} quote left, {c.setup_id} needs {c.amount_quote:.2f}",
                )
            else:
                left[c.strategy] -= c.amount_quote
