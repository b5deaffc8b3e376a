"""The composition object behind the ``ml_*`` V2 scripts: candles in, executor actions out.

:class:`StrategyRuntime` owns everything a script decides with - per-pair state, the strategy
engines (:class:`~ml_signals.decision.engine.StrategyEngine`), the planner (risk guards, ledger,
orchestration) and the observers (journal, alerts) - and speaks Hummingbot only at its edges:
it reads ``ExecutorInfo`` and returns ``CreateExecutorAction`` / ``StopExecutorAction``. A
script, or a replay driver, calls per clock tick::

    runtime.sync(now_s, executors)                      # fills, closes -> ledger, observers
    creates = runtime.create_actions(now_s, view, executors)   # on newly closed candles only
    stops = runtime.stop_actions(now_s, executors)
    # or all three: runtime.on_tick(now_s, view, executors)

``view`` is a :class:`MarketView`: Hummingbot-format candles (``candles_df``, forming candle
included) and a price per pair. :class:`ProviderMarketView` wraps a ``MarketDataProvider``.

Decisions happen once per closed candle and pair: a candle is processed when
``timestamp + interval + candle_close_delay_s <= now`` (the delay lets the feed take the
candle's last trades) and it is newer than the last processed one; BTC's candle for the same
time must be closed too (features use it). A candle first seen more than
``max_decision_delay_s`` after it closed (start-up, a feed outage) is skipped, logged, so an
entry never acts on a stale signal. Before the features, the candle guard
(:mod:`ml_signals.candle_guard_live`) checks the window they read (the pair's and BTC's last
``lookback_bars`` candles, 704 at 1h): a bad candle there skips the pair's decision, logged once,
counted in :meth:`StrategyRuntime.format_status`, and the observers' ``bad_candles``
(a system alert) runs once per episode. The features come from per-pair states pushed one closed
candle at a time (:class:`~ml_signals.incremental.IncrementalFeatures`, equal to
``compute_features`` on the same frame); a skipped or failed decision drops the pair's state, the
next decision rebuilds it from its window.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Protocol

import pandas as pd
from hummingbot.connector.trading_rule import TradingRule
from hummingbot.core.data_type.common import PriceType
from hummingbot.data_feed.candles_feed.data_types import CandlesConfig
from hummingbot.strategy_v2.models.base import RunnableStatus
from hummingbot.strategy_v2.models.executor_actions import (
    CreateExecutorAction,
    ExecutorAction,
    StopExecutorAction,
)
from hummingbot.strategy_v2.models.executors_info import ExecutorInfo

from ml_signals.candle_guard import DEFAULT_MAX_MOVE_FRAC
from ml_signals.candle_guard_live import LiveCandleGuard
from ml_signals.candles import closed_frame
from ml_signals.decision.engine import Evaluation, StrategyEngine
from ml_signals.decision.events import (
    EntryPlaced,
    ExecutorClosed,
    FeedStatus,
    PositionFilled,
    RuntimeNotice,
    RuntimeObserver,
)
from ml_signals.decision.planner import DecisionPlanner, RoundPlan, entry_cancelling
from ml_signals.features import compute_features, lookback_bars, warmup_bars
from ml_signals.hummingbot import executor_configs, model_policy, scoring_faults
from ml_signals.hummingbot.model_watch import ModelEvent, ModelRefresh
from ml_signals.incremental import IncrementalFeatures
from ml_signals.market_features import MarketState, add_market_row, needs_market
from ml_signals.regime import BtcRegime
from ml_signals.risk import ClosedTrade, GuardLock, GuardResult, OpenPosition, PortfolioState
from ml_signals.setups.base import StrategyName
from ml_signals.timeutil import format_utc

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    """Market and timing settings of a runtime (from the script config).

    Attributes:
        connector_name: trading connector, e.g. ``"kraken_paper_trade"``.
        candles_connector: candles source, e.g. ``"kraken"``.
        trading_pairs: pairs to trade.
        btc_pair: BTC pair for the regime and BTC features (its candles are always fed).
        interval: candle interval name, ``"1h"``; interval_s: its length in seconds.
        max_records: candles kept per feed (<= 720).
        capital_quote: capital the bot manages; equity = capital + realised + unrealised PnL.
        candle_close_delay_s: wait after a candle's close before deciding on it.
        max_decision_delay_s: skip a candle first seen later than this after its close.
        cancel_unfilled_after_s: stop an executor whose entry has not filled after this many
            seconds; ``None``: only the executor's own time limit.
        max_candle_move_frac: candle guard bound on a one-candle move (close-to-close and open
            vs previous close), fraction; 0.50 = 50 %, the original plan's.
        max_scoring_failures: setups in a row a strategy may fail to evaluate before it halts
            (:mod:`.scoring_faults`).
        universe_pairs: extra pairs fed only for the market-state inputs
            (:mod:`ml_signals.market_features`) of a model trained with them; the trading and
            BTC pairs count in the universe too.
        incremental_features: features from per-pair states updated one closed candle at a
            time (:mod:`ml_signals.incremental`, about 0.4 ms per pair and candle); ``False``:
            ``compute_features`` on the whole frame each time (about 10 ms), the reference the
            incremental path is tested against.
    """

    connector_name: str
    candles_connector: str
    trading_pairs: tuple[str, ...]
    btc_pair: str
    interval: str
    interval_s: int
    max_records: int
    capital_quote: float
    candle_close_delay_s: int = 5
    max_decision_delay_s: int = 900
    cancel_unfilled_after_s: int | None = None
    max_candle_move_frac: float = DEFAULT_MAX_MOVE_FRAC
    max_scoring_failures: int = scoring_faults.DEFAULT_MAX_SCORING_FAILURES
    universe_pairs: tuple[str, ...] = ()
    incremental_features: bool = True

    @property
    def feed_pairs(self) -> tuple[str, ...]:
        """Pairs needing a candles feed: the trading pairs, BTC if not among them, then the
        universe pairs not already fed."""
        out = list(self.trading_pairs)
        for pair in (self.btc_pair, *self.universe_pairs):
            if pair not in out:
                out.append(pair)
        return tuple(out)


class MarketView(Protocol):
    """What the runtime reads from the market each tick."""

    def candles(self, pair: str) -> pd.DataFrame:
        """Hummingbot ``candles_df`` of ``pair`` (timestamp seconds, newest last, forming incl.)."""

    def price(self, pair: str) -> float:
        """Current mid price of ``pair`` on the trading connector; NaN when unknown."""


class CommandInbox(Protocol):
    """Operator commands waiting for the tick thread (``ml_signals.control.ControlService``)."""

    def drain(self, runtime: StrategyRuntime, now_s: float,
              executors: Sequence[ExecutorInfo]) -> None:
        """Run every queued command against ``runtime`` on the calling (tick) thread."""


class ProviderMarketView:
    """:class:`MarketView` over a Hummingbot ``MarketDataProvider``.

    Args:
        provider: the strategy's ``market_data_provider`` (Hummingbot's ``MarketDataProvider``,
            which has no type hints: typed ``Any`` here).
        settings: connectors, interval and feed length.
    """

    def __init__(self, provider: Any, settings: RuntimeSettings) -> None:
        self._provider = provider
        self._settings = settings

    def candles(self, pair: str) -> pd.DataFrame:
        """The feed's candles (``MarketDataProvider.get_candles_df``)."""
        s = self._settings
        frame: pd.DataFrame = self._provider.get_candles_df(s.candles_connector, pair,
                                                            s.interval, s.max_records)
        return frame

    def price(self, pair: str) -> float:
        """Mid price on the trading connector, NaN when the book is not available."""
        try:
            value = self._provider.get_price_by_type(
                self._settings.connector_name, pair, PriceType.MidPrice)
        except Exception as exc:  # noqa: BLE001 - no book yet: the caller falls back
            log.debug("%s: no mid price (%s)", pair, exc)
            return math.nan
        return float(value)

    def trading_rule(self, pair: str) -> TradingRule | None:
        """The trading connector's ``TradingRule`` of ``pair``; ``None`` when it has none."""
        try:
            rule: TradingRule | None = self._provider.get_trading_rules(
                self._settings.connector_name, pair)
            return rule
        except (AttributeError, KeyError):
            return None


