"""The one error type raised for bad candle input, and the names of the rules it reports.

Row convention (the ``row`` attribute of :class:`CandleDataError`):

- for CSV files it is the **1-based line number** in the file, header line included, so it can be
  typed straight into an editor (``sed -n 42p file.csv``);
- for in-memory frames (freqtrade feather, a Hummingbot ``candles_df``) it is the **0-based
  positional row** (``frame.iloc[row]``);
- ``None`` when the problem is not tied to one row (a missing column, an unparsable file name).
"""

from __future__ import annotations

from typing import Final

from ml_signals import candle_guard as guard

EMPTY: Final = "empty"
"""The file or frame holds no candle rows."""
FILE_NAME: Final = "file_name"
"""Pair or interval cannot be read from the file name (or an explicit argument is malformed)."""
HEADER: Final = "header"
"""A header line in a headerless CSV (Kraken OHLCVT files have none)."""
FIELD_COUNT: Final = "field_count"
"""A CSV line with more or fewer fields than the format has."""
MISSING_COLUMN: Final = "missing_column"
EXTRA_COLUMN: Final = "extra_column"
NON_NUMERIC: Final = "non_numeric"
# Rules about single candles: the candle guard's names (ml_signals.candle_guard.RULES), so a
# file refused here and a candle flagged live carry the same rule name.
NAN: Final = guard.NAN
"""A NaN, empty or infinite value (also NaT in a datetime column)."""
NON_POSITIVE_PRICE: Final = guard.NON_POSITIVE_PRICE
NEGATIVE_VOLUME: Final = guard.NEGATIVE_VOLUME
HIGH_BELOW_LOW: Final = guard.HIGH_BELOW_LOW
"""``high < low``."""
HIGH_BELOW_BODY: Final = guard.HIGH_BELOW_BODY
"""``high < max(open, close)``."""
LOW_ABOVE_BODY: Final = guard.LOW_ABOVE_BODY
"""``low > min(open, close)``."""
DUPLICATE_TIMESTAMP: Final = guard.DUPLICATE_TIMESTAMP
UNSORTED_TIMESTAMP: Final = guard.UNSORTED_TIMESTAMP
OFF_GRID: Final = guard.OFF_GRID
"""A timestamp that is not a whole multiple of the interval (or not a whole second)."""
TIMESTAMP_RANGE: Final = "timestamp_range"
"""A timestamp outside 2009..2100 in seconds: usually milliseconds passed as seconds."""
INTERVAL_MISMATCH: Final = "interval_mismatch"
"""No two consecutive rows are one interval apart: the declared interval is wrong."""
NAIVE_DATETIME: Final = "naive_datetime"
"""A datetime column without a time zone; freqtrade writes tz-aware UTC."""
UNREADABLE: Final = "unreadable"
"""The file cannot be parsed at all (not CSV / not feather); the parser's message is kept."""
DUPLICATE_PAIR: Final = "duplicate_pair"
"""Two files in one directory give the same pair and interval."""


class CandleDataError(ValueError):
    """Bad candle input: names the file, the row, the rule broken and the pair when known.

    Attributes:
        path: file the data came from, or ``None`` for an in-memory frame.
        row: see the module docstring (1-based line for CSV, 0-based row for frames, or ``None``).
        rule: one of the rule names defined in this module, e.g. ``"duplicate_timestamp"``.
        pair: Hummingbot pair (``"BTC-USDT"``) when known, else ``None``.
        detail: human explanation, with the offending value where useful.
    """

    def __init__(
        self,
        detail: str,
        *,
        path: str | None,
        row: int | None,
        rule: str,
        pair: str | None = None,
    ) -> None:
        self.path = path
        self.row = row
        self.rule = rule
        self.pair = pair
        self.detail = detail
        where = path if path is not None else "<frame>"
        pair_part = f" pair {pair}" if pair else ""
        row_part = f" row {row}" if row is not None else " row -"
        super().__init__(f"{where}:{pair_part}{row_part}: [{rule}] {detail}")
