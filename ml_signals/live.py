"""The decision layer of the live scripts, free of Hummingbot so the replay and backtester reuse it.

One decision round, run when a candle closes (see :mod:`ml_signals.hummingbot.strategy_runtime`
for the Hummingbot side)::

    frame = closed_frame(hummingbot_candles_df, interval_s, now_s)   # drop the forming candle
    features = compute_features(frame, btc_frame, interval_s)
    evaluation = engine.evaluate(pair, frame, features)              # detector + scorer + sizing
    plan = planner.plan(state, [evaluation, ...])                    # orchestration + risk guards
    # plan.entries -> executor configs; plan.skipped -> journal / logs

Sizing (original plan ``DCA_STRATEGY.ml_enhancement.adjustments``: high confidence ->
increase size, low confidence -> wider spacing), for a scored setup whose rule strength is ``c``
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

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ml_signals.candles import CANDLE_COLUMNS, fill_gaps
from ml_signals.exits import ExitRules
from ml_signals.orchestration import StrategyOrchestrator, rank_key
from ml_signals.regime import BtcRegime
from ml_signals.risk import (
    Candidate,
    ClosedTrade,
    GuardLock,
    GuardResult,
    OpenPosition,
    PortfolioState,
    RiskManager,
)
from ml_signals.risk.types import STRATEGIES
from ml_signals.scoring.score import Score
from ml_signals.scoring.scorer import Scorer, scored_exits
from ml_signals.setups.base import EntryPlan, Setup, SetupDetector, StrategyName

if TYPE_CHECKING:
    from ml_signals.candle_guard_live import CandleGuardSkip
    from ml_signals.hummingbot.model_watch import ModelEvent
    from ml_signals.risk.ledger import TradeLedger
    from ml_signals.scoring.shadow import ShadowScore

log = logging.getLogger(__name__)


# --- candles -----------------------------------------------------------------------------------


def closed_frame(candles: pd.DataFrame, interval_s: int, now_s: float) -> pd.DataFrame:
    """Canonical frame (:mod:`ml_signals.candles`) of the candles closed at ``now_s``.

    Hummingbot's ``candles_df`` ends with the candle still forming; a candle is closed when
    ``timestamp + interval_s <= now_s``. Accepts Hummingbot's columns (extra ones dropped,
    ``timestamp`` float seconds) or a canonical frame. Duplicated timestamps keep the last row
    (a feed's update of the same candle); missing candles inside the frame are filled as the
    loaders fill exchange gaps (open = high = low = close = previous close, volume 0) and logged.

    Raises:
        ValueError: a canonical column is missing, a timestamp is missing (NaN) or off the
            interval grid.
    """
    missing = [c for c in CANDLE_COLUMNS if c not in candles.columns]
    if missing:
        raise ValueError(f"candles lack column(s) {missing}; have {list(candles.columns)}")
    raw_ts = candles["timestamp"].to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(raw_ts))
    if bad.size:
        raise ValueError(f"candle row {int(bad[0])} has no timestamp ({raw_ts[bad[0]]})")
    ts = np.rint(raw_ts).astype(np.int64)
    closed = ts + interval_s <= now_s
    ts = ts[closed]
    if ts.size > 1 and not bool((np.diff(ts) > 0).all()):  # duplicates or out of order
        frame = candles.loc[closed, list(CANDLE_COLUMNS)].copy()
        frame["timestamp"] = ts
        frame = frame.drop_duplicates("timestamp", keep="last").sort_values("timestamp")
        ts = frame["timestamp"].to_numpy()
        columns = {c: frame[c].to_numpy(dtype=np.float64) for c in CANDLE_COLUMNS[1:]}
    else:
        columns = {c: candles[c].to_numpy(dtype=np.float64)[closed] for c in CANDLE_COLUMNS[1:]}
    off_grid = np.flatnonzero(ts % interval_s != 0)
    if off_grid.size:
        raise ValueError(f"candle timestamp {int(ts[off_grid[0]])} is not on the "
                         f"{interval_s} s grid")
    frame = pd.DataFrame({"timestamp": ts, **columns})
    if len(frame) > 1 and bool((np.diff(ts) != interval_s).any()):
        frame, filled = fill_gaps(frame, interval_s)
        if filled:
            log.warning("filled %d missing candle(s) between %d and %d", filled,
                        int(frame["timestamp"].iloc[0]), int(frame["timestamp"].iloc[-1]))
    return frame


# --- sizing ------------------------------------------------------------------------------------


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


# --- evaluation of one setup -------------------------------------------------------------------


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


# --- one decision round ------------------------------------------------------------------------


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


def strategies_of(engines: Iterable[StrategyEngine]) -> tuple[StrategyName, ...]:
    """Strategy names of ``engines`` in :data:`ml_signals.risk.types.STRATEGIES` order."""
    names = {e.strategy for e in engines}
    return tuple(s for s in STRATEGIES if s in names)


# --- events for journals and alerts ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryPlaced:
    """An executor was created for a taken setup (its orders may not have filled yet).

    Attributes:
        evaluation: the setup, score and sized entry.
        executor_id: Hummingbot executor id (also the journal's trade id).
        placed_s: decision time.
    """

    evaluation: Evaluation
    executor_id: str
    placed_s: float


@dataclass(frozen=True, slots=True)
class PositionFilled:
    """An executor's entry filled (first fill seen).

    Attributes:
        executor_id, setup_id, strategy, pair: identify the position.
        entry_price_quote: average entry price so far.
        amount_quote: filled size in quote.
        amount_base: filled size in base.
        filled_s: when the fill was first seen (within one tick of the fill).
        score: the score the entry was sized with, ``None`` if unknown (e.g. after a restart).
        exits: the exits the executor manages, ``None`` if unknown.
    """

    executor_id: str
    setup_id: str
    strategy: StrategyName
    pair: str
    entry_price_quote: float
    amount_quote: float
    amount_base: float
    filled_s: float
    score: Score | None = None
    exits: ExitRules | None = None


@dataclass(frozen=True, slots=True)
class ExecutorClosed:
    """An executor finished.

    Attributes:
        executor_id, setup_id, strategy, pair: identify it.
        close_type: Hummingbot ``CloseType`` name (``"TAKE_PROFIT"``, ``"TIME_LIMIT"``, ...).
        trade: the closed trade fed to the risk ledger; ``None`` when nothing filled (an entry
            that expired or was cancelled).
        entry_price_quote, exit_price_quote: average prices (0 when unknown).
        amount_quote: filled entry size in quote; amount_base: in base.
        fees_quote: fees paid.
        opened_s: first fill seen (or the decision time if no fill was seen); closed_s: close.
    """

    executor_id: str
    setup_id: str
    strategy: StrategyName
    pair: str
    close_type: str
    trade: ClosedTrade | None
    entry_price_quote: float
    exit_price_quote: float
    amount_quote: float
    amount_base: float
    fees_quote: float
    opened_s: float
    closed_s: float


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """What the runtime last saw of its candle feeds (passed to :meth:`RuntimeObserver.tick`).

    Attributes:
        interval_s: candle length (s).
        newest_closed_s: feed pair -> open time (s) of the newest closed candle read from its
            feed so far; a pair is absent until its feed delivered one. A read-only view of the
            runtime's own table (valid during the call).
        feed_pairs: every pair with a candles feed (trading pairs and the BTC pair), whether it
            delivered or not, so a feed that never delivers is watched too.
    """

    interval_s: int
    newest_closed_s: Mapping[str, int]
    feed_pairs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuntimeNotice:
    """Something an operator must know that is not a trade: the model mode at start, a strategy
    that cannot score, a halt (the alerts observer sends it to ``#system-alerts``).

    Attributes:
        title: one line.
        detail: the figures and what to do.
        occurred_s: when (s, UTC).
        key: natural id; two notices with one key are one alert.
        severity: ``"info"``, ``"warning"`` or ``"critical"`` (mentions the channel).
    """

    title: str
    detail: str
    occurred_s: float
    key: str
    severity: Literal["info", "warning", "critical"] = "info"


class RuntimeObserver:
    """Hooks a live runtime calls; override the ones you need (all default to no-ops).

    ``start`` is called when the strategy starts, ``close`` when it stops. On the strategy's
    tick, in this order within a round: ``setup_skipped`` /
    ``entry_placed`` for each evaluated setup, ``position_filled`` when an entry's first fill is
    seen, ``executor_closed`` when an executor terminates (after the ledger has the trade), and
    ``guard_locked`` for each lock a close sets; ``tick`` once per clock tick (scheduled reports,
    feed watchdog); ``bad_candles`` when a pair's decisions start being skipped for a bad
candle. Keep them fast (queue work elsewhere); an exception is logged by the runtime
    and does not stop trading.
    """

    def tick(self, now_s: float, feeds: FeedStatus) -> None:
        """The clock reached ``now_s`` (at least once per tick, after fills and closes were
        taken in); called on every tick, so an override must be O(1) when nothing is due."""

    def setup_skipped(self, evaluation: Evaluation, reason: GuardResult, now_s: float) -> None:
        """A detected setup was not entered (score, orchestration or a risk guard)."""

    def entry_placed(self, event: EntryPlaced) -> None:
        """An executor was created for a setup."""

    def position_filled(self, event: PositionFilled) -> None:
        """An entry filled."""

    def executor_closed(self, event: ExecutorClosed) -> None:
        """An executor terminated."""

    def guard_locked(self, lock: GuardLock) -> None:
        """A closed trade made a guard lock new entries (losing streak, kill switch)."""

    def model_in_use(self, strategy: str, scorer: Scorer, now_s: float) -> None:
        """Announced once at start-up per strategy: the model version (or rules-only)."""

    def bad_candles(self, event: CandleGuardSkip) -> None:
        """A pair's decisions started being skipped for a bad candle in the features' window
        (once per episode; :mod:`ml_signals.candle_guard_live`)."""
    def runtime_notice(self, notice: RuntimeNotice) -> None:
        """A system notice (model mode at start, scoring failures, a strategy halted)."""

    def model_event(self, event: ModelEvent) -> None:
        """A strategy's model changed, a new one was refused, or it expired
        (:mod:`ml_signals.hummingbot.model_watch`; checked once per closed candle)."""

    def shadow_scored(self, evaluation: Evaluation, scores: Sequence[ShadowScore],
                      now_s: float) -> None:
        """Shadows scored ``evaluation``'s setup (never traded; :mod:`ml_signals.scoring.shadow`).
        Called before the setup's ``setup_skipped`` / ``entry_placed`` of the same round."""

    def start(self) -> None:
        """The strategy starts: acquire what the observer needs (threads, files)."""

    def close(self) -> None:
        """The strategy stops: flush and release what the observer holds."""
