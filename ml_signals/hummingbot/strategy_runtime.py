"""The composition object behind the ``ml_*`` V2 scripts: candles in, executor actions out.

:class:`StrategyRuntime` owns everything a script decides with - the strategy engines
(:class:`~ml_signals.decision.engine.StrategyEngine`), the planner (risk guards, ledger,
orchestration) and the observers (journal, alerts) - and speaks Hummingbot only at its edges:
it reads ``ExecutorInfo`` and returns ``CreateExecutorAction`` / ``StopExecutorAction``. A
script, or a replay driver, calls per clock tick::

    runtime.sync(now_s, executors)                      # fills, closes -> ledger, observers
    creates = runtime.create_actions(now_s, view, executors)   # on newly closed candles only
    stops = runtime.stop_actions(now_s, executors)
    # or all three: runtime.on_tick(now_s, view, executors)

``view`` is a :class:`~.market_view.MarketView`: Hummingbot-format candles (``candles_df``,
forming candle included) and a price per pair; :class:`~.market_view.ProviderMarketView` wraps
a ``MarketDataProvider``. The runtime delegates to:

- :mod:`.candle_decisions` - per-pair state and the evaluations of each newly closed candle
  (when a candle is decided on, skipped as late, warming up or bad, the features);
- :mod:`.executor_book` - the executors it owns: first fills and closes to the observers,
  closed trades to the ledger, realised PnL, stops of unfilled entries;
- :mod:`.runtime_status` - the ``format_status`` text;
- :mod:`.runtime_settings` - its market and timing settings.

It keeps the round itself: the planner's verdict on the evaluations, skips and entries (with
their executor configs, :mod:`.executor_configs`), halts, operator pauses and guard resets, and
the portfolio state the guards see.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Sequence
from typing import Protocol

from hummingbot.data_feed.candles_feed.data_types import CandlesConfig
from hummingbot.strategy_v2.models.executor_actions import (
    CreateExecutorAction,
    ExecutorAction,
    StopExecutorAction,
)
from hummingbot.strategy_v2.models.executors_info import ExecutorInfo

from ml_signals.candle_guard_live import LiveCandleGuard
from ml_signals.decision.engine import Evaluation, StrategyEngine
from ml_signals.decision.events import EntryPlaced, RuntimeNotice, RuntimeObserver
from ml_signals.decision.planner import DecisionPlanner, RoundPlan, entry_cancelling
from ml_signals.hummingbot import executor_configs, model_policy, runtime_status, scoring_faults
from ml_signals.hummingbot.candle_decisions import CandleDecisions, PairState
from ml_signals.hummingbot.executor_book import ExecutorBook
from ml_signals.hummingbot.market_view import MarketView
from ml_signals.hummingbot.model_watch import ModelEvent, ModelRefresh
from ml_signals.hummingbot.runtime_settings import RuntimeSettings
from ml_signals.incremental import IncrementalFeatures
from ml_signals.risk import GuardLock, GuardResult, PortfolioState

log = logging.getLogger(__name__)


class CommandInbox(Protocol):
    """Operator commands waiting for the tick thread (``ml_signals.control.ControlService``)."""

    def drain(self, runtime: StrategyRuntime, now_s: float,
              executors: Sequence[ExecutorInfo]) -> None:
        """Run every queued command against ``runtime`` on the calling (tick) thread."""


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

    Raises:
        ValueError: no engine.
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
        self.inbox: CommandInbox | None = None  # operator commands, drained in sync()
        self._paused: GuardResult | None = None
        self._state: PortfolioState | None = None
        self._blocked: list[GuardResult] = []
        self._halt: GuardResult | None = None
        self._faults = scoring_faults.ScoringFaults(
            settings.max_scoring_failures, lambda notice: self._notify("runtime_notice", notice))
        self.models = models or ModelRefresh()
        self.decisions = CandleDecisions(settings, self.engines, self._faults, self.models,
                                         self._notify)
        self.book = ExecutorBook(self.engines, planner, self._notify)

    # --- set-up ----------------------------------------------------------------------------------

    @property
    def pairs(self) -> dict[str, PairState]:
        """What the runtime knows per trading pair (:class:`~.candle_decisions.PairState`)."""
        return self.decisions.pairs

    @property
    def candle_guard(self) -> LiveCandleGuard:
        """The candle guard of the features' window (:mod:`ml_signals.candle_guard_live`)."""
        return self.decisions.candle_guard

    @property
    def features(self) -> IncrementalFeatures | None:
        """Per-pair incremental feature states; ``None`` with ``incremental_features`` off."""
        return self.decisions.features

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
        self.book.continue_from(realised_quote, last_close_s)

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
        ours = self.book.take_in(now_s, executors)
        open_positions = [self.book.open_position(i) for i in ours if not i.is_done]
        unrealised = sum(float(i.net_pnl_quote) for i in ours if not i.is_done)
        equity = self.settings.capital_quote + self.book.realised_quote + unrealised
        if equity <= 0:
            if self._halt is None:
                self.halt("equity", f"equity {equity:.2f} quote <= 0", now_s)
            equity = 1e-9  # PortfolioState needs > 0; the halt blocks every entry
        self._state = self.planner.snapshot(int(now_s), equity, open_positions,
                                            self.decisions.btc_regime)
        self._blocked = self.planner.blocking_now(self._state)
        if self.inbox is not None:  # operator commands run here, on the tick thread
            self.inbox.drain(self, now_s, executors)
        self._notify("tick", now_s, self.decisions.feeds)
        return self._state

    def create_actions(self, now_s: float, view: MarketView,
                       executors: Sequence[ExecutorInfo]) -> list[CreateExecutorAction]:
        """Executors to create for the candles closed since the last call (usually none)."""
        state = self._state if self._state is not None else self.sync(now_s, executors)
        evaluations = self._faults.apply(self.decisions.evaluate_new_candles(now_s, view))
        if not evaluations:
            return []
        state = self.planner.snapshot(int(now_s), state.equity_quote, state.open_positions,
                                      self.decisions.btc_regime)
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
        blocks = ([self._halt] if self._halt else []) + entry_cancelling(self._blocked)
        return self.book.stop_unfilled(now_s, executors, blocks,
                                       self.settings.cancel_unfilled_after_s)

    # --- the round's outcomes ------------------------------------------------------------------

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
        self.book.placed(config.id, evaluation)
        self.pairs[sized.pair].outcomes[sized.strategy] = f"entry placed: executor {config.id}"
        exits = sized.exits
        log.info("%s: %s executor %s, %.2f quote, TP %.2f%% SL %.2f%% time %d s", sized.setup_id,
                 config.type, config.id, sized.entry.total_quote, 100 * exits.take_profit_frac,
                 100 * exits.stop_loss_frac, exits.time_limit_s)
        self._notify("entry_placed", EntryPlaced(evaluation, config.id, now_s))
        return CreateExecutorAction(controller_id=sized.strategy, executor_config=config)

    def _notify(self, hook: str, *args: object) -> None:
        for observer in self.observers:
            try:
                getattr(observer, hook)(*args)
            except Exception:  # noqa: BLE001 - a journal or alert failure must not stop trading
                log.exception("observer %s.%s failed", type(observer).__name__, hook)


    # --- status --------------------------------------------------------------------------------

    def realised_pnl_quote(self) -> float:
        """Net PnL of the trades closed since start (quote)."""
        return self.book.realised_quote

    def format_status(self, now_s: float, executors: Sequence[ExecutorInfo]) -> str:
        """Per pair: last setup, confidence, TP/SL, outcome, open executors and PnL; then the
        models and their age, equity, and any guard blocking new entries
        (:mod:`.runtime_status`)."""
        return runtime_status.status_text(self, now_s, executors)
