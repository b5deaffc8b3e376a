"""The executors a :class:`~.strategy_runtime.StrategyRuntime` owns, as its observers and ledger
see them.

Hummingbot reports every executor as an ``ExecutorInfo`` each tick; :class:`ExecutorBook` keeps
what those records do not: the evaluation an executor was placed for, when its first fill was
seen, its entry size before closing fills, whether its close was taken in and whether a stop was
asked. From that it reports each first fill (``position_filled``) and each close
(``executor_closed``, then ``guard_locked`` for each lock the closed trade sets) exactly once,
feeds the closed trades to the planner's risk ledger in close-time order, and counts the
realised PnL. An executor is ours when its controller id is one of the runtime's strategies.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from hummingbot.strategy_v2.models.base import RunnableStatus
from hummingbot.strategy_v2.models.executor_actions import StopExecutorAction
from hummingbot.strategy_v2.models.executors_info import ExecutorInfo

from ml_signals.decision.engine import Evaluation, StrategyEngine
from ml_signals.decision.events import ExecutorClosed, PositionFilled
from ml_signals.decision.planner import DecisionPlanner
from ml_signals.hummingbot import executor_configs
from ml_signals.hummingbot.model_watch import Notify
from ml_signals.risk import ClosedTrade, GuardResult, OpenPosition
from ml_signals.setups.base import StrategyName

log = logging.getLogger(__name__)


@dataclass
class _Tracked:
    """Bookkeeping of one executor this runtime created (or found with its controller id)."""

    evaluation: Evaluation | None
    fill_seen_s: float | None = None
    open_quote: float = 0.0
    stop_requested: bool = False
    closed: bool = False


class ExecutorBook:
    """Bookkeeping of the runtime's executors (module docstring).

    Args:
        engines: the runtime's engines by strategy, which is also the executors' controller id
            (read, never replaced).
        planner: its ledger takes every closed trade; its guards may lock on it.
        notify: the runtime's observer call, ``notify(hook_name, *args)``.

    Attributes:
        realised_quote: net PnL of the trades closed since start (quote), plus what
            :meth:`continue_from` carried over from the journal.
        last_close_s: close time of the newest closed trade taken in (s); later closes are
            dated no earlier (the ledger takes closes in time order).
    """

    def __init__(self, engines: Mapping[str, StrategyEngine], planner: DecisionPlanner,
                 notify: Notify) -> None:
        self._engines = engines
        self._planner = planner
        self._notify = notify
        self._tracked: dict[str, _Tracked] = {}
        self.realised_quote = 0.0
        self.last_close_s = 0

    def continue_from(self, realised_quote: float, last_close_s: int) -> None:
        """Carry journaled closes over (:mod:`.risk_state`): ``realised_quote`` replaces the
        realised PnL; ``last_close_s`` only moves the newest close time forward."""
        self.realised_quote = realised_quote
        self.last_close_s = max(self.last_close_s, last_close_s)

    def ours(self, executors: Sequence[ExecutorInfo]) -> list[ExecutorInfo]:
        """The executors among ``executors`` whose controller is one of the strategies."""
        return [i for i in executors if i.controller_id in self._engines]

    def placed(self, executor_id: str, evaluation: Evaluation) -> None:
        """Remember the evaluation an executor was just created for (its fill and close events
        carry the score and exits)."""
        self._tracked[executor_id] = _Tracked(evaluation)

    def take_in(self, now_s: float, executors: Sequence[ExecutorInfo]) -> list[ExecutorInfo]:
        """Report first fills, then closes in close-time order (each once, closed trades to the
        ledger); returns our executors among ``executors``."""
        ours = self.ours(executors)
        for info in ours:
            self._observe_fill(info, now_s)
        done = sorted((i for i in ours if i.is_done and not self._track(i).closed),
                      key=lambda i: i.close_timestamp or now_s)
        for info in done:
            self._close(info, now_s)
        return ours

    def open_position(self, info: ExecutorInfo) -> OpenPosition:
        """The risk guards' view of a running executor: its full committed quote."""
        committed = executor_configs.committed_quote(info.config)
        return OpenPosition(info.trading_pair, self._strategy_of(info), committed,
                            int(info.timestamp), info.config.level_id or info.id)

    def stop_unfilled(self, now_s: float, executors: Sequence[ExecutorInfo],
                      blocks: Sequence[GuardResult],
                      cancel_after_s: int | None) -> list[StopExecutorAction]:
        """Stop our running executors with no fill yet: every one while ``blocks`` is not
        empty, else those placed ``cancel_after_s`` or more seconds ago (``None``: never).
        Each executor is asked to stop once."""
        actions = []
        for info in self.ours(executors):
            tracked = self._track(info)
            if (info.status != RunnableStatus.RUNNING or tracked.stop_requested
                    or float(info.filled_amount_quote) > 0):
                continue
            expired = cancel_after_s is not None and now_s - info.timestamp >= cancel_after_s
            if blocks or expired:
                tracked.stop_requested = True
                why = ("entry not filled in time" if expired else "new entries blocked by "
                       + "; ".join(f"{b.guard}: {b.reason}" for b in blocks))
                log.info("stopping executor %s (%s): %s", info.id, info.config.level_id, why)
                actions.append(StopExecutorAction(controller_id=info.controller_id,
                                                  executor_id=info.id, keep_position=False))
        return actions

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
        closed_s = max(float(info.close_timestamp or now_s), float(self.last_close_s))
        pnl = float(info.net_pnl_quote)
        entry = _decimal_field(info, "current_position_average_price")
        open_quote = tracked.open_quote or _open_quote_from_pnl(info)
        trade = None
        if float(info.filled_amount_quote) > 0:
            trade = ClosedTrade(info.trading_pair, strategy, int(closed_s), pnl,
                                float(info.net_pnl_pct), setup_id)
            self.realised_quote += pnl
            self.last_close_s = int(closed_s)
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
        locks = self._planner.record_close(trade) if trade is not None else []
        self._notify("executor_closed", event)
        for lock in locks:
            log.warning("guard %s locked: %s", lock.guard, lock.reason)
            self._notify("guard_locked", lock)

    def _strategy_of(self, info: ExecutorInfo) -> StrategyName:
        return self._engines[str(info.controller_id)].strategy


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
