"""SQLite journal backend: the embedded default (a local file, no account)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ml_signals.journal.backend import (
    JournalBackend,
    PermanentJournalError,
    Row,
    TransientJournalError,
)
from ml_signals.journal.records import RECORD_TYPES, natural_id_of
from ml_signals.journal.sqlite_schema import BOOL_COLUMNS, JSON_COLUMNS, SQLITE_DDL

# "no such table" / "no such column" / "has no column named": the schema, not the moment.
_SCHEMA_ERRORS = ("no such table", "no such column", "has no column named")


def _identifier(name: str) -> str:
    # Table and column names come from the record classes, never from data; still refuse
    # anything that is not a plain identifier before it reaches SQL text.
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not an SQL identifier: {name!r}")
    return f'"{name}"'


class SQLiteJournalBackend(JournalBackend):
    """Journal tables in one SQLite file (WAL), created on first use.

    Args:
        path: database file; its folder is created.
        create_schema: run :data:`~ml_signals.journal.sqlite_schema.SQLITE_DDL` (idempotent).
    """

    name = "sqlite"

    def __init__(self, path: Path, create_schema: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None,
                                     check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        if create_schema:
            self._conn.executescript(SQLITE_DDL)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def upsert_rows(self, table: str, rows: Sequence[Row]) -> None:
        """``INSERT … ON CONFLICT (<natural id>) DO UPDATE`` in one transaction."""
        if not rows:
            return
        conflict = RECORD_TYPES[table].CONFLICT
        columns = list(rows[0].keys())
        updates = [c for c in columns if c not in conflict]
        # Identifiers pass _identifier; values are bound parameters.
        sql = (
            f"INSERT INTO {_identifier(table)} ({', '.join(map(_identifier, columns))}) "  # noqa: S608
            f"VALUES ({', '.join('?' for _ in columns)}) "
            f"ON CONFLICT ({', '.join(map(_identifier, conflict))}) DO UPDATE SET "
            + ", ".join(f"{_identifier(c)} = excluded.{_identifier(c)}" for c in updates)
        )
        values = [[self._to_sqlite(table, c, row.get(c)) for c in columns] for row in rows]
        ids = [natural_id_of(table, row) for row in rows]
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(sql, values)
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise self._classify(table, ids, exc) from exc

    def fetch_rows(self, table: str, order_by: str, since_column: str | None = None,
                   since_value: float | None = None) -> list[Row]:
        """Rows as dicts with booleans and JSON decoded."""
        sql = f"SELECT * FROM {_identifier(table)}"  # noqa: S608 - checked identifier
        params: list[Any] = []
        if since_column is not None and since_value is not None:
            sql += f" WHERE {_identifier(since_column)} >= ?"
            params.append(since_value)
        sql += f" ORDER BY {_identifier(order_by)}"
        with self._lock:
            try:
                found = self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._classify(table, [], exc) from exc
        return [self._from_sqlite(table, dict(r)) for r in found]

    @staticmethod
    def _to_sqlite(table: str, column: str, value: Any) -> Any:
        if column in JSON_COLUMNS.get(table, ()):
            return json.dumps(value if value is not None else {}, sort_keys=True)
        if column in BOOL_COLUMNS.get(table, ()):
            return None if value is None else int(bool(value))
        return value

    @staticmethod
    def _from_sqlite(table: str, row: Row) -> Row:
        for column in JSON_COLUMNS.get(table, ()):
            if isinstance(row.get(column), str):
                row[column] = json.loads(row[column])
        for column in BOOL_COLUMNS.get(table, ()):
            if row.get(column) is not None:
                row[column] = bool(row[column])
        return row

    @staticmethod
    def _classify(table: str, ids: Sequence[str], exc: sqlite3.Error) -> Exception:
        text = str(exc)
        if isinstance(exc, sqlite3.IntegrityError) or any(s in text for s in _SCHEMA_ERRORS):
            return PermanentJournalError(table, ids, f"{type(exc).__name__}: {text}")
        # "database is locked", disk I/O, full disk: may clear up.
        return TransientJournalError(table, ids, f"{type(exc).__name__}: {text}")
