"""Restore a risk ledger from journaled closes and locks, so a restart keeps the guards' state.

What the guards read and how it comes back (:class:`~ml_signals.risk.ledger.TradeLedger`):

- the kill switch's hit-rate window and the losing streak: the last ``history_trades(config)``
  closed trades (the larger of ``kill_switch_window_trades`` and ``consecutive_losses``) are
  appended in close order. A streak lock restarted the streak when it was set, so the streak is
  restarted again after the trade that set the journaled lock (its ``trade_id``);
- today's realised PnL (daily-loss stop, ``daily_loss_includes_unrealised=False``): every trade
  closed since 00:00 UTC is appended too;
- the locks themselves: the newest journaled lock of each guard is set again, expired or not,
  as the live ledger holds it (the kill switch latches until an operator reset; a streak lock
  lifts at its ``until_s``). Locks are not re-derived from the trades: a lock is only set by the
  close that trips it, and the guards must not trip twice on one close.

The guards are not called here: no lock is set, no alert sent. Day-start equity is the caller's
(:meth:`~ml_signals.risk.ledger.TradeLedger.set_day_start_equity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ml_signals.risk.config import RiskConfig
from ml_signals.risk.consecutive_losses import ConsecutiveLossesGuard
from ml_signals.risk.ledger import TradeLedger
from ml_signals.risk.types import ClosedTrade, GuardLock, utc_day


@dataclass(frozen=True, slots=True)
class JournaledClose:
    """A closed trade read back from the journal.

    Attributes:
        trade_id: executor id (the journal's ``trades.trade_id``).
        trade: the closed trade as the ledger takes it.
    """

    trade_id: str
    trade: ClosedTrade


@dataclass(frozen=True, slots=True)
class JournaledLock:
    """A guard lock read back from the journal.

    Attributes:
        lock: the lock as the guard set it.
        trade_id: executor id of the close that set it; ``None`` when unknown.
    """

    lock: GuardLock
    trade_id: str | None


@dataclass(frozen=True, slots=True)
class RestoredRisk:
    """What :func:`restore_ledger` put back.

    Attributes:
        trades: closed trades appended, in close order.
        locks: locks set again, one per guard.
        realised_today_quote: PnL (quote) of the appended trades closed on the UTC day of
            ``now_s``.
    """

    trades: tuple[ClosedTrade, ...]
    locks: tuple[GuardLock, ...]
    realised_today_quote: float


def history_trades(config: RiskConfig) -> int:
    """Closed trades the kill switch and the losing-streak stop look back on: the larger of
    ``kill_switch_window_trades`` and ``consecutive_losses`` (each when its guard is on; 0 when
    both are off)."""
    sizes = [0]
    if config.kill_switch_min_hit_rate_frac is not None:
        sizes.append(config.kill_switch_window_trades)
    if config.consecutive_losses is not None:
        sizes.append(config.consecutive_losses)
    return max(sizes)


def select_closes(closes: Sequence[JournaledClose], now_s: int,
                  last_n: int) -> list[JournaledClose]:
    """The closes to replay: the last ``last_n`` closed at or before ``now_s`` plus every one
    closed on the UTC day of ``now_s``, in the order given (close order)."""
    past = [c for c in closes if c.trade.closed_at_s <= now_s]
    keep_from = max(len(past) - last_n, 0)
    today = utc_day(now_s)
    return [c for i, c in enumerate(past)
            if i >= keep_from or utc_day(c.trade.closed_at_s) == today]


def restore_ledger(ledger: TradeLedger, closes: Sequence[JournaledClose],
                   locks: Sequence[JournaledLock], now_s: int) -> RestoredRisk:
    """Append ``closes`` (already selected, in close order) and set the newest lock per guard
    of ``locks`` (module docstring).

    Raises:
        ValueError: ``closes`` out of time order, or a lock in the future of ``now_s``.
    """
    streak_resets = {j.trade_id for j in locks
                     if j.lock.guard == ConsecutiveLossesGuard.name and j.trade_id}
    today = utc_day(now_s)
    realised_today = 0.0
    for close in closes:
        ledger.append_closed(close.trade)
        if close.trade_id in streak_resets:
            ledger.reset_loss_streak()
        if utc_day(close.trade.closed_at_s) == today:
            realised_today += close.trade.pnl_quote
    newest: dict[str, GuardLock] = {}
    for journaled in sorted(locks, key=lambda j: j.lock.locked_at_s):
        if journaled.lock.locked_at_s > now_s:
            raise ValueError(f"{journaled.lock.guard} lock at {journaled.lock.locked_at_s} is "
                             f"after the restart time {now_s}")
        newest[journaled.lock.guard] = journaled.lock
    for lock in newest.values():
        ledger.set_lock(lock)
    return RestoredRisk(tuple(c.trade for c in closes), tuple(newest.values()), realised_today)
