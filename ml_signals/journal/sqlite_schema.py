"""SQLite DDL of the journal: the equivalent of ``migrations/001_journal.sql`` and
``migrations/002_guard_locks.sql`` and ``003_control_commands.sql`` (PostgreSQL).

Same tables, columns, keys and checks. Differences forced by SQLite: ``numeric`` columns are
REAL (floats, as the Python records hold), booleans are 0/1 integers, ``context`` is JSON text,
``date`` is ISO text and the ``*_at`` timestamp columns are generated as ISO text.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

SQLITE_DDL = """
CREATE TABLE IF NOT EXISTS strategy_setups (
    setup_id TEXT PRIMARY KEY,
    strategy TEXT NOT NULL CHECK (strategy <> ''),
    pair TEXT NOT NULL CHECK (pair <> ''),
    candle_ts_s INTEGER NOT NULL,
    reference_price_quote REAL NOT NULL CHECK (reference_price_quote > 0),
    entry_type TEXT NOT NULL CHECK (entry_type IN ('market', 'limit_grid')),
    taken INTEGER NOT NULL CHECK (taken IN (0, 1)),
    skip_reason TEXT,
    context TEXT NOT NULL DEFAULT '{}',
    recorded_s REAL NOT NULL,
    detected_at TEXT GENERATED ALWAYS AS (datetime(candle_ts_s, 'unixepoch')) VIRTUAL,
    CHECK (taken = 1 OR skip_reason IS NOT NULL),
    CHECK (setup_id = strategy || ':' || pair || ':' || candle_ts_s)
);

CREATE TABLE IF NOT EXISTS ml_predictions (
    prediction_id TEXT PRIMARY KEY,
    setup_id TEXT NOT NULL REFERENCES strategy_setups (setup_id) ON DELETE CASCADE,
    model_version TEXT NOT NULL,
    confidence REAL CHECK (confidence BETWEEN 0 AND 1),
    take INTEGER NOT NULL CHECK (take IN (0, 1)),
    take_profit_frac REAL NOT NULL CHECK (take_profit_frac > 0),
    stop_loss_frac REAL NOT NULL CHECK (stop_loss_frac > 0 AND stop_loss_frac < 1),
    size_multiplier REAL NOT NULL CHECK (size_multiplier > 0),
    expected_hold_s INTEGER NOT NULL CHECK (expected_hold_s >= 0),
    scored_s REAL NOT NULL,
    UNIQUE (setup_id, model_version)
);
CREATE INDEX IF NOT EXISTS ml_predictions_setup ON ml_predictions (setup_id);

CREATE TABLE IF NOT EXISTS trades (
    trade_id TEXT PRIMARY KEY,
    setup_id TEXT,
    strategy TEXT NOT NULL,
    pair TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    entry_price_quote REAL NOT NULL CHECK (entry_price_quote > 0),
    exit_price_quote REAL CHECK (exit_price_quote > 0),
    amount_base REAL NOT NULL CHECK (amount_base >= 0),
    amount_quote REAL NOT NULL CHECK (amount_quote >= 0),
    fees_quote REAL NOT NULL DEFAULT 0 CHECK (fees_quote >= 0),
    pnl_quote REAL,
    pnl_frac REAL,
    close_type TEXT,
    opened_s REAL NOT NULL,
    closed_s REAL,
    opened_at TEXT GENERATED ALWAYS AS (datetime(opened_s, 'unixepoch')) VIRTUAL,
    closed_at TEXT GENERATED ALWAYS AS (datetime(closed_s, 'unixepoch')) VIRTUAL,
    CHECK (closed_s IS NULL OR closed_s >= opened_s),
    CHECK ((closed_s IS NULL) = (exit_price_quote IS NULL))
);
CREATE INDEX IF NOT EXISTS trades_opened ON trades (opened_s);
CREATE INDEX IF NOT EXISTS trades_closed ON trades (closed_s);
CREATE INDEX IF NOT EXISTS trades_setup ON trades (setup_id);

CREATE TABLE IF NOT EXISTS daily_performance (
    date TEXT NOT NULL,
    strategy TEXT NOT NULL,
    setups_detected INTEGER NOT NULL CHECK (setups_detected >= 0),
    setups_taken INTEGER NOT NULL CHECK (setups_taken >= 0),
    trades_count INTEGER NOT NULL CHECK (trades_count >= 0),
    wins INTEGER NOT NULL CHECK (wins >= 0),
    losses INTEGER NOT NULL CHECK (losses >= 0),
    net_pnl_quote REAL NOT NULL,
    ml_precision REAL CHECK (ml_precision BETWEEN 0 AND 1),
    updated_s REAL NOT NULL,
    PRIMARY KEY (date, strategy),
    CHECK (wins + losses <= trades_count)
);

CREATE TABLE IF NOT EXISTS guard_locks (
    lock_id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    guard TEXT NOT NULL CHECK (guard <> ''),
    reason TEXT NOT NULL,
    locked_at_s INTEGER NOT NULL,
    until_s INTEGER,
    trade_id TEXT,
    recorded_s REAL NOT NULL,
    locked_at TEXT GENERATED ALWAYS AS (datetime(locked_at_s, 'unixepoch')) VIRTUAL,
    CHECK (until_s IS NULL OR until_s > locked_at_s),
    CHECK (lock_id = scope || ':' || guard || ':' || locked_at_s)
);
CREATE INDEX IF NOT EXISTS guard_locks_locked ON guard_locks (locked_at_s);
CREATE TABLE IF NOT EXISTS control_commands (
    command_id TEXT PRIMARY KEY,
    transport TEXT NOT NULL,
    command TEXT NOT NULL CHECK (command <> ''),
    args TEXT NOT NULL DEFAULT '',
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL DEFAULT '',
    authorised INTEGER NOT NULL CHECK (authorised IN (0, 1)),
    outcome TEXT NOT NULL CHECK (outcome IN ('pending', 'ok', 'refused', 'rejected', 'error')),
    answer TEXT NOT NULL DEFAULT '',
    requested_s REAL NOT NULL,
    answered_s REAL,
    requested_at TEXT GENERATED ALWAYS AS (datetime(requested_s, 'unixepoch')) VIRTUAL,
    CHECK ((answered_s IS NULL) = (outcome = 'pending'))
);
CREATE INDEX IF NOT EXISTS control_commands_requested ON control_commands (requested_s);
"""

JSON_COLUMNS: dict[str, tuple[str, ...]] = {"strategy_setups": ("context",)}
"""Columns stored as JSON text in SQLite (``jsonb`` in PostgreSQL)."""

BOOL_COLUMNS: dict[str, tuple[str, ...]] = {"strategy_setups": ("taken",),
                                            "ml_predictions": ("take",),
                                            "control_commands": ("authorised",)}
"""Columns stored as 0/1 in SQLite (``boolean`` in PostgreSQL)."""
