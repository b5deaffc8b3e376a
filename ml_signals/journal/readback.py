"""Read the journal back for training: closed trades as a DataFrame.

``training`` compares live results with backtests through :func:`load_closed_trades`::

    from ml_signals.journal.config import JournalConfig
    from ml_signals.journal.readback import load_closed_trades

    trades = load_closed_trades(JournalConfig.from_env(env_file=Path(".env")))

It reads the backend only (SQLite file or Supabase); records still waiting in a running
journal's spool are not included.
"""

from __future__ import annotations

import pandas as pd

from ml_signals.journal.backend import JournalBackend
from ml_signals.journal.config import JournalConfig
from ml_signals.journal.records import TradeRecord

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
