"""Read the journal back: closed trades for training, and risk history for a restarted bot.

``training`` compares live results with backtests through :func:`load_closed_trades`::

    from ml_signals.journal.config import JournalConfig
    from ml_signals.journal.readback import load_closed_trades

    trades = load_closed_trades(JournalConfig.from_env(env_file=Path(".env")))

It reads the backend only (SQLite file or Supabase); records still waiting in a running
journal's spool are not included.

A starting script reads :func:`load_risk_history` instead: every closed trade and guard lock,
from the backend *and* the spool's pending rows (a bot stopped while its backend was
unreachable has its last closes only in the spool), so the risk ledger comes back as it was
(:mod:`ml_signals.hummingbot.risk_state`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ml_signals.journal.backend import JournalBackend
from ml_signals.journal.config import JournalConfig
from ml_signals.journal.records import TradeRecord
from ml_signals.journal.risk_records import GuardLockRecord
from ml_signals.journal.spool import Spool

CLOSED_TRADE_COLUMNS: tuple[str, ...] = (
    "trade_id", "setup_id", "strategy", "pair", "side", "entry_price_quote", "exit_price_quote",
    "amount_base", "amount_quote", "fees_quote", "pnl_quote", "pnl_frac", "close_type",
    "opened_s", "closed_s", "duration_s",
)
"""Columns of :func:`load_closed_trades`, in order."""

_FLOAT_COLUMNS = ("entry_price_quote", "exit_price_quote", "amount_base", "amount_quote",
                  "fees_quote", "pnl_quote", "pnl_frac", "opened_s", "closed_s", "duration_s")


def closed_trades_frame(trades: list[TradeRecord]) -> pd.DataFrame:
    """Closed trades among ``trades`` as a frame sorted by ``closed_s`` then ``trade_id``.

    Columns :data:`CLOSED_TRADE_COLUMNS`: prices and amounts in quote (``amount_base`` in
    base), ``pnl_frac`` a fraction, ``opened_s`` / ``closed_s`` UTC seconds (float64),
    ``duration_s = closed_s - opened_s``. Ids and names are strings (``setup_id`` may be None).
    An empty input gives an empty frame with these columns.
    """
    rows = [{**t.to_row(), "duration_s": (t.closed_s or 0.0) - t.opened_s}
            for t in trades if t.is_closed]
    frame = pd.DataFrame(rows, columns=list(CLOSED_TRADE_COLUMNS))
    for column in _FLOAT_COLUMNS:
        frame[column] = frame[column].astype("float64")
    return frame.sort_values(["closed_s", "trade_id"], kind="stable").reset_index(drop=True)


def load_closed_trades(journal_config: JournalConfig, since_s: float | None = None,
                       backend: JournalBackend | None = None) -> pd.DataFrame:
    """Closed trades from the journal's backend (see :func:`closed_trades_frame`).

    Args:
        journal_config: which backend to read (``sqlite_path`` or Supabase credentials).
        since_s: only trades opened at or after this time (UTC s); all when ``None``.
        backend: an open backend to use instead (not closed here).

    Raises:
        FileNotFoundError: the SQLite journal file does not exist.
        ml_signals.journal.backend.TransientJournalError: the backend is unreachable.
        ml_signals.journal.backend.PermanentJournalError: the ``trades`` table is missing.
    """
    own = backend is None
    if backend is None:
        from ml_signals.journal.journal import make_backend

        if journal_config.backend == "sqlite" and not journal_config.sqlite_path.is_file():
            raise FileNotFoundError(f"no journal database at {journal_config.sqlite_path}")
        backend = make_backend(journal_config)
    try:
        return closed_trades_frame(backend.fetch_trades(since_s=since_s))
    finally:
        if own:
            backend.close()


SPOOL_READ_LIMIT = 1_000_000
"""Pending spool rows read at most by :func:`load_risk_history` (a spool holds hours of rows)."""


@dataclass(frozen=True, slots=True)
class RiskHistory:
    """What a restarted bot needs from its journal to restore its risk ledger.

    Attributes:
        trades: closed trades, sorted by ``closed_s`` then ``trade_id`` (the order the bot
            recorded them, up to closes within the same second).
        locks: guard locks, sorted by ``locked_at_s`` then ``lock_id``.
    """

    trades: tuple[TradeRecord, ...]
    locks: tuple[GuardLockRecord, ...]


def load_risk_history(backend: JournalBackend, spool: Spool | None = None) -> RiskHistory:
    """Closed trades and guard locks from ``backend`` plus the pending rows of ``spool``
    (the spool's version of a row wins: it is newer than what the backend has).

    Raises:
        ml_signals.journal.backend.TransientJournalError: the backend is unreachable.
        ml_signals.journal.backend.PermanentJournalError: a table is missing (e.g. Supabase
            without ``migrations/002_guard_locks.sql``).
        ValueError: a row breaks its record's rules (the message names table and id).
    """
    trades: dict[str, Mapping[str, Any]] = {
        str(r["trade_id"]): r for r in backend.fetch_rows(TradeRecord.TABLE, "opened_s")}
    locks: dict[str, Mapping[str, Any]] = {
        str(r["lock_id"]): r for r in backend.fetch_rows(GuardLockRecord.TABLE, "locked_at_s")}
    if spool is not None:
        for row in spool.pending(SPOOL_READ_LIMIT):
            if row.table == TradeRecord.TABLE:
                trades[row.natural_id] = row.row
            elif row.table == GuardLockRecord.TABLE:
                locks[row.natural_id] = row.row
    closed = [t for t in map(TradeRecord.from_row, trades.values()) if t.is_closed]
    closed.sort(key=lambda t: (t.closed_s or 0.0, t.trade_id))
    lock_records = sorted(map(GuardLockRecord.from_row, locks.values()),
                          key=lambda r: (r.locked_at_s, r.lock_id))
    return RiskHistory(tuple(closed), tuple(lock_records))
