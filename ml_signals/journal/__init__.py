"""Trade journal: setups, predictions, trades and daily totals, written off the tick thread.

Records (:mod:`~ml_signals.journal.records`, :mod:`~ml_signals.journal.risk_records`,
:mod:`~ml_signals.journal.control_records`) -> :meth:`Journal.record` spools them locally
(SQLite, through :mod:`ml_signals.durable_queue`: memory first, a writer thread stores them)
-> a worker upserts them by natural id into the backend: a local SQLite file by default
or Supabase (supabase-py) when ``SUPABASE_URL`` and ``SUPABASE_SERVICE_KEY`` are set. An
unreachable backend only delays writes; they replay in order when it returns.

PostgreSQL migrations for Supabase live in ``migrations/`` at the repository root;
:mod:`~ml_signals.journal.sqlite_schema` is their SQLite equivalent.
:func:`~ml_signals.journal.readback.load_closed_trades` reads closed trades back for training;
:func:`~ml_signals.journal.readback.load_risk_history` reads closed trades and guard locks back
for a restarted bot.
"""

from ml_signals.journal.backend import (
    JournalBackend,
    JournalWriteError,
    PermanentJournalError,
    TransientJournalError,
)
from ml_signals.journal.config import JournalConfig
from ml_signals.journal.control_records import ControlRecord
from ml_signals.journal.journal import Journal, make_backend
from ml_signals.journal.records import (
    JournalRecord,
    PredictionRecord,
    SetupRecord,
    TradeRecord,
)
from ml_signals.journal.risk_records import DailyPerformanceRecord, GuardLockRecord
from ml_signals.journal.spool import SpoolLockedError

__all__ = [
    "ControlRecord",
    "DailyPerformanceRecord",
    "GuardLockRecord",
    "Journal",
    "JournalBackend",
    "JournalConfig",
    "JournalRecord",
    "JournalWriteError",
    "PermanentJournalError",
    "PredictionRecord",
    "SetupRecord",
    "SpoolLockedError",
    "TradeRecord",
    "TransientJournalError",
    "make_backend",
]
