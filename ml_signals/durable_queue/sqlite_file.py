"""The SQLite side of the durable queue: connections, schema creation, one insert transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ml_signals.durable_queue.types import QueueSchema

# Errors that concern one record's values, not the file: the record is retried alone and, if it
# still fails, logged and set aside (``record_refused``) so it cannot block the records behind it.
RECORD_ERRORS = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.DataError,
                 sqlite3.ProgrammingError, OverflowError, TypeError, ValueError)


def connect(path: Path, timeout_s: float, synchronous: str,
            same_thread: bool) -> sqlite3.Connection:
    """An autocommit connection to ``path`` that waits up to ``timeout_s`` for another
    connection's lock, with ``PRAGMA synchronous`` set (``NORMAL`` or ``FULL``).

    Raises:
        sqlite3.Error: the file cannot be opened.
    """
    conn = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None,
                           check_same_thread=same_thread)
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


def ensure_schema(conn: sqlite3.Connection, schema: QueueSchema) -> None:
    """Create the table on a new file; only read an existing one (no write lock needed, so
    opening never waits for a process holding the file's write lock)."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                          (schema.table,)).fetchone()
    if exists:
        return
    # Before the first table: freed pages go back to the OS on prune (PRAGMA incremental_vacuum).
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(schema.ddl)


def insert(conn: sqlite3.Connection, sql: str, rows: list[Sequence[Any]]) -> None:
    """Run ``sql`` for each of ``rows`` in one ``BEGIN IMMEDIATE`` transaction; on any error
    roll back (unless SQLite already did) and re-raise."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite already rolled back (disk full, I/O error)
        raise
