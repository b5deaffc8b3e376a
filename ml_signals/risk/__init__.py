"""Risk guards shared by the live scripts and the portfolio backtester.

Pure Python, no Hummingbot import, no pandas in the hot path. Typical use per decision round::

    risk = RiskManager(RiskConfig())
    ledger = risk.new_ledger()                       # one per bot / backtest run
    ...
    risk.record_close(ledger, ClosedTrade(...))      # on every close, in time order
    state = ledger.snapshot(now_s, equity_quote, open_positions, btc_regime)
    result = risk.check(state, candidate)            # None = allowed

One guard per module (shape of freqtrade's ``IProtection``): ``max_open_positions``,
``one_position_per_pair``, ``max_exposure``, ``daily_loss``, ``consecutive_losses``,
``crash_pause``, ``kill_switch``; ``manager.GUARD_ORDER`` fixes the order. The two that latch a
stop on a closed trade (``consecutive_losses``, ``kill_switch``) share ``latching.LatchingGuard``.
``restore`` puts a restarted bot's ledger back from journaled closes and locks.
"""

from ml_signals.risk.base import RiskGuard
from ml_signals.risk.config import RiskConfig
from ml_signals.risk.latching import LatchingGuard
from ml_signals.risk.ledger import LedgerStats, TradeLedger
from ml_signals.risk.manager import GUARD_ORDER, RiskManager, RoundCheck
from ml_signals.risk.restore import (
    JournaledClose,
    JournaledLock,
    RestoredRisk,
    history_trades,
    restore_ledger,
    select_closes,
)
from ml_signals.risk.types import (
    Candidate,
    ClosedTrade,
    GuardLock,
    GuardResult,
    OpenPosition,
    PortfolioState,
    SkippedCandidate,
)

__all__ = [
    "GUARD_ORDER",
    "Candidate",
    "ClosedTrade",
    "GuardLock",
    "GuardResult",
    "JournaledClose",
    "JournaledLock",
    "LatchingGuard",
    "LedgerStats",
    "OpenPosition",
    "PortfolioState",
    "RestoredRisk",
    "RiskConfig",
    "RiskGuard",
    "RiskManager",
    "RoundCheck",
    "SkippedCandidate",
    "TradeLedger",
    "history_trades",
    "restore_ledger",
    "select_closes",
]
