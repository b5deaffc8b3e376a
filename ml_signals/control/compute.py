"""What each command computes from a running :class:`~ml_signals.hummingbot.strategy_runtime.
StrategyRuntime` (freqtrade's ``rpc/rpc.py`` role: compute here, present in the front end).

Called on the tick thread only (:meth:`ml_signals.control.service.ControlService.drain`), so the
runtime's state is read and changed between ticks, never during one. No Hummingbot import:
executors are read through the attributes of Hummingbot's ``ExecutorInfo`` (``id``,
``trading_pair``, ``status``, ``config``, ``custom_info``, ``net_pnl_quote`` ...).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ml_signals.control.answers import (
    ActionAnswer,
    GuardLine,
    PositionLine,
    PositionsAnswer,
    SetupLine,
    StatusAnswer,
    StrategyStatus,
)
from ml_signals.control.commands import Command
from ml_signals.risk import GuardResult
from ml_signals.timeutil import format_utc

if TYPE_CHECKING:  # the runtime module imports Hummingbot; only its type is needed here
    from ml_signals.hummingbot.strategy_runtime import StrategyRuntime


def status(runtime: StrategyRuntime, now_s: float) -> StatusAnswer:
    """``/ml-status``: per strategy the model, its age and decision rule, the last setup per
    pair; then equity and what blocks new entries."""
    strategies = []
    for name, engine in runtime.engines.items():
        scorer = engine.scorer
        trained = scorer.trained_at_s
        gate = (scorer.manifest.get("gate") or {}).get("verdict")
        if scorer.rules_only:
            rule, cut = f"{engine.rule}; exits from the detector", None
        else:
            configured = scorer.config.confidence_threshold
            cut = configured if configured is not None else \
                (scorer.rule.min_rank if scorer.rule is not None else None)
            rule = (f"{engine.rule}; size x0.5-1.5 and exits from the model; gate "
                    f"{gate or 'unknown'}")
        lines = []
        for pair, pair_state in runtime.pairs.items():
            ev = pair_state.evaluations.get(name)
            if ev is None:
                continue
            exits = ev.sized.exits if ev.sized else None
            lines.append(SetupLine(
                pair=pair, setup_id=ev.setup.setup_id, candle_ts_s=int(ev.setup.timestamp),
                confidence=ev.score.confidence,
                take_profit_frac=exits.take_profit_frac if exits else ev.score.take_profit_frac,
                stop_loss_frac=exits.stop_loss_frac if exits else ev.score.stop_loss_frac,
                outcome=pair_state.outcomes.get(name, "pending")))
        lines.sort(key=lambda s: s.candle_ts_s, reverse=True)
        strategies.append(StrategyStatus(
            strategy=name, model_version=scorer.model_version,
            model_age_s=None if scorer.rules_only or trained is None else now_s - trained,
            threshold=cut, decision_rule=rule, last_setups=tuple(lines)))
    state = runtime.state
    return StatusAnswer(
        now_s=now_s, connector=runtime.settings.connector_name,
        interval=runtime.settings.interval, strategies=tuple(strategies),
        blocks=tuple(runtime.entry_blocks()),
        equity_quote=None if state is None else state.equity_quote,
        open_positions=0 if state is None else len(state.open_positions))


def positions(runtime: StrategyRuntime, executors: Sequence[Any], now_s: float) -> PositionsAnswer:
    """``/positions``: this script's executors that are not done, oldest first."""
    rows = []
    for info in executors:
        if info.controller_id not in runtime.engines or info.is_done:
            continue
        entry = _number(info.custom_info.get("current_position_average_price"))
        tp, sl = _barriers(info.config)
        filled = _number(info.filled_amount_quote)
        has_entry = filled > 0 and entry > 0
        rows.append(PositionLine(
            executor_id=str(info.id), strategy=str(info.controller_id),
            pair=str(info.trading_pair), executor_type=str(info.type),
            status=getattr(info.status, "name", str(info.status)), filled_quote=filled,
            entry_price_quote=entry if has_entry else 0.0, take_profit_frac=tp,
            stop_loss_frac=sl,
            take_profit_price_quote=entry * (1 + tp) if has_entry and tp is not None else None,
            stop_loss_price_quote=entry * (1 - sl) if has_entry and sl is not None else None,
            unrealised_pnl_quote=_number(info.net_pnl_quote),
            unrealised_pnl_frac=_number(info.net_pnl_pct), opened_s=float(info.timestamp)))
    rows.sort(key=lambda r: (r.opened_s, r.executor_id))
    return PositionsAnswer(now_s=now_s, positions=tuple(rows))


