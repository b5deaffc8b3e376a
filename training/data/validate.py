"""Validation and gap filling shared by every loader.

:func:`validate_candles` turns a raw frame (any loader's columns already renamed to
``timestamp open high low close volume``) into the canonical frame of
:mod:`ml_signals.candles`, or raises :class:`~training.data.errors.CandleDataError` naming the
file, the first offending row and the rule. All checks are vectorised; only the index of the first
offending row is looked up.

:func:`ml_signals.candles.fill_gaps` then inserts the bars missing from the grid. Kraken
writes no row for an interval without trades; the same rule is applied to freqtrade and
Hummingbot data, which should have no gaps at all (the count is returned so callers can log or
refuse it): a filled bar has ``open = high = low = close =`` the previous close and
``volume = 0``, i.e. "no trade, price unchanged".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml_signals.candles import CANDLE_COLUMNS
from training.data import errors as rules
from training.data.errors import CandleDataError

PRICE_COLUMNS = ("open", "high", "low", "close")
MIN_TIMESTAMP_S = 1_230_768_000
"""2009-01-01 UTC; earlier "seconds" are a unit mistake (no crypto market existed)."""
MAX_TIMESTAMP_S = 4_102_444_800
"""2100-01-01 UTC; later "seconds" are almost always milliseconds."""


@dataclass(frozen=True)
class Origin:
    """Where rows come from, for error messages.

    ``row_base`` is added to the 0-based position of a row: 0 for frames, 1 for a headerless CSV
    (line numbers), 2 for a CSV with one header line.
    """

    path: str | None
    pair: str | None
    row_base: int = 0

    def error(self, detail: str, rule: str, position: int | None = None) -> CandleDataError:
        """Build the error for the row at 0-based ``position`` (``None``: not tied to a row)."""
        row = None if position is None else int(position) + self.row_base
        return CandleDataError(detail, path=self.path, row=row, rule=rule, pair=self.pair)


def check_columns(
    columns: Iterable[str], required: Iterable[str], allowed: Iterable[str], origin: Origin
) -> None:
    """Raise ``missing_column`` / ``extra_column`` unless ``required <= columns <= allowed``."""
    have = list(columns)
    missing = [c for c in required if c not in have]
    if missing:
        raise origin.error(f"missing column(s) {missing}; have {have}", rules.MISSING_COLUMN)
    allowed_set = set(allowed) | set(required)
    extra = [c for c in have if c not in allowed_set]
    if extra:
        raise origin.error(f"unexpected column(s) {extra}; allowed {sorted(allowed_set)}",
                           rules.EXTRA_COLUMN)


def _numeric(raw: pd.DataFrame, origin: Origin) -> dict[str, np.ndarray]:
    """Each canonical column as float64; ``non_numeric`` at the first unparsable cell."""
    out: dict[str, np.ndarray] = {}
    for col in CANDLE_COLUMNS:
        series = raw[col]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            coerced = pd.to_numeric(series, errors="coerce")
            bad = coerced.isna().to_numpy() & series.notna().to_numpy()
            if bad.any() or pd.api.types.is_bool_dtype(series):
                pos = int(np.argmax(bad)) if bad.any() else 0
                raise origin.error(f"column {col!r}: value {series.iloc[pos]!r} is not a number",
                                   rules.NON_NUMERIC, pos)
            series = coerced
        out[col] = series.to_numpy(dtype="float64", na_value=np.nan)
    return out


def _first(mask: np.ndarray) -> int | None:
    return int(np.argmax(mask)) if mask.any() else None


def _value_errors(v: dict[str, np.ndarray]) -> list[tuple[int, str, str]]:
    """(first row, rule, detail) for every value rule that some row breaks."""
    found: list[tuple[int, str, str]] = []

    def add(mask: np.ndarray, rule: str, detail: str) -> None:
        pos = _first(mask)
        if pos is not None:
            found.append((pos, rule, detail))

    for col in CANDLE_COLUMNS:
        add(~np.isfinite(v[col]), rules.NAN, f"column {col!r} is NaN, empty or infinite")
    prices = np.column_stack([v[c] for c in PRICE_COLUMNS])
    add((prices <= 0).any(axis=1), rules.NON_POSITIVE_PRICE, "a price is zero or negative")
    add(v["volume"] < 0, rules.NEGATIVE_VOLUME, "volume is negative")
    body_hi = np.maximum(v["open"], v["close"])
    body_lo = np.minimum(v["open"], v["close"])
    add(v["high"] < body_hi, rules.HIGH_BELOW_BODY, "high is below max(open, close)")
    add(v["low"] > body_lo, rules.LOW_ABOVE_BODY, "low is above min(open, close)")
    return found


def _timestamp_errors(ts: np.ndarray, interval_s: int) -> list[tuple[int, str, str]]:
    """(first row, rule, detail) for the timestamp rules; ``ts`` is finite float64 seconds."""
    found: list[tuple[int, str, str]] = []
    out_of_range = _first((ts < MIN_TIMESTAMP_S) | (ts >= MAX_TIMESTAMP_S))
    if out_of_range is not None:
        found.append((out_of_range, rules.TIMESTAMP_RANGE,
                      f"timestamp {ts[out_of_range]:.0f} is not seconds in 2009..2100 "
                      "(milliseconds?)"))
    # Epoch-aligned grid for intervals that divide a day (every interval the package uses).
    anchor = 0.0 if 86_400 % interval_s == 0 else ts[0]
    off = _first((np.floor(ts) != ts) | (np.mod(ts - anchor, interval_s) != 0))
    if off is not None:
        found.append((off, rules.OFF_GRID,
                      f"timestamp {ts[off]} is not on the {interval_s} s grid"))
    step = np.diff(ts)
    bad_step = _first(step <= 0)
    if bad_step is not None:
        pos = bad_step + 1
        rule = rules.DUPLICATE_TIMESTAMP if step[bad_step] == 0 else rules.UNSORTED_TIMESTAMP
        found.append((pos, rule, f"timestamp {ts[pos]:.0f} follows {ts[pos - 1]:.0f}"))
    elif len(step) and step.min() > interval_s:
        found.append((1, rules.INTERVAL_MISMATCH,
                      f"no two rows are {interval_s} s apart (smallest step {step.min():.0f} s)"))
    return found


def validate_candles(raw: pd.DataFrame, interval_s: int, origin: Origin) -> pd.DataFrame:
    """Check a raw candle frame and return it in canonical form (see :mod:`ml_signals.candles`).

    Args:
        raw: frame holding at least ``timestamp`` (seconds UTC, open time; int or whole float)
            and ``open high low close volume``; other columns are ignored (check them first with
            :func:`check_columns`).
        interval_s: bar length in seconds.
        origin: file, pair and row numbering for error messages.

    Returns:
        New frame, columns ``CANDLE_COLUMNS``, ``timestamp`` int64, the rest float64, RangeIndex.
        Gaps are not filled here (see :func:`ml_signals.candles.fill_gaps`).

    Raises:
        CandleDataError: ``empty``, ``missing_column``, ``non_numeric``, ``nan``,
            ``non_positive_price``, ``negative_volume``, ``high_below_open_close``,
            ``low_above_open_close``, ``timestamp_range``, ``off_grid``, ``duplicate_timestamp``,
            ``unsorted_timestamp`` or ``interval_mismatch``, reporting the earliest offending row
            (ties: the order above).
    """
    if len(raw) == 0:
        raise origin.error("no candle rows", rules.EMPTY)
    check_columns(raw.columns, CANDLE_COLUMNS, raw.columns, origin)
    values = _numeric(raw, origin)
    found = _value_errors(values)
    if not any(rule == rules.NAN for _, rule, _ in found):
        found += _timestamp_errors(values["timestamp"], interval_s)
    if found:
        pos, rule, detail = min(found, key=lambda item: item[0])
        raise origin.error(detail, rule, pos)
    frame = pd.DataFrame({col: values[col] for col in CANDLE_COLUMNS})
    frame["timestamp"] = frame["timestamp"].astype("int64")
    return frame
