"""What a script does for a strategy without a published model, and which models it refuses.

``no_model_policy`` (a setting of every ``ml_*`` script) decides what happens when
``<models_dir>/<strategy>/current`` is missing
(:func:`ml_signals.scoring.artifact.current_version_dir` returns ``None``):

- ``"skip"`` (default): the strategy takes no new entry. Its setups are still detected and
  journaled, as skipped with the reason ``no_model: no published model ...``. A models folder
  that is missing or cannot be read is a configuration error at start: a mistyped
  ``models_dir`` would otherwise look like "no model yet".
- ``"rules_only"``: every setup the detector finds is taken at the detector's size and exits
  (:meth:`~ml_signals.scoring.scorer.Scorer.rules_only_scorer`), as before models existed; the
  models folder may be absent.

A published model is refused at start (:class:`~ml_signals.scoring.artifact.ArtifactError`)
when its manifest's ``labels.fees`` (the fees its labels were computed at,
``training/artifacts/provenance.py``) differ from the fees the script trades at
(:class:`TradingFees`): a model learns which setups pay *after* fees, so it is only valid at the
fees it learnt.

The mode of each strategy is announced at start (log, ``format_status``, a system alert):
:func:`describe` gives the one line all three show.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ml_signals.decision.engine import Evaluation, StrategyEngine
from ml_signals.decision.sizing import SizingConfig
from ml_signals.risk import GuardResult
from ml_signals.scoring.artifact import MANIFEST, ArtifactError, current_version_dir
from ml_signals.scoring.config import ScoringConfig
from ml_signals.scoring.score import Score
from ml_signals.scoring.scorer import Scorer
from ml_signals.setups.base import Setup, SetupDetector

log = logging.getLogger(__name__)

NoModelPolicy = Literal["skip", "rules_only"]
ModelMode = Literal["model", "rules_only", "skip"]

NO_MODEL_GUARD = "no_model"
"""Guard name of the skip reason ``no_model: no published model ...`` (journal, status)."""

NO_MODEL_VERSION = "no-model"
"""``model_version`` of the (never taken) scores of a strategy without a model under ``skip``."""


class ScriptConfigError(ValueError):
    """A script setting names a file, folder or feed that does not fit (message: the setting,
    the value and what to change)."""


class TradingFees(BaseModel):
    """Fees the script trades at, fractions of the traded notional (0.0026 = 0.26 %).

    Defaults: Kraken spot base tier, maker 0.16 %, taker 0.26 %, the same as
    ``training.labels.outcomes.FeeSchedule`` (original plan, "Hummingbot Paper Trading Features":
    "Exact Kraken fees (0.26%)"). A model whose manifest says it was trained at other fees is
    refused at start.

    Attributes:
        maker_frac: fee on resting (limit) orders that fill, e.g. DCA grid levels.
        taker_frac: fee on orders that take liquidity, e.g. market entries and exits.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    maker_frac: float = Field(default=0.0016, ge=0, lt=0.1)
    taker_frac: float = Field(default=0.0026, ge=0, lt=0.1)


@dataclass(frozen=True, slots=True)
class ModelSource:
    """Where a script's models come from and what it accepts.

    Attributes:
        models_dir: the models folder (``<models_dir>/<strategy>/current``).
        policy: what to do for a strategy without a published model (module docstring).
        fees: the fees the script trades at; a model trained at others is refused.
    """

    models_dir: Path
    policy: NoModelPolicy
    fees: TradingFees


class NoModelScorer(Scorer):
    """Scorer of a strategy without a published model under ``no_model_policy: skip``: every
    score says "not taken" (confidence ``None``, the detector's exits, size 1).

    Args:
        strategy: the strategy name.
        config: its scoring bounds (kept for status lines).
        reason: why there is no model (shown in skip reasons and the status).
    """

    def __init__(self, strategy: str, config: ScoringConfig, reason: str) -> None:
        super().__init__(strategy, config, manifest={"version": NO_MODEL_VERSION})
        self.reason = reason

    def score(self, setup: Setup, features: Any, candles: Any = None) -> Score:
        """A score that never takes ``setup`` (``features`` and ``candles`` unread)."""
        exits = setup.exits
        return Score(confidence=None, take=False, take_profit_frac=exits.take_profit_frac,
                     stop_loss_frac=exits.stop_loss_frac, size_multiplier=1.0,
                     expected_hold_s=exits.time_limit_s, model_version=NO_MODEL_VERSION)


