"""Sizing: how a setup's score changes the entry its detector planned.

Original plan ``DCA_STRATEGY.ml_enhancement.adjustments``: high confidence -> increase size,
low confidence -> wider spacing. For a scored setup whose rule strength is ``c``
(``Score.strength``: the score's rank under the artifact's rule, or the confidence under a
configured threshold) and whose cut is ``t`` (``Score.cut``; ``c >= t``, else the setup is
skipped):

- every quote amount is multiplied by ``Score.size_multiplier`` (the scorer's piecewise-linear
  0.5-1.5x, 1.0 at the cut, 1.5 at strength 1);
- a grid's distance from the reference price is multiplied by
  ``spacing_scale = 1 + max_spacing_widen_frac * (1 - (c - t) / (1 - t))``: the detector's
  spacing at strength 1, ``1 + max_spacing_widen_frac`` times it at the cut. Level ``k``
  moves from ``p_k`` to ``ref - (ref - p_k) * spacing_scale`` (the first level, at ``ref``,
  stays). Example: cut 0.60, widen 0.5, 1 % spacing: c = 0.60 -> 1.5 %, c = 0.80 ->
  1.25 %, c = 1.0 -> 1 %.

Rules-only scores (no model) keep the detector's amounts and spacing; exits come from
:func:`ml_signals.scoring.scorer.scored_exits` in both cases.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from ml_signals.exits import ExitRules
from ml_signals.scoring.score import Score
from ml_signals.scoring.scorer import scored_exits
from ml_signals.setups.base import EntryPlan, Setup, StrategyName


class SizingConfig(BaseModel):
    """How confidence changes a setup's entry (see the module docstring for the formulas).

    Attributes:
        max_spacing_widen_frac: extra grid spacing at the threshold confidence, as a fraction
            of the detector's spacing (0.5 -> 1.5x spacing at the threshold, 1x at confidence 1).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_spacing_widen_frac: float = Field(default=0.5, ge=0, le=2)


def spacing_scale(strength: float | None, cut: float, max_widen_frac: float) -> float:
    """Grid spacing factor: ``1 + max_widen_frac * (1 - (c - t) / (1 - t))`` for strength ``c``
    and cut ``t``, clipped to ``[1, 1 + max_widen_frac]``; 1 when rules-only
    (``strength is None``)."""
    if strength is None:
        return 1.0
    span = 1.0 - cut
    above = 1.0 if span <= 0 else min(max((strength - cut) / span, 0.0), 1.0)
    return 1.0 + max_widen_frac * (1.0 - above)


@dataclass(frozen=True, slots=True)
class SizedEntry:
    """The entry to place for a taken setup: sized, spaced and with its scored exits.

    Attributes:
        setup_id, pair, strategy: from the setup.
        entry: the detector's plan after sizing (amounts) and spacing (grid prices).
        exits: :func:`~ml_signals.scoring.scorer.scored_exits` of the setup and its score.
        size_multiplier: applied to every quote amount.
        spacing_scale: applied to every grid level's distance from the reference price.
    """

    setup_id: str
    pair: str
    strategy: StrategyName
    entry: EntryPlan
    exits: ExitRules
    size_multiplier: float
    spacing_scale: float


def size_entry(setup: Setup, score: Score, sizing: SizingConfig) -> SizedEntry:
    """Apply ``score`` to ``setup``'s entry (module docstring: formulas and example).

    Raises:
        ValueError: the widened grid would reach a price <= 0.
    """
    multiplier = 1.0 if score.rules_only else score.size_multiplier
    scale = 1.0
    plan = setup.entry
    amounts = tuple(a * multiplier for a in plan.amounts_quote)
    prices = plan.prices
    if plan.entry_type == "limit_grid":
        cut = 0.0 if score.cut is None else score.cut
        scale = spacing_scale(score.strength, cut, sizing.max_spacing_widen_frac)
        ref = setup.reference_price
        prices = tuple(ref - (ref - p) * scale for p in plan.prices)
        if any(p <= 0 for p in prices):
            raise ValueError(f"{setup.setup_id}: spacing x{scale:.3f} puts a grid level at or "
                             f"below 0 ({min(prices):.6g})")
    return SizedEntry(
        setup_id=setup.setup_id,
        pair=setup.pair,
        strategy=setup.strategy,
        entry=EntryPlan(plan.entry_type, prices, amounts),
        exits=scored_exits(setup, score),
        size_multiplier=multiplier,
        spacing_scale=scale,
    )
