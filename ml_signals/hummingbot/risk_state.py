"""Risk state that survives a restart: the journal's closes and locks back into the runtime.

At start (before the observers start), a script with its journal on reads every closed trade and
guard lock from the journal (:func:`ml_signals.journal.readback.load_risk_history`: the backend
plus the spool's pending rows) and restores its risk ledger (:mod:`ml_signals.risk.restore`):

- only trades of the runtime's own strategies and locks of its own ``scope`` (its strategies,
  comma-separated in :data:`ml_signals.risk.types.STRATEGIES` order) count, so two scripts
  sharing one journal file do not stop each other;
- the trades closed since 00:00 UTC and the last ``history_trades`` trades are appended;
  the newest lock of each guard is set again;
- equity continues from today: the runtime counts today's realised PnL as realised since start
  and the day's start equity is ``capital_quote`` (equity at 00:00 UTC as the restarted bot
  counts it). Positions still open at 00:00 UTC are not journaled with a price, so their
  unrealised PnL at that moment counts as 0.

A journal that cannot be read (backend unreachable, a table missing, a bad row) halts new
entries with a critical system notice: a bot whose kill switch may be latched must not trade
on a blank ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from ml_signals.hummingbot.strategy_runtime import StrategyRuntime
from ml_signals.journal.config import JournalConfig
from ml_signals.journal.journal import make_backend
from ml_signals.journal.readback import RiskHistory, load_risk_history
from ml_signals.journal.spool import Spool
from ml_signals.risk import (
    ClosedTrade,
    GuardLock,
    JournaledClose,
    JournaledLock,
    RestoredRisk,
    history_trades,
    restore_ledger,
    select_closes,
)
from ml_signals.risk.types import STRATEGIES

log = logging.getLogger(__name__)

RESTORE_GUARD = "risk_restore"
"""Halt name when the journal cannot be read at start."""


def scope_of(strategies: Iterable[str]) -> str:
    """``"dca"``, ``"dca,swing,channel"``: the strategies in ``STRATEGIES`` order, joined."""
    names = set(strategies)
    return ",".join(s for s in STRATEGIES if s in names)


def restore_runtime(runtime: StrategyRuntime, history: RiskHistory,
                    now_s: float) -> RestoredRisk:
    """Restore ``runtime``'s ledger and equity from ``history`` (module docstring).

    Raises:
        ValueError: a journaled row does not fit (strategy unknown, lock after ``now_s``).
    """
    strategies = set(runtime.engines)
    closes = [
        JournaledClose(t.trade_id, ClosedTrade(
            t.pair, t.strategy, int(t.closed_s or 0.0), float(t.pnl_quote),  # type: ignore[arg-type]
            float(t.pnl_frac or 0.0), t.setup_id or t.trade_id))
        for t in history.trades if t.strategy in strategies and t.pnl_quote is not None
    ]
    scope = scope_of(strategies)
    locks = [JournaledLock(GuardLock(r.guard, r.reason, r.locked_at_s, r.until_s), r.trade_id)
             for r in history.locks if r.scope == scope]
    ledger = runtime.planner.ledger
    selected = select_closes(closes, int(now_s), history_trades(runtime.planner.risk.config))
    restored = restore_ledger(ledger, selected, locks, int(now_s))
    ledger.set_day_start_equity(int(now_s), runtime.settings.capital_quote)
    if restored.trades:
        runtime.continue_from_journal(restored.realised_today_quote,
                                      restored.trades[-1].closed_at_s)
    stats = ledger.stats(int(now_s))
    log.info("risk state restored from the journal: %d closed trade(s), today's realised PnL "
             "%.2f, losing streak %d, hit rate %s over %d, locks: %s", len(restored.trades),
             restored.realised_today_quote, stats.consecutive_losses,
             "n/a" if stats.recent_hit_rate_frac is None else f"{stats.recent_hit_rate_frac:.2f}",
             stats.recent_trades, ", ".join(lk.guard for lk in restored.locks) or "none")
    return restored


def restore_from_journal(runtime: StrategyRuntime, config: JournalConfig, spool: Spool | None,
                         now_s: float) -> RestoredRisk | None:
    """Read the journal (:func:`~ml_signals.journal.readback.load_risk_history`) and restore
    ``runtime``; on any failure halt new entries (module docstring) and return ``None``."""
    try:
        backend = make_backend(config)
        try:
            history = load_risk_history(backend, spool)
        finally:
            backend.close()
        return restore_runtime(runtime, history, now_s)
    except Exception as exc:  # noqa: BLE001 - any failure halts entries, with the reason
        runtime.halt(RESTORE_GUARD, f"risk state not restored from the {config.backend} journal "
                     f"({type(exc).__name__}: {exc}); fix the journal and restart", now_s)
        return None