@dataclass
class PairState:
    """What the runtime knows about one pair (shown by ``format_status``).

    Attributes:
        last_candle_ts: open time of the newest closed candle processed (s), ``None`` before.
        candles: closed candles in the last frame processed.
        evaluations: last setup evaluated per strategy.
        outcomes: what happened to it per strategy (entry placed / skip reason).
        note: the last warning for the pair (warm-up, stale candle, error), ``""`` if none.
    """

    last_candle_ts: int | None = None
    candles: int = 0
    evaluations: dict[str, Evaluation] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    note: str = ""


@dataclass
class _Tracked:
    """Bookkeeping of one executor this runtime created (or found with its controller ids)."""

    evaluation: Evaluation | None
    fill_seen_s: float | None = None
    open_quote: float = 0.0
    stop_requested: bool = False
    closed: bool = False


class StrategyRuntime:
    """Per-pair decisions and executor bookkeeping of one script (see the module docstring).

    Args:
        settings: markets and timing.
        engines: one per strategy the script runs (controller id = strategy name).
        planner: risk guards + ledger (+ orchestrator for several strategies).
        observers: journal / alert hooks, called in order.
        models: hot reload, expiry and shadows of the engines' models, checked once per closed
            candle (:class:`~ml_signals.hummingbot.model_watch.ModelRefresh`); ``None``: models
            fixed at start, no shadows.
    """

    def __init__(self, settings: RuntimeSettings, engines: Sequence[StrategyEngine],
                 planner: DecisionPlanner,
                 observers: Iterable[RuntimeObserver] = (),
                 models: ModelRefresh | None = None) -> None:
        if not engines:
            raise ValueError("a runtime needs at least one strategy engine")
        self.settings = settings
        self.engines: dict[str, StrategyEngine] = {e.strategy: e for e in engines}
        self.planner = planner
        self.observers = list(observers)
        self.pairs = {pair: PairState() for pair in settings.trading_pairs}
        self.inbox: CommandInbox | None = None  # operator commands, drained in sync()
        self._paused: GuardResult | None = None
        self._tracked: dict[str, _Tracked] = {}
        self._realised_quote = 0.0
        self._last_close_s = 0
        self._btc_regime = BtcRegime.NEUTRAL
        self._state: PortfolioState | None = None
        self._blocked: list[GuardResult] = []
        self._halt: GuardResult | None = None
        self._warmup = warmup_bars(settings.interval_s)
        self.candle_guard = LiveCandleGuard(settings.interval_s,
                                            lookback_bars(settings.interval_s),
                                            settings.btc_pair, settings.max_candle_move_frac)
        self.features = (IncrementalFeatures(settings.interval_s, settings.btc_pair)
                         if settings.incremental_features else None)
        self._newest_closed: dict[str, int] = {}
        self._feeds = FeedStatus(settings.interval_s, MappingProxyType(self._newest_closed),
                                      settings.feed_pairs)
        self._faults = scoring_faults.ScoringFaults(
            settings.max_scoring_failures, lambda notice: self._notify("runtime_notice", notice))
        self.models = models or ModelRefresh()

    # --- set-up ----------------------------------------------------------------------------------

    @property
    def controller_ids(self) -> tuple[str, ...]:
        """Executor controller ids this runtime owns (one per strategy)."""
        return tuple(self.engines)

    def candles_configs(self) -> list[CandlesConfig]:
        """Candles feeds to start: every trading pair, the BTC pair and the universe pairs."""
        s = self.settings
        return [CandlesConfig(connector=s.candles_connector, trading_pair=pair,
                              interval=s.interval, max_records=s.max_records)
                for pair in s.feed_pairs]

    def start(self, now_s: float) -> None:
        """Start the observers (journal, alert threads), then announce the models in use: the
        log, and a system notice for a strategy without a model (rules-only or skipping)."""
        self._notify("start")
        for strategy, engine in self.engines.items():
            mode = model_policy.mode_of(engine.scorer)
            text = model_policy.describe(engine.scorer)
            log.log(logging.INFO if mode == "model" else logging.WARNING, "%s: %s", strategy, text)
            self._notify("model_in_use", strategy, engine.scorer, now_s)
            if mode != "model":
                self._notify("runtime_notice", RuntimeNotice(
                    title=f"{strategy}: {'no new entries' if mode == 'skip' else 'rules-only'}",
                    detail=text, occurred_s=now_s, key=f"model-mode:{strategy}:{int(now_s)}",
                    severity="warning"))
        self.models.start(self.engines)

    def continue_from_journal(self, realised_quote: float, last_close_s: int) -> None:
        """Continue from journaled closes (:mod:`.risk_state`): ``realised_quote`` counts in
        equity as if realised since start; closes older than ``last_close_s`` are not
        expected (the ledger takes closes in time order)."""
        self._realised_quote = realised_quote
        self._last_close_s = max(self._last_close_s, last_close_s)

    def reload_models(self, now_s: float, force: bool = True) -> list[ModelEvent]:
        """Check every strategy's published model now (the control layer's reload command;
        call on the tick thread, between decisions): a new ``current`` is loaded, verified and
        swapped in, a broken one refused, an expired one retired, each reported to the
        observers' ``model_event`` hook. ``force`` retries an artifact refused before.
        Returns the events (empty without a model watcher or when nothing changed)."""
        return self.models.reload(self.engines, now_s, self._notify, force)

    def close(self) -> None:
        """Close the observers (journal, alerts): call once when the strategy stops."""
        self._notify("close")

    def halt(self, guard: str, reason: str, now_s: float | None = None) -> None:
        """Refuse every new entry from now on (e.g. a connector executors cannot trade on),
        with a critical system notice; ``now_s`` (default: the wall clock) dates it."""
        self._halt = GuardResult(guard, reason)
        log.error("new entries halted: %s: %s", guard, reason)
        at_s = time.time() if now_s is None else now_s
        self._notify("runtime_notice", RuntimeNotice(
            title="new entries halted", detail=f"{guard}: {reason}", occurred_s=at_s,
            key=f"halt:{guard}:{int(at_s)}", severity="critical"))

    # --- operator actions (ml_signals.control, on the tick thread) ------------------------------

    def pause(self, reason: str) -> None:
        """Refuse new entries until :meth:`resume`; open executors keep their own exits and
        resting entries stay (unlike :meth:`halt`)."""
        self._paused = GuardResult("paused", reason)
        log.warning("new entries paused: %s", reason)

    def resume(self) -> GuardResult | None:
        """Lift :meth:`pause`; returns the pause lifted (``None`` when not paused)."""
        paused, self._paused = self._paused, None
        if paused is not None:
            log.warning("new entries resumed (was: %s)", paused.reason)
        return paused

    def reset_guard(self, name: str, now_s: float) -> GuardLock | None:
        """Operator reset of risk guard ``name`` (:meth:`ml_signals.risk.RiskManager.reset`);
        returns the lock lifted. Raises ValueError for a guard that is not enabled."""
        lock = self.planner.risk.reset(self.planner.ledger, name, int(now_s))
        if self._state is not None:
            self._blocked = self.planner.blocking_now(self._state)
        return lock

    def entry_blocks(self) -> list[GuardResult]:
        """What stops new entries now: a halt, an operator pause, then the guards that block
        every entry (as of the last :meth:`sync`)."""
        return ([b for b in (self._halt, self._paused) if b is not None] + self._blocked
                + self._faults.halts())

    @property
    def state(self) -> PortfolioState | None:
        """The portfolio state of the last :meth:`sync` (``None`` before the first)."""
        return self._state

    # --- per tick ------------------------------------------------------------------------------

    def on_tick(self, now_s: float, view: MarketView,
                executors: Sequence[ExecutorInfo]) -> list[ExecutorAction]:
        """:meth:`sync`, then :meth:`create_actions` and :meth:`stop_actions`."""
        self.sync(now_s, executors)
        actions: list[ExecutorAction] = list(self.create_actions(now_s, view, executors))
        actions.extend(self.stop_actions(now_s, executors))
        return actions

    def sync(self, now_s: float, executors: Sequence[ExecutorInfo]) -> PortfolioState:
        """Take fills and closes of our executors into the ledger; mark equity; return the state.

        Each executor closed since the last call becomes a ``ClosedTrade`` (if anything filled)
        recorded in close-time order; guards may lock on it. Then the observers' ``tick`` runs
        (scheduled reports, candle watchdog): scripts call this every tick, feeds ready or not.
        """
        ours = self._ours(executors)
        for info in ours:
            self._observe_fill(info, now_s)
        done = sorted((i for i in ours if i.is_done and not self._track(i).closed),
                      key=lambda i: i.close_timestamp or now_s)
        for info in done:
            self._close(info, now_s)
        open_positions = [self._open_position(i) for i in ours if not i.is_done]
        unrealised = sum(float(i.net_pnl_quote) for i in ours if not i.is_done)
        equity = self.settings.capital_quote + self._realised_quote + unrealised
        if equity <= 0:
            if self._halt is None:
                self.halt("equity", f"equity {equity:.2f} quote <= 0", now_s)
            equity = 1e-9  # PortfolioState needs > 0; the halt blocks every entry
        self._state = self.planner.snapshot(int(now_s), equity, open_positions, self._btc_regime)
        self._blocked = self.planner.blocking_now(self._state)
        if self.inbox is not None:  # operator commands run here, on the tick thread
            self.inbox.drain(self, now_s, executors)
        self._notify("tick", now_s, self._feeds)
        return self._state

    def create_actions(self, now_s: float, view: MarketView,
                       executors: Sequence[ExecutorInfo]) -> list[CreateExecutorAction]:
        """Executors to create for the candles closed since the last call (usually none)."""
        state = self._state if self._state is not None else self.sync(now_s, executors)
        evaluations = self._faults.apply(self._evaluate_new_candles(now_s, view))
        if not evaluations:
            return []
        state = self.planner.snapshot(int(now_s), state.equity_quote, state.open_positions,
                                      self._btc_regime)
        stop = self._halt or self._paused
        if stop is not None:
            plan = RoundPlan((), tuple((e, e.skip or stop) for e in evaluations))
        else:
            plan = self.planner.plan(state, evaluations)
        for evaluation, reason in plan.skipped:
            self._skip(evaluation, reason, now_s)
        actions = []
        for evaluation in plan.entries:
            try:
                actions.append(self._create(evaluation, now_s, view))
            except executor_configs.BelowTradingRules as exc:  # the exchange would refuse it
                self._skip(evaluation, GuardResult("trading_rules", str(exc)), now_s)
        return actions

    def stop_actions(self, now_s: float,
                     executors: Sequence[ExecutorInfo]) -> list[StopExecutorAction]:
        """Stop entries that have not filled: after ``cancel_unfilled_after_s``, or at once while
        a guard of :data:`ml_signals.decision.planner.CANCEL_ENTRIES_GUARDS` blocks or the
        runtime is halted. Filled positions keep their own exits."""
        limit = self.settings.cancel_unfilled_after_s
        blocks = ([self._halt] if self._halt else []) + entry_cancelling(self._blocked)
        actions = []
        for info in self._ours(executors):
            tracked = self._track(info)
            if (info.status != RunnableStatus.RUNNING or tracked.stop_requested
                    or float(info.filled_amount_quote) > 0):
                continue
            expired = limit is not None and now_s - info.timestamp >= limit
            if blocks or expired:
                tracked.stop_requested = True
                why = ("entry not filled in time" if expired else "new entries blocked by "
                       + "; ".join(f"{b.guard}: {b.reason}" for b in blocks))
                log.info("stopping executor %s (%s): %s", info.id, info.config.level_id, why)
                actions.append(StopExecutorAction(controller_id=info.controller_id,
                                                  executor_id=info.id, keep_position=False))
        return actions

    # --- decisions -----------------------------------------------------------------------------

    def _evaluate_new_candles(self, now_s: float, view: MarketView) -> list[Evaluation]:
        s = self.settings
        decided_until = now_s - s.candle_close_delay_s
        # open time of the newest candle that can be closed now: nothing to read before it
        due = (int(decided_until) // s.interval_s - 1) * s.interval_s
        if all(st.last_candle_ts is not None and st.last_candle_ts >= due
               for st in self.pairs.values()):
            return []
        self.models.on_candle(due, self.engines, now_s, self._notify)
        btc = self._closed(view, s.btc_pair, decided_until)
        if btc is None or len(btc) == 0:
            return []
        btc_last = int(btc["timestamp"].iloc[-1])
        self._saw(s.btc_pair, btc_last)
        market, market_note = self._market_state(view, decided_until)
        evaluations: list[Evaluation] = []
        for pair, state in self.pairs.items():
            frame = btc if pair == s.btc_pair else self._closed(view, pair, decided_until)
            if frame is None or len(frame) == 0:
                continue
            last = int(frame["timestamp"].iloc[-1])
            self._saw(pair, last)
            if state.last_candle_ts is not None and last <= state.last_candle_ts:
                continue
            if btc_last < last:
                continue  # BTC's candle for this time is not in yet: decide on a later tick
            state.last_candle_ts, state.candles = last, len(frame)
            late_s = now_s - (last + s.interval_s)
            if late_s > s.max_decision_delay_s:
                state.note = (f"candle {format_utc(last)} seen {late_s:.0f} s after its close: "
                              "skipped")
                log.info("%s: %s", pair, state.note)
                continue
            if len(frame) <= self._warmup:
                state.note = f"warming up: {len(frame)} of {self._warmup + 1} candles"
                continue
            if self._guard_candles(pair, state, frame, btc, now_s):
                continue
            if market_note:
                state.note = market_note  # a model reads market inputs the feeds cannot give
                continue
            evaluations.extend(self._evaluate_pair(pair, state, frame, btc, now_s, market))
        return evaluations

    def _market_state(self, view: MarketView, until_s: float) -> tuple[MarketState | None, str]:
        """Market state over every fed pair's closed candles when a loaded model reads it, and
        ``""``; ``(None, "")`` when none does; ``(None, reason)`` (logged) when one does but
        too few pairs have candles: those candles are skipped, never scored on NaN."""
        if not any(needs_market(e.scorer.input_columns) for e in self.engines.values()):
            return None, ""
        frames = {}
        for pair in self.settings.feed_pairs:
            frame = self._closed(view, pair, until_s)
            if frame is not None and len(frame):
                frames[pair] = frame[["timestamp", "close"]]
        try:
            return MarketState(frames), ""
        except ValueError as exc:
            note = f"decision skipped: market features unavailable ({exc}; set universe_pairs)"
            log.warning(note)
            return None, note

    def _guard_candles(self, pair: str, state: PairState, frame: pd.DataFrame, btc: pd.DataFrame,
                     now_s: float) -> bool:
        """True (decision skipped, noted, alerted once per episode) when the candle guard finds
        a bad candle in the window the features would read."""
        last = frame["timestamp"].iat[-1]
        reference = None if pair == self.settings.btc_pair else btc[btc["timestamp"] <= last]
        skip = self.candle_guard.check(pair, frame, reference, now_s)
        if skip is None:
            return False
        if self.features is not None:  # rebuilt from the window once it is clean
            self.features.reset(skip.bad_pair)
        state.note = f"decision skipped: bad candle {skip.bad.when} ({skip.bad.rule})"
        if skip.episode_start:
            self._notify("bad_candles", skip)
        return True

    def _saw(self, pair: str, candle_ts: int) -> None:
        """Note the newest closed candle read from ``pair``'s feed (for the observers' tick)."""
        if candle_ts > self._newest_closed.get(pair, candle_ts - 1):
            self._newest_closed[pair] = candle_ts

    def _closed(self, view: MarketView, pair: str, until_s: float) -> pd.DataFrame | None:
        """Closed candles of ``pair``, or ``None`` (logged once per problem) when the feed
        cannot give them."""
        try:
            return closed_frame(view.candles(pair), self.settings.interval_s, until_s)
        except Exception as exc:  # noqa: BLE001 - a bad or missing feed skips the pair
            note = f"candles unavailable: {exc}"
            if self.features is not None:
                self.features.reset(pair)
            state = self.pairs.get(pair)
            if state is None or state.note != note:
                log.warning("%s: %s", pair, note)
            if state is not None:
                state.note = note
            return None

    def _evaluate_pair(self, pair: str, state: PairState, frame: pd.DataFrame,
                       btc: pd.DataFrame, now_s: float,
                       market: MarketState | None = None) -> list[Evaluation]:
        s = self.settings
        try:
            last = frame["timestamp"].iat[-1]
            reference = None if pair == s.btc_pair else btc[btc["timestamp"] <= last]
            if self.features is not None:
                features = self.features.features(pair, frame, reference)
            else:
                features = compute_features(frame, reference, s.interval_s)
            if market is not None:
                features = add_market_row(features, market, pair,
                                          int(frame["timestamp"].to_numpy("int64")[-1]))
            regime = features["btc_regime"].iloc[-1]
            if not math.isnan(regime):
                self._btc_regime = BtcRegime(int(regime))
            found = []
            for strategy, engine in self.engines.items():
                evaluation = self._faults.evaluate(engine, pair, frame, features, now_s)
                if evaluation is not None:
                    state.evaluations[strategy] = evaluation
                    found.append(evaluation)
                    self.models.shadow(engine, evaluation, features.iloc[-1], now_s,
                                       self._notify, frame)
        except Exception as exc:  # noqa: BLE001 - logged safe skip of this pair's candle
            if self.features is not None:
                self.features.reset(pair)
            state.note = f"error on candle {format_utc(int(frame['timestamp'].iloc[-1]))}: {exc}"
            log.exception("%s: decision failed; candle skipped", pair)
            return []
        state.note = ""
        return found

    def _skip(self, evaluation: Evaluation, reason: GuardResult, now_s: float) -> None:
        setup = evaluation.setup
        outcome = f"skipped: {reason.guard}: {reason.reason}"
        self.pairs[setup.pair].outcomes[setup.strategy] = outcome
        log.info("%s skipped: %s: %s", setup.setup_id, reason.guard, reason.reason)
        self._notify("setup_skipped", evaluation, reason, now_s)

    def _create(self, evaluation: Evaluation, now_s: float,
                view: MarketView) -> CreateExecutorAction:
        sized = evaluation.sized
        assert sized is not None  # the planner only returns taken setups
        price = view.price(sized.pair)
        if not (math.isfinite(price) and price > 0):
            price = evaluation.setup.reference_price  # no book yet: size on the candle close
        rule_of = getattr(view, "trading_rule", None)  # quantize on the connector's rules
        config = executor_configs.executor_config(sized, self.settings.connector_name, now_s, price,
                                                  rule_of(sized.pair) if rule_of else None)
        self._tracked[config.id] = _Tracked(evaluation)
        self.pairs[sized.pair].outcomes[sized.strategy] = f"entry placed: executor {config.id}"
        exits = sized.exits
        log.info("%s: %s executor %s, %.2f quote, TP %.2f%% SL %.2f%% time %d s", sized.setup_id,
                 config.type, config.id, sized.entry.total_quote, 100 * exits.take_profit_frac,
                 100 * exits.stop_loss_frac, exits.time_limit_s)
        self._notify("entry_placed", EntryPlaced(evaluation, config.id, now_s))
        return CreateExecutorAction(controller_id=sized.strategy, executor_config=config)

    # --- executor bookkeeping ------------------------------------------------------------------

    def _ours(self, executors: Sequence[ExecutorInfo]) -> list[ExecutorInfo]:
        return [i for i in executors if i.controller_id in self.engines]

    def _track(self, info: ExecutorInfo) -> _Tracked:
        return self._tracked.setdefault(info.id, _Tracked(None))

    def _observe_fill(self, info: ExecutorInfo, now_s: float) -> None:
        tracked = self._track(info)
        filled = float(info.filled_amount_quote)
        if filled <= 0 or tracked.closed:
            return
        if info.close_type is None:  # before any close fill, filled quote is the entry size
            tracked.open_quote = max(tracked.open_quote, filled)
        if tracked.fill_seen_s is not None:
            return
        tracked.fill_seen_s = now_s
        entry = _decimal_field(info, "current_position_average_price")
        amount_quote = tracked.open_quote or filled
        evaluation = tracked.evaluation
        self._notify("position_filled", PositionFilled(
            executor_id=info.id, setup_id=info.config.level_id or info.id,
            strategy=self._strategy_of(info), pair=info.trading_pair, entry_price_quote=entry,
            amount_quote=amount_quote, amount_base=amount_quote / entry if entry > 0 else 0.0,
            filled_s=now_s, score=evaluation.score if evaluation else None,
            exits=evaluation.sized.exits if evaluation and evaluation.sized else None,
        ))

    def _close(self, info: ExecutorInfo, now_s: float) -> None:
        tracked = self._track(info)
        tracked.closed = True
        strategy = self._strategy_of(info)
        setup_id = info.config.level_id or info.id
        closed_s = max(float(info.close_timestamp or now_s), float(self._last_close_s))
        pnl = float(info.net_pnl_quote)
        entry = _decimal_field(info, "current_position_average_price")
        open_quote = tracked.open_quote or _open_quote_from_pnl(info)
        trade = None
        if float(info.filled_amount_quote) > 0:
            trade = ClosedTrade(info.trading_pair, strategy, int(closed_s), pnl,
                                float(info.net_pnl_pct), setup_id)
            self._realised_quote += pnl
            self._last_close_s = int(closed_s)
        event = ExecutorClosed(
            executor_id=info.id, setup_id=setup_id, strategy=strategy, pair=info.trading_pair,
            close_type=info.close_type.name if info.close_type else "UNKNOWN", trade=trade,
            entry_price_quote=entry, exit_price_quote=_decimal_field(info, "close_price"),
            amount_quote=open_quote, amount_base=open_quote / entry if entry > 0 else 0.0,
            fees_quote=float(info.cum_fees_quote),
            opened_s=tracked.fill_seen_s if tracked.fill_seen_s is not None else info.timestamp,
            closed_s=closed_s,
        )
        log.info("%s closed (%s): pnl %.2f quote", setup_id, event.close_type, pnl)
        locks = self.planner.record_close(trade) if trade is not None else []
        self._notify("executor_closed", event)
        for lock in locks:
            log.warning("guard %s locked: %s", lock.guard, lock.reason)
            self._notify("guard_locked", lock)

    def _open_position(self, info: ExecutorInfo) -> OpenPosition:
        committed = executor_configs.committed_quote(info.config)
        return OpenPosition(info.trading_pair, self._strategy_of(info), committed,
                            int(info.timestamp), info.config.level_id or info.id)

    def _strategy_of(self, info: ExecutorInfo) -> StrategyName:
        return self.engines[str(info.controller_id)].strategy

    def _notify(self, hook: str, *args: object) -> None:
        for observer in self.observers:
            try:
                getattr(observer, hook)(*args)
            except Exception:  # noqa: BLE001 - a journal or alert failure must not stop trading
                log.exception("observer %s.%s failed", type(observer).__name__, hook)

    # --- status --------------------------------------------------------------------------------

    def realised_pnl_quote(self) -> float:
        """Net PnL of the trades closed since start (quote)."""
        return self._realised_quote

    def format_status(self, now_s: float, executors: Sequence[ExecutorInfo]) -> str:
        """Per pair: last setup, confidence, TP/SL, outcome, open executors and PnL; then the
        models and their age, equity, and any guard blocking new entries."""
        ours = self._ours(executors)
        lines = [f"ML strategies {', '.join(self.engines)} on {self.settings.connector_name} "
                 f"({self.settings.interval} candles from {self.settings.candles_connector})"]
        for pair, state in self.pairs.items():
            infos = [i for i in ours if i.trading_pair == pair]
            lines.extend(self._pair_status(pair, state, infos))
        lines.append(self.candle_guard.summary_line())
        lines.append("Models:")
        for strategy, engine in self.engines.items():
            lines.append(f"  {strategy}: {_model_line(engine, now_s)}")
        lines.extend(f"  {note}" for note in self.models.notes)
        st = self._state
        if st is not None:
            unrealised = st.equity_quote - self.settings.capital_quote - self._realised_quote
            capital = self.settings.capital_quote
            lines.append(f"Equity {st.equity_quote:.2f} (capital {capital:.2f}, "
                         f"realised {self._realised_quote:+.2f}, unrealised {unrealised:+.2f}); "
                         f"open {len(st.open_positions)} positions, "
                         f"{st.open_exposure_quote:.2f} committed; BTC regime {st.btc_regime.name}")
        blocks = self.entry_blocks()
        if blocks:
            lines.append("Blocking new entries:")
            lines.extend(f"  {b.guard}: {b.reason}" for b in blocks)
        else:
            lines.append("No guard is blocking new entries.")
        return "\n".join(lines)

    def _pair_status(self, pair: str, state: PairState,
                     infos: list[ExecutorInfo]) -> list[str]:
        last = format_utc(state.last_candle_ts) if state.last_candle_ts is not None else "none yet"
        lines = [f"{pair}: last closed candle {last}, {state.candles} candles"
                 + (f" ({state.note})" if state.note else "")]
        guard_line = self.candle_guard.status_line(pair)
        if guard_line is not None:
            lines.append(f"  {guard_line}")
        for strategy, ev in state.evaluations.items():
            conf = "rules-only" if ev.score.confidence is None else f"{ev.score.confidence:.2f}"
            exits = ev.sized.exits if ev.sized else None
            tp = exits.take_profit_frac if exits else ev.score.take_profit_frac
            sl = exits.stop_loss_frac if exits else ev.score.stop_loss_frac
            lines.append(f"  {strategy}: setup {ev.setup.setup_id} "
                         f"({format_utc(ev.setup.timestamp)}) "
                         f"confidence {conf} TP {tp:.2%} SL {sl:.2%} -> "
                         f"{state.outcomes.get(strategy, 'pending')}")
        realised = sum(float(i.net_pnl_quote) for i in infos if i.is_done)
        unrealised = sum(float(i.net_pnl_quote) for i in infos if not i.is_done)
        active = [i for i in infos if not i.is_done]
        for i in active:
            lines.append(f"  executor {i.id} {i.type} {i.status.name}: filled "
                         f"{float(i.filled_amount_quote):.2f} quote, "
                         f"pnl {float(i.net_pnl_quote):+.2f}")
        lines.append(f"  open executors {len(active)}; pnl realised {realised:+.2f} "
                     f"(executors still listed), unrealised {unrealised:+.2f}")
        return lines


def _model_line(engine: StrategyEngine, now_s: float) -> str:
    scorer = engine.scorer
    if model_policy.mode_of(scorer) != "model":
        return model_policy.describe(scorer)
    trained = scorer.trained_at_s
    age = "unknown age" if trained is None else f"age {(now_s - trained) / 86400:.1f} days"
    return f"{scorer.model_version}, {age}, {engine.rule}"


def _decimal_field(info: ExecutorInfo, key: str) -> float:
    """A price from ``custom_info`` as float, 0.0 when missing or not finite."""
    value = info.custom_info.get(key)
    try:
        number = float(Decimal(str(value)))
    except (ArithmeticError, ValueError, TypeError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _open_quote_from_pnl(info: ExecutorInfo) -> float:
    """Entry size of an executor whose fills were never seen open: ``net_pnl / net_pnl_pct``
    (both executors define the pct on the entry amount); 0 when the pct is 0."""
    pct = float(info.net_pnl_pct)
    return float(info.net_pnl_quote) / pct if pct else 0.0
