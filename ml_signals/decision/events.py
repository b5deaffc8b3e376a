"""Events of a running strategy for journals and alerts, and the observer hooks that get them.

A runtime (:mod:`ml_signals.hummingbot.strategy_runtime`, the replay's) reports what follows its
decisions - an entry placed, a position filled, an executor closed - as small frozen records,
plus its candle feeds' status and system notices, to every :class:`RuntimeObserver` it holds
(the journal and the alerts, :mod:`ml_signals.hummingbot.observers`; the replay's results).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ml_signals.decision.engine import Evaluation
from ml_signals.exits import ExitRules
from ml_signals.risk import ClosedTrade, GuardLock, GuardResult
from ml_signals.scoring.score import Score
from ml_signals.scoring.scorer import Scorer
from ml_signals.setups.base import StrategyName

if TYPE_CHECKING:
    from ml_signals.candle_guard_live import CandleGuardSkip
    from ml_signals.hummingbot.model_watch import ModelEvent
    from ml_signals.scoring.shadow import ShadowScore


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
    candle. Keep them fast (queue work elsewhere); an exception is logged by the runtime and
    does not stop trading.
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
