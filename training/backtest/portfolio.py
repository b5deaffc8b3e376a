"""Event-driven portfolio simulation: decision rounds, exits and cancels in time order.

The loop visits only event times -- the decision rounds (candle closes with setups), the
precomputed exits of open positions, cancel checks of unfilled entries and UTC midnights (the
daily-loss stop's day-start equity) -- never every candle. At each decision round it does what
``StrategyRuntime`` does live (``ml_signals.hummingbot.strategy_runtime``):

1. closes known by then reach the ledger in close-time order (``RiskManager.record_close``:
   consecutive-loss lock, kill switch);
2. equity is marked to market (numpy close arrays: free quote + filled base at the newest
   close, i.e. capital + realised + unrealised net of paid fees);
3. setups below the confidence threshold are skipped; the others become ``Candidate``\\ s and
   go through ``StrategyOrchestrator.plan_round`` (combined run) or, like a single-strategy
   script, are ranked by ``rank_key`` and checked by ``RiskManager.check_round``;
4. an accepted entry must also fit the free quote balance (quote minus what resting orders of
   open entries reserve, fees included), as an exchange refuses an order it cannot fund;
   otherwise ``insufficient_balance``;
5. entries open with their precomputed kernel outcome.

Cancels, as the runtime's ``stop_actions``: an entry with no fill is stopped
``cancel_unfilled_after_s`` after placement, and (``cancel_unfilled_when_blocked``) at any event
time when an entry-cancelling guard blocks (``ml_signals.decision.planner.entry_cancelling``: kill
switch, consecutive losses, daily loss, crash pause, exactly as ``StrategyRuntime.stop_actions``). A
cancelled entry closes NOT_FILLED at that time. Guards are evaluated at event times only, where
the live runtime checks on every tick; between events nothing changes except prices, so only
the daily loss stop (unrealised PnL) could trip earlier live.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from ml_signals.decision.planner import entry_cancelling
from ml_signals.orchestration import StrategyOrchestrator, rank_key
from ml_signals.risk import (
    Candidate,
    ClosedTrade,
    GuardLock,
    GuardResult,
    OpenPosition,
    PortfolioState,
    RiskManager,
)
from ml_signals.risk.types import DAY_S, STRATEGIES
from training.backtest.book import Book
from training.backtest.market import Market
from training.labels.executor_walk import REASON_NOT_FILLED, REASON_OPEN_AT_END

_EXIT, _CANCEL_CHECK = 0, 1  # same-time order: exits first, then cancel checks
_CONFLICT_GUARDS = {"same_coin": "conflict", "opposing_signals": "conflict"}


@dataclass
class _Open:
    """A position (or resting entry) held by the portfolio."""

    key: int
    placed_s: int
    committed_quote: float


@dataclass
class Ledger:
    """What a run produced, before it becomes frames (see :mod:`training.backtest.result`).

    Attributes:
        opened: per opened candidate key: ``(placed_s, end_s, end_reason, note)``; ``end_s``
            NaN open at the end; ``end_reason`` a kernel code.
        skipped: ``(key, reason, detail)`` per candidate not entered.
        locks: guard locks set by closes.
        realised_quote: sum of closed net PnL.
        fees_quote: fees paid (entry fees of every fill + exit fees of closes), accumulated
            as positions close or the run ends.
    """

    opened: dict[int, tuple[int, float, int, str]] = field(default_factory=dict)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)
    locks: list[GuardLock] = field(default_factory=list)
    realised_quote: float = 0.0
    fees_quote: float = 0.0


class PortfolioRun:
    """One portfolio simulation over a :class:`Book`.

    Args:
        book: the candidates (sorted by decision time).
        market: candle arrays for marking to market.
        risk: the guards (a fresh ledger per run).
        orchestrator: capital allocation and conflicts (combined run) or ``None``.
        start_capital_quote: starting equity.
        taker_fee_frac: fee reserved on top of a new entry's committed quote.
        cancel_unfilled_after_s, cancel_unfilled_when_blocked: see the module docstring.
    """

    def __init__(self, book: Book, market: Market, risk: RiskManager,
                 orchestrator: StrategyOrchestrator | None, start_capital_quote: float,
                 taker_fee_frac: float, cancel_unfilled_after_s: int | None,
                 cancel_unfilled_when_blocked: bool) -> None:
        self.book = book
        self.market = market
        self.risk = risk
        self.orchestrator = orchestrator
        self.start = start_capital_quote
        self.fee_reserve = 1.0 + taker_fee_frac
        self.cancel_after = cancel_unfilled_after_s
        self.cancel_when_blocked = cancel_unfilled_when_blocked
        self.ledger_guards = risk.new_ledger()
        self.out = Ledger()
        self._open: dict[int, _Open] = {}
        self._events: list[tuple[float, int, int]] = []
        self._marked_day: int | None = None

    # --- driving ---------------------------------------------------------------------------

    def run(self) -> Ledger:
        """Simulate every round, drain the remaining exits, book what is still open."""
        decision = self.book.decision_s
        bounds = np.flatnonzero(np.diff(decision)) + 1
        for keys in np.split(np.arange(len(self.book)), bounds):
            if keys.size:
                t = int(decision[keys[0]])
                self._advance(t)
                self._round(t, keys)
                self._cancel_if_blocked(t)
        self._advance(self.market.data_end_s)  # what happens later is not in the data
        return self.finish()

    def _advance(self, until: float) -> None:
        """Process events up to ``until`` (inclusive) in time order, marking each UTC midnight
        crossed so the daily loss stop's day-start equity is taken at 00:00."""
        while self._events and self._events[0][0] <= until:
            t = self._events[0][0]
            self._mark_midnights(t)
            while self._events and self._events[0][0] == t:
                _, kind, key = heapq.heappop(self._events)
                if key not in self._open:
                    continue
                if kind == _EXIT:
                    self._close(key, t)
                elif self._unfilled(key, t):
                    self._cancel(key, t, f"no fill {self.cancel_after} s after placement")
            self._cancel_if_blocked(t)
        if np.isfinite(until):
            self._mark_midnights(until)

    def _mark_midnights(self, t: float) -> None:
        day = int(t // DAY_S)
        if self._marked_day is None:
            self._marked_day = day
            return
        while self._marked_day < day:
            self._marked_day += 1
            midnight = self._marked_day * DAY_S
            self.ledger_guards.mark_equity(midnight, self.equity_at(midnight)[0])

    # --- one decision round ------------------------------------------------------------------

    def _round(self, t: int, keys: np.ndarray) -> None:
        b = self.book
        candidates: dict[str, Candidate] = {}
        key_of: dict[str, int] = {}
        for k in keys:
            k = int(k)
            if not b.take[k]:
                self.out.skipped.append((k, "below_threshold",
                                         f"confidence {b.confidence[k]:.3f} below threshold"))
                continue
            conf = None if np.isnan(b.confidence[k]) else float(b.confidence[k])
            cand = Candidate(str(b.setup_id[k]), str(b.pair[k]), str(b.strategy[k]),  # type: ignore[arg-type]
                             "BUY", float(b.committed_quote[k]), conf)
            candidates[cand.setup_id] = cand
            key_of[cand.setup_id] = k
        if not candidates:
            return
        state = self._state(t)
        if self.orchestrator is not None:
            resolution = self.orchestrator.plan_round(state, list(candidates.values()),
                                                      self.risk)
            accepted, blocked = resolution.accepted, resolution.skipped
        else:
            ranked = sorted(candidates.values(), key=lambda c: rank_key(c, STRATEGIES))
            checked = self.risk.check_round(state, ranked)
            accepted, blocked = checked.accepted, checked.blocked
        for s in blocked:
            self._skip(key_of[s.candidate.setup_id], s.result)
        free = self._free_quote(t)
        for cand in accepted:
            k = key_of[cand.setup_id]
            need = cand.amount_quote * self.fee_reserve
            if need > free + 1e-9:
                self._skip(k, GuardResult("insufficient_balance",
                                          f"needs {need:.2f} quote with fees, {free:.2f} free"))
                continue
            free -= need
            self._place(k, t, cand.amount_quote)

    def _place(self, k: int, t: int, committed: float) -> None:
        self._open[k] = _Open(k, t, committed)
        end = self.book.exit_s[k]
        if np.isfinite(end):
            heapq.heappush(self._events, (float(end), _EXIT, k))
        if self.cancel_after is not None and self._unfilled(k, t):
            heapq.heappush(self._events, (float(t + self.cancel_after), _CANCEL_CHECK, k))

    def _skip(self, k: int, result: GuardResult) -> None:
        reason = _CONFLICT_GUARDS.get(result.guard, result.guard)
        self.out.skipped.append((k, reason, result.reason))

    # --- closes and cancels --------------------------------------------------------------------

    def _close(self, k: int, t: float) -> None:
        b = self.book
        pos = self._open.pop(k)
        reason = int(b.reason[k])
        self.out.opened[k] = (pos.placed_s, t, reason, "")
        if reason == REASON_NOT_FILLED:
            return
        pnl = (b.filled_base[k] * b.exit_price[k] - b.exit_fee_quote[k] - b.filled_quote[k]
               - b.entry_fee_quote[k])
        self.out.realised_quote += pnl
        self.out.fees_quote += b.entry_fee_quote[k] + b.exit_fee_quote[k]
        trade = ClosedTrade(str(b.pair[k]), str(b.strategy[k]), int(t), float(pnl),  # type: ignore[arg-type]
                            float(pnl / b.filled_quote[k]), str(b.setup_id[k]))
        self.out.locks.extend(self.risk.record_close(self.ledger_guards, trade))

    def _cancel(self, k: int, t: float, why: str) -> None:
        pos = self._open.pop(k)
        self.out.opened[k] = (pos.placed_s, t, REASON_NOT_FILLED, f"cancelled unfilled: {why}")

    def _unfilled(self, k: int, t: float) -> bool:
        return bool(self.book.level_s[k, 0] > t)

    def _cancel_if_blocked(self, t: float) -> None:
        if not self.cancel_when_blocked:
            return
        unfilled = [k for k in self._open if self._unfilled(k, t)]
        if not unfilled:
            return
        # the live runtime's rule: only emergency / crash guards cancel resting entries
        blocks = entry_cancelling(self.risk.blocking_now(self._state(int(t))))
        if blocks:
            why = f"{blocks[0].guard} blocks new entries"
            for k in unfilled:
                self._cancel(k, t, why)

    def finish(self) -> Ledger:
        """Book the positions still open at the data end (OPEN_AT_END, entry fees paid)."""
        for k, pos in list(self._open.items()):
            self._open.pop(k)
            self.out.opened[k] = (pos.placed_s, np.nan, REASON_OPEN_AT_END, "")
            self.out.fees_quote += float(np.nansum(self.book.level_fee[k]))
        return self.out

    # --- accounting -----------------------------------------------------------------------------

    def equity_at(self, t: float) -> tuple[float, float]:
        """``(equity, quote balance)`` at ``t``: realised PnL plus, per open position, the filled
        base at the newest close minus what its fills cost with fees."""
        b = self.book
        equity = cash = self.start + self.out.realised_quote
        for k in self._open:
            filled = b.level_s[k] <= t
            if not filled.any():
                continue
            spent = float(b.level_cost[k][filled].sum() + b.level_fee[k][filled].sum())
            price = float(self.market.pairs[str(b.pair[k])].mark_price(int(t)))
            equity += float(b.level_base[k][filled].sum()) * price - spent
            cash -= spent
        return equity, cash

    def _free_quote(self, t: float) -> float:
        """Quote balance minus what the unfilled levels of open entries reserve (with fees)."""
        b = self.book
        _, cash = self.equity_at(t)
        reserved = 0.0
        for k, pos in self._open.items():
            filled = b.level_s[k] <= t
            spent = float(b.level_cost[k][filled].sum()) if filled.any() else 0.0
            reserved += max(pos.committed_quote - spent, 0.0) * self.fee_reserve
        return cash - reserved

    def _state(self, t: int) -> PortfolioState:
        b = self.book
        equity, _ = self.equity_at(t)
        positions = tuple(
            OpenPosition(str(b.pair[k]), str(b.strategy[k]), pos.committed_quote,  # type: ignore[arg-type]
                         pos.placed_s, str(b.setup_id[k]))
            for k, pos in self._open.items())
        return self.ledger_guards.snapshot(t, max(equity, 1e-9), positions,
                                           self.market.regime_at(t))