class NoModelEngine(StrategyEngine):
    """Engine of a strategy without a model under ``skip``: detects setups as usual and returns
    each as skipped (guard :data:`NO_MODEL_GUARD`), so it is journaled and never entered."""

    scorer: Scorer  # a NoModelScorer until a model is published and hot-loaded

    def evaluate(self, pair: str, candles: pd.DataFrame,
                 features: pd.DataFrame) -> Evaluation | None:
        """The newest closed candle's setup, skipped; ``None`` when there is no setup.

        Raises:
            ValueError, KeyError: from the detector (bad frames).
        """
        if not isinstance(self.scorer, NoModelScorer):  # a model published since, hot-loaded
            return super().evaluate(pair, candles, features)
        setup = self.detector.detect_latest(pair, candles, features)
        if setup is None:
            return None
        score = self.scorer.score(setup, features.iloc[-1])
        return Evaluation(setup, score, None, GuardResult(NO_MODEL_GUARD, self.scorer.reason))


def check_models_dir(source: ModelSource) -> None:
    """Refuse a missing or unreadable models folder unless the policy is ``rules_only``.

    Raises:
        ScriptConfigError: ``models_dir`` is not a readable folder and the policy is ``skip``.
    """
    if source.policy == "rules_only":
        return
    folder = source.models_dir
    where = f"models_dir {str(folder)!r} (resolved {folder.resolve()})"
    if not folder.is_dir():
        raise ScriptConfigError(
            f"{where} is not a folder: with no_model_policy 'skip' the models folder must "
            "exist (a mistyped path would silently stop every strategy); fix models_dir, or "
            "set no_model_policy: rules_only to trade every setup without models")
    try:
        next(folder.iterdir(), None)
    except OSError as exc:
        raise ScriptConfigError(f"{where} cannot be read: {exc.strerror or exc}") from exc


def check_fees(folder: Path, manifest: dict[str, Any], fees: TradingFees) -> None:
    """Refuse an artifact trained at fees other than ``fees``.

    Compares the manifest's ``labels.fees.maker_frac`` / ``labels.fees.taker_frac`` with the
    script's, to 1e-9 (JSON round trip of a float is exact; the slack only forgives decimal
    spellings such as 0.0026 vs 0.00260000000001).

    Raises:
        ArtifactError: a fee is missing from the manifest, not a number, or differs; the message
            names ``<folder>/manifest.json`` and the field.
    """
    path = folder / MANIFEST
    labels = manifest.get("labels")
    trained = labels.get("fees") if isinstance(labels, dict) else None
    if not isinstance(trained, dict):
        raise ArtifactError(f"{path}: labels.fees is missing, so the fees the model was trained "
                            "at are unknown; retrain with this code")
    for name in ("maker_frac", "taker_frac"):
        value = trained.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ArtifactError(f"{path}: labels.fees.{name} is {value!r}, not a fraction")
        mine = getattr(fees, name)
        if not math.isclose(float(value), mine, rel_tol=0.0, abs_tol=1e-9):
            raise ArtifactError(
                f"{path}: labels.fees.{name} = {value} but the script trades at fees.{name} = "
                f"{mine}: the model learnt which setups pay after other fees; retrain at the "
                "script's fees or correct the script's fees setting")


def load_scorer(source: ModelSource, strategy: str, scoring: ScoringConfig) -> Scorer:
    """The scorer of ``strategy`` as ``source`` allows it (module docstring).

    Returns:
        The published model's scorer; else a rules-only scorer (``rules_only``) or a
        :class:`NoModelScorer` (``skip``).

    Raises:
        ScriptConfigError: missing or unreadable ``models_dir`` under ``skip``.
        ArtifactError: the published artifact is damaged, built for other features, or trained
            at other fees.
    """
    check_models_dir(source)
    folder = current_version_dir(source.models_dir, strategy)
    if folder is None:
        pointer = source.models_dir / strategy / "current"
        if source.policy == "rules_only":
            return Scorer.rules_only_scorer(strategy, scoring)
        return NoModelScorer(strategy, scoring, f"no published model ({pointer} is missing)")
    scorer = Scorer.load(source.models_dir, strategy, scoring)
    check_fees(folder, scorer.manifest, source.fees)
    return scorer


def make_engine(detector: SetupDetector, scorer: Scorer,
                sizing: SizingConfig) -> StrategyEngine:
    """:class:`NoModelEngine` for a :class:`NoModelScorer`, else the ordinary engine."""
    if isinstance(scorer, NoModelScorer):
        return NoModelEngine(detector, scorer, sizing)
    return StrategyEngine(detector, scorer, sizing)


def mode_of(scorer: Scorer) -> ModelMode:
    """``"skip"`` (no model, no entries), ``"rules_only"`` or ``"model"``."""
    if isinstance(scorer, NoModelScorer):
        return "skip"
    return "rules_only" if scorer.rules_only else "model"


def describe(scorer: Scorer) -> str:
    """One line on what the strategy runs with (start log, status, system alert)."""
    mode = mode_of(scorer)
    if mode == "skip":
        assert isinstance(scorer, NoModelScorer)
        return f"{scorer.reason}: no new entries (no_model_policy skip)"
    if mode == "rules_only":
        return ("rules-only: no published model, every setup taken at the detector's size "
                "(no_model_policy rules_only)")
    return f"model {scorer.model_version}"
