"""The trade journal and Slack alerts of a replay: where they go, and what they hold afterwards.

A replay journals and alerts as the live bot does (original plan, "Slack Integration" and
"Database Schema"), but only locally: the journal to its SQLite backend
(``JournalSettings.backend = "sqlite"``) and the alerts through their outbox and delivery thread
to the log (``AlertSettings.destination = "log"``). Neither reads Supabase or Slack secrets, so a
replay never writes to the user's Supabase project nor posts to their Slack, whatever the
environment holds.

Files, per script, under the replay's output folder ``out_dir`` (CLI ``--out``)::

    <out_dir>/<script>/journal.sqlite          # strategy_setups, ml_predictions, trades
    <out_dir>/<script>/journal_spool.sqlite    # records waiting for the journal (empty after)
    <out_dir>/<script>/alerts_outbox.sqlite    # every alert, with its delivery status

They are deleted when a replay starts, so the counts read back afterwards
(:func:`read_journal`, :func:`read_alerts`) are those of one run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_signals.alerts.outbox import Outbox
from ml_signals.journal.config import JournalConfig
from ml_signals.journal.readback import load_closed_trades
from ml_signals.journal.records import PredictionRecord, SetupRecord
from ml_signals.journal.spool import Spool
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend

# SQLite's WAL and rollback files and the sender's / spool's advisory lock files
_COMPANIONS = ("", "-wal", "-shm", "-journal", ".lock")


@dataclass(frozen=True, slots=True)
class ReplayFiles:
    """Journal and alert files of one script's replay (module docstring)."""

    journal: Path
    spool: Path
    outbox: Path

    @classmethod
    def of(cls, out_dir: Path, script: str) -> ReplayFiles:
        """The files under ``<out_dir>/<script>/``."""
        folder = Path(out_dir) / script
        return cls(journal=folder / "journal.sqlite", spool=folder / "journal_spool.sqlite",
                   outbox=folder / "alerts_outbox.sqlite")

    def overrides(self, fields: Any) -> dict[str, Any]:
        """Config values sending the journal and alerts here, for the config fields
        ``fields`` present (``alerts``, ``journal``)."""
        out: dict[str, Any] = {}
        if "alerts" in fields:
            out.update({"alerts.enabled": True, "alerts.destination": "log",
                        "alerts.outbox_path": str(self.outbox)})
        if "journal" in fields:
            out.update({"journal.enabled": True, "journal.backend": "sqlite",
                        "journal.sqlite_path": str(self.journal),
                        "journal.spool_path": str(self.spool)})
        return out

    def clear(self) -> None:
        """Delete the files of an earlier run (and their ``-wal``/``-shm``/``.lock`` files)."""
        for path in (self.journal, self.spool, self.outbox):
            for suffix in _COMPANIONS:
                Path(f"{path}{suffix}").unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class JournalCounts:
    """Rows of a replay's journal after the run.

    Attributes:
        path: the SQLite journal file.
        setups: ``strategy_setups`` rows (one per setup evaluated, taken or not).
        predictions: ``ml_predictions`` rows (one per setup and model version).
        trades: ``trades`` rows, open and closed (one per executor whose entry filled).
        closed_trades: of those, closed (``ml_signals.journal.readback.load_closed_trades``).
        spool_pending, spool_rejected: records left unwritten in the spool (0 after a clean
            run; rejected rows were refused by the schema and are logged).
    """

    path: str
    setups: int
    predictions: int
    trades: int
    closed_trades: int
    spool_pending: int
    spool_rejected: int


@dataclass(frozen=True, slots=True)
class AlertCounts:
    """Alerts of a replay after the run, from its outbox.

    Attributes:
        path: the SQLite outbox file.
        destination: ``AlertSettings.destination`` (``"log"`` in replays).
        delivered, pending, failed: outbox rows per status.
        by_kind: rows per alert event class (``TradeOpened``, ``TradeClosed``,
            ``GuardTripped``, ``SystemNotice``...).
    """

    path: str
    destination: str
    delivered: int
    pending: int
    failed: int
    by_kind: dict[str, int]


def read_journal(journal_path: Path, spool_path: Path) -> JournalCounts | None:
    """Count the rows of a replay's SQLite journal; ``None`` when the journal never started
    (no file).

    Raises:
        ml_signals.journal.backend.PermanentJournalError: the file lacks the journal tables.
    """
    if not Path(journal_path).is_file():
        return None
    backend = SQLiteJournalBackend(Path(journal_path), create_schema=False)
    try:
        setups = backend.fetch_rows(SetupRecord.TABLE, "setup_id")
        predictions = backend.fetch_rows(PredictionRecord.TABLE, "prediction_id")
        trades = backend.fetch_trades()
        closed = load_closed_trades(JournalConfig(sqlite_path=Path(journal_path)),
                                    backend=backend)
    finally:
        backend.close()
    spool = Spool(Path(spool_path))
    try:
        left = spool.counts()
    finally:
        spool.close()
    return JournalCounts(path=str(journal_path), setups=len(setups),
                         predictions=len(predictions), trades=len(trades),
                         closed_trades=len(closed), spool_pending=left.pending,
                         spool_rejected=left.rejected)


def read_alerts(outbox_path: Path, destination: str) -> AlertCounts | None:
    """Count a replay's alerts by status and kind; ``None`` when no outbox was created."""
    if not Path(outbox_path).is_file():
        return None
    outbox = Outbox(Path(outbox_path))
    try:
        counts = outbox.counts()
        kinds = Counter(row.kind for row in outbox.rows())
    finally:
        outbox.close()
    return AlertCounts(path=str(outbox_path), destination=destination,
                       delivered=counts.delivered, pending=counts.pending, failed=counts.failed,
                       by_kind=dict(sorted(kinds.items())))
