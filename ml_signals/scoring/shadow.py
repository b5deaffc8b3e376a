"""Shadow scoring: a challenger model and rule variants score every setup; only the champion
trades (original plan, "shadow testing": champion vs challenger).

A script may run, beside its champion (``models_dir``):

- a **challenger**: the artifact published under ``shadow_models_dir/<strategy>/current``
  (a second models folder, e.g. a retrain published with ``--publish always`` into another
  folder), loaded and verified like the champion; re-read when its pointer changes
  (:meth:`ShadowBook.refresh`, once per closed candle);
- **rule variants** of the champion: the same model and calibration with a stricter or looser
  share of setups taken (:meth:`~ml_signals.scoring.rule.DecisionRule.with_keep`).
  :data:`VARIANT_KEEP_FACTORS`: ``conservative`` takes half the champion's ``keep_frac``,
  ``aggressive`` twice it (capped at 1), a factor of two either side of the share the
  walk-forward chose, enough to see on live setups whether the chosen share sits on a slope.

Every shadow score is journaled as an ``ml_predictions`` row whose ``model_version`` is
:func:`shadow_version` (``"shadow:<name>:<version>"``), so it never collides with the champion's
row of the same setup and readers tell the roles apart
(:attr:`ml_signals.journal.records.PredictionRecord.role`). ``python -m training
shadow-report`` compares the roles on the setups both scored.

A shadow that fails (bad inputs, a broken challenger) is logged and skipped: shadows never
affect the champion's decisions. No Hummingbot import.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Literal

import pandas as pd

from ml_signals.scoring.artifact import ArtifactError, pointer_stamp
from ml_signals.scoring.config import ScoringConfig
from ml_signals.scoring.inputs import FeatureRow
from ml_signals.scoring.score import SHADOW_PREFIX, Score, parse_shadow_version, shadow_version
from ml_signals.scoring.scorer import Scorer
from ml_signals.setups.base import Setup

log = logging.getLogger(__name__)

CHALLENGER: Final = "challenger"
ShadowVariant = Literal["conservative", "aggressive"]
VARIANT_KEEP_FACTORS: Final[dict[str, float]] = {"conservative": 0.5, "aggressive": 2.0}
"""``keep_frac`` of a variant = the champion's ``keep_frac`` times this, capped at 1."""


@dataclass(frozen=True, slots=True)
class ShadowScore:
    """One shadow's verdict on a setup.

    Attributes:
        name: ``"challenger"`` or the variant name.
        score: its score; ``model_version`` is already :func:`shadow_version`.
    """

    name: str
    score: Score


def variant_scorer(champion: Scorer, variant: str) -> Scorer:
    """The champion's model under the variant's ``keep_frac`` (:data:`VARIANT_KEEP_FACTORS`).

    Raises:
        ValueError: unknown variant.
        ArtifactError: the champion is rules-only.
    """
    if variant not in VARIANT_KEEP_FACTORS:
        raise ValueError(f"unknown shadow variant {variant!r}; choose from "
                         f"{', '.join(VARIANT_KEEP_FACTORS)}")
    if champion.rules_only or champion.rule is None:
        raise ArtifactError(f"{champion.strategy}: rules-only champion has no rule to vary")
    keep = min(1.0, champion.rule.keep_frac * VARIANT_KEEP_FACTORS[variant])
    return champion.with_rule(champion.rule.with_keep(keep, champion.rule.fitted_on))


class ShadowBook:
    """The shadows of a script's strategies (module docstring).

    Args:
        variants: rule variants to run for every strategy with a model.
        shadow_models_dir: the challengers' models folder; ``None``: no challenger.
        strategies: strategy name -> the scoring configuration its challenger is loaded with
            (default: the champion's).

    Raises:
        ValueError: an unknown variant name.
    """

    def __init__(self, variants: Sequence[str] = (), shadow_models_dir: Path | str | None = None,
                 strategies: Mapping[str, ScoringConfig] | None = None) -> None:
        unknown = [v for v in variants if v not in VARIANT_KEEP_FACTORS]
        if unknown:
            raise ValueError(f"unknown shadow variant(s) {unknown}; choose from "
                             f"{', '.join(VARIANT_KEEP_FACTORS)}")
        self.variants = tuple(dict.fromkeys(variants))
        self.shadow_models_dir = None if shadow_models_dir is None else Path(shadow_models_dir)
        self._configs = dict(strategies or {})
        self.challengers: dict[str, Scorer] = {}
        self._stamps: dict[str, tuple[int, int, int] | None] = {}
        self._variant_cache: dict[tuple[str, str, str], Scorer] = {}
        self.failures = 0

    @property
    def enabled(self) -> bool:
        """True when any shadow can score."""
        return bool(self.variants) or self.shadow_models_dir is not None

    def refresh(self, champions: Mapping[str, Scorer]) -> list[str]:
        """(Re)load each strategy's challenger whose pointer changed; returns one line per
        change or refusal (logged). A refused challenger keeps the previous one."""
        lines: list[str] = []
        if self.shadow_models_dir is None:
            return lines
        for strategy, champion in champions.items():
            stamp = pointer_stamp(self.shadow_models_dir, strategy)
            if strategy in self._stamps and self._stamps[strategy] == stamp:
                continue
            self._stamps[strategy] = stamp
            if stamp is None:
                continue
            config = self._configs.get(strategy, champion.config)
            try:
                scorer = Scorer.load(self.shadow_models_dir, strategy, config)
            except (ArtifactError, OSError) as exc:
                line = f"{strategy}: challenger refused: {exc}"
                log.error("shadow %s", line)
                lines.append(line)
                continue
            if not scorer.rules_only:
                self.challengers[strategy] = scorer
                line = f"{strategy}: challenger {scorer.model_version}"
                log.info("shadow %s", line)
                lines.append(line)
        return lines

    def score(self, champion: Scorer, setup: Setup, features: FeatureRow,
              candles: pd.DataFrame | None = None) -> list[ShadowScore]:
        """Every shadow's score of ``setup`` (champion: the strategy's current scorer;
        ``candles``: the pair's frame, read by a sequence-family shadow).
        A shadow that raises is logged and left out."""
        out: list[ShadowScore] = []
        for name, scorer in self._scorers(champion):
            try:
                score = (scorer.score(setup, features, candles) if scorer.window_bars
                         else scorer.score(setup, features))
            except Exception:  # noqa: BLE001 - a shadow must never stop the champion
                self.failures += 1
                log.exception("shadow %s failed on %s", name, setup.setup_id)
                continue
            out.append(ShadowScore(name, replace(
                score, model_version=shadow_version(name, score.model_version))))
        return out

    def _scorers(self, champion: Scorer) -> Iterable[tuple[str, Scorer]]:
        challenger = self.challengers.get(champion.strategy)
        if challenger is not None:
            yield CHALLENGER, challenger
        if champion.rules_only or champion.rule is None:
            return
        for variant in self.variants:
            key = (champion.strategy, champion.model_version, variant)
            scorer = self._variant_cache.get(key)
            if scorer is None:
                scorer = self._variant_cache[key] = variant_scorer(champion, variant)
            yield variant, scorer


__all__ = ["CHALLENGER", "SHADOW_PREFIX", "VARIANT_KEEP_FACTORS", "ShadowBook", "ShadowScore",
           "ShadowVariant", "parse_shadow_version", "shadow_version", "variant_scorer"]
