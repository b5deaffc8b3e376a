"""The engine of one strategy: the newest closed candle -> setup -> score -> sized entry.

:meth:`StrategyEngine.evaluate` runs the strategy's detector on the closed candles and their
features, scores a setup it finds (model or rules-only) and sizes a taken one
(:mod:`ml_signals.decision.sizing`). The result, an :class:`Evaluation`, goes to the planner
(:mod:`ml_signals.decision.planner`) with the other strategies' and pairs' evaluations of the
round.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from ml_signals.decision.sizing import SizedEntry, SizingConfig, size_entry
from ml_signals.risk import Candidate, GuardResult
from ml_signals.risk.types import STRATEGIES
from ml_signals.scoring.score import Score
from ml_signals.scoring.scorer import Scorer
from ml_signals.setups.base import Setup, SetupDetector, StrategyName


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A setup on the newest closed candle, its score, and the entry if the score takes it.

    Attributes:
        setup: the detection.
        score: the scorer's verdict.
        sized: the entry to place; ``None`` when the score is below the threshold.
        skip: why the score did not take it (guard ``"confidence"``); ``None`` when taken.
    """

    setup: Setup
    score: Score
    sized: SizedEntry | None
    skip: GuardResult | None

    @property
    def takes(self) -> bool:
        """True when the score takes the setup (the risk guards may still block it)."""
        return self.sized is not None

    def candidate(self) -> Candidate:
        """The risk / orchestration candidate of a taken setup (long, full committed quote).

        Raises:
            ValueError: the score did not take the setup.
        """
        if self.sized is None:
            raise ValueError(f"{self.setup.setup_id} was not taken by its score")
        return Candidate(self.setup.setup_id, self.setup.pair, self.setup.strategy, "BUY",
                         self.sized.entry.total_quote, self.score.confidence)


class StrategyEngine:
    """Detector + scorer + sizing of one strategy.

    Args:
        detector: builds setups from closed candles and their features.
        scorer: scores them (model or rules-only).
        sizing: confidence -> size and spacing.

    Raises:
        ValueError: the scorer is for another strategy than the detector.
    """

    def __init__(self, detector: SetupDetector, scorer: Scorer,
                 sizing: SizingConfig | None = None) -> None:
        if scorer.strategy != detector.strategy:
            raise ValueError(f"scorer for {scorer.strategy!r} with a "
                             f"{detector.strategy!r} detector")
        self.detector = detector
        self.scorer = scorer
        self.sizing = sizing or SizingConfig()

    @property
    def strategy(self) -> StrategyName:
        """The detector's strategy name."""
        return self.detector.strategy

    @property
    def rule(self) -> str:
        """The scorer's decision rule, one line (for status and logs)."""
        return self.scorer.rule_text

    def evaluate(self, pair: str, candles: pd.DataFrame,
                 features: pd.DataFrame) -> Evaluation | None:
        """Evaluate the newest row of ``candles`` (closed candles only); ``None``: no setup.

        Raises:
            ValueError, KeyError, ArtifactError: from the detector or the scorer (bad frames,
                a model that expects other inputs).
        """
        setup = self.detector.detect_latest(pair, candles, features)
        if setup is None:
            return None
        # only a sequence model reads the candle window; the feature-row path stays as it was
        score = (self.scorer.score(setup, features.iloc[-1], candles) if self.scorer.window_bars
                 else self.scorer.score(setup, features.iloc[-1]))
        if not score.take:
            reason = f"{score.rule}: not taken (model {score.model_version})"
            return Evaluation(setup, score, None, GuardResult("confidence", reason))
        return Evaluation(setup, score, size_entry(setup, score, self.sizing), None)


def strategies_of(engines: Iterable[StrategyEngine]) -> tuple[StrategyName, ...]:
    """Strategy names of ``engines`` in :data:`ml_signals.risk.types.STRATEGIES` order."""
    names = {e.strategy for e in engines}
    return tuple(s for s in STRATEGIES if s in names)