def guard_lines(runtime: StrategyRuntime, now_s: float) -> tuple[GuardLine, ...]:
    """Every enabled guard's state, in guard order (:data:`ml_signals.risk.GUARD_ORDER`)."""
    ledger = runtime.planner.ledger
    state = runtime.state
    lines = []
    for guard in runtime.planner.risk.guards:
        blocking = None
        if state is not None:
            blocking = guard.blocking_now(state)
        elif (lock := ledger.active_lock(guard.name, int(now_s))) is not None:
            blocking = GuardResult(lock.guard, lock.reason)
        lines.append(GuardLine(name=guard.name, rule=guard.short_desc(),
                               resettable=guard.resettable, lock=ledger.lock(guard.name),
                               blocking=blocking))
    return tuple(lines)


def pause(runtime: StrategyRuntime, command: Command) -> ActionAnswer:
    """``/pause [reason]``: refuse new entries; open executors keep their barriers."""
    already = any(b.guard == "paused" for b in runtime.entry_blocks())
    who = command.user_name or command.user_id
    reason = f"paused by {who} at {format_utc(command.requested_s)}" + (
        f": {command.args}" if command.args else "")
    runtime.pause(reason)
    head = "New entries were already paused; pause renewed." if already else "New entries PAUSED."
    return ActionAnswer("ok", head, (reason, "Open executors keep their take profit, stop loss "
                                            "and time limit; resting entries stay."))


def resume(runtime: StrategyRuntime, command: Command) -> ActionAnswer:
    """``/resume``: lift an operator pause (guards keep blocking if they do)."""
    lifted = runtime.resume()
    if lifted is None:
        return ActionAnswer("ok", "New entries were not paused; nothing changed.",
                            _blocks_left(runtime))
    return ActionAnswer("ok", "New entries RESUMED.",
                        (f"was {lifted.reason}", *_blocks_left(runtime)))


def reset_guard(runtime: StrategyRuntime, command: Command, now_s: float) -> ActionAnswer:
    """``/reset-guard [NAME]``: without a name, list the guards' states; with one, show its
    state first, then lift its lock (kill switch, losing streak).

    Raises:
        CommandError: a malformed name (answered as ``rejected``).
    """
    name = command.guard_name
    before = guard_lines(runtime, now_s)
    if name is None:
        resettable = ", ".join(g.name for g in before if g.resettable) or "none enabled"
        return ActionAnswer("ok", f"Guards (resettable: {resettable}). "
                                  "Run /reset-guard NAME to lift a lock.", guards=before)
    line = next((g for g in before if g.name == name), None)
    if line is None:
        return ActionAnswer("rejected", f"No enabled guard named {name!r}.",
                            (f"Enabled: {', '.join(g.name for g in before)}",))
    if not line.resettable:
        return ActionAnswer("rejected", f"{name} has no lock to reset: it follows the market "
                                        "or the book and lifts by itself.", guards=(line,))
    if line.lock is None:
        return ActionAnswer("ok", f"{name} holds no lock; nothing changed.", guards=(line,))
    lifted = runtime.reset_guard(name, now_s)
    after = next(g for g in guard_lines(runtime, now_s) if g.name == name)
    return ActionAnswer("ok", f"{name} RESET by {command.user_name or command.user_id}.",
                        (f"lifted: {lifted.reason if lifted else 'nothing'}",
                         *_blocks_left(runtime)), guards=(line, after))


def reload_models(runtime: StrategyRuntime, command: Command, now_s: float) -> ActionAnswer:
    """``/reload-models``: check every strategy's published ``current`` now (a new one is
    verified and swapped in between decisions, a broken one refused and the old one kept,
    an artifact refused before retried); :meth:`StrategyRuntime.reload_models`."""
    from ml_signals.hummingbot.model_watch import describe

    events = runtime.reload_models(now_s, force=True)
    who = command.user_name or command.user_id
    if not events:
        return ActionAnswer("ok", f"Models checked by {who}: nothing changed.",
                            tuple(f"{name}: {engine.scorer.model_version}"
                                  for name, engine in runtime.engines.items()))
    return ActionAnswer("ok", f"Models checked by {who}: {len(events)} change(s).",
                        tuple(describe(e) for e in events))


def _blocks_left(runtime: StrategyRuntime) -> tuple[str, ...]:
    blocks = runtime.entry_blocks()
    if not blocks:
        return ("No guard blocks new entries now.",)
    return tuple(f"still blocking: {b.guard}: {b.reason}" for b in blocks)


def _barriers(config: Any) -> tuple[float | None, float | None]:
    """Take profit and stop loss fractions of a Position (triple barrier) or DCA config."""
    source = getattr(config, "triple_barrier_config", None) or config
    tp = getattr(source, "take_profit", None)
    sl = getattr(source, "stop_loss", None)
    return (None if tp is None else _number(tp)), (None if sl is None else _number(sl))


def _number(value: Any) -> float:
    """A Decimal / float field as a finite float, 0.0 when missing or not finite."""
    try:
        number = float(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return 0.0
    return number if math.isfinite(number) else 0.0

