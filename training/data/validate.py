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

from ml_signals import candle_guard as guard
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


_VALUE_CODES = np.array(sorted(guard.RULES.index(r) + 1 for r in guard.VALUE_RULES))
_TIME_CODES = np.array(sorted(guard.RULES.index(r) + 1 for r in guard.TIMESTAMP_RULES))


def _candle_errors(v: dict[str, np.ndarray], interval_s: int) -> list[tuple[int, str, str]]:
    """(first row, rule, detail) from the candle guard (:mod:`ml_signals.candle_guard`): the
    first row breaking a value rule, then a timestamp range error, then the first row breaking
    a timestamp rule (the order ties resolve in). One-candle moves are not refused here; the
    loaders flag them (:attr:`~training.data.candleset.CandleSet.bad_candles`)."""
    frame = pd.DataFrame(v)
    flags = guard.flag_candles(frame, interval_s)
    found: list[tuple[int, str, str]] = []
    value_pos = _first(np.isin(flags.codes, _VALUE_CODES))
    if value_pos is not None:
        bad = flags.bad_candles(frame, np.array([value_pos]))[0]
        found.append((value_pos, bad.rule, bad.detail))
    ts = v["timestamp"]
    with np.errstate(invalid="ignore"):
        out_of_range = _first((ts < MIN_TIMESTAMP_S) | (ts >= MAX_TIMESTAMP_S))
    if out_of_range is not None:
        found.append((out_of_range, rules.TIMESTAMP_RANGE,
                      f"timestamp {ts[out_of_range]:.0f} is not seconds in 2009..2100 "
                      "(milliseconds?)"))
    time_pos = _first(np.isin(flags.codes, _TIME_CODES))
    if time_pos is not None:
        bad = flags.bad_candles(frame, np.array([time_pos]))[0]
        found.append((time_pos, bad.rule, f"{bad.detail} ({interval_s} s candles)"))
    step = np.diff(ts)
    finite_step = step[np.isfinite(step)]
    if (len(finite_step) and not (finite_step <= 0).any()
            and finite_step.min() > interval_s):
        found.append((1, rules.INTERVAL_MISMATCH,
                      f"no two rows are {interval_s} s apart (smallest step "
                      f"{finite_step.min():.0f} s)"))
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
        Gaps are not filled here (see :func:`ml_signals.candles.fill_gaps`), nor are
        one-candle moves refused (the loaders flag them).

    Raises:
        CandleDataError: ``empty``, ``missing_column``, ``non_numeric``, the candle guard's
            value rules (``nan``, ``non_positive_price``, ``negative_volume``,
            ``high_below_low``, ``high_below_open_close``, ``low_above_open_close``; see
            :mod:`ml_signals.candle_guard`), ``timestamp_range``, its timestamp rules
            (``off_grid``, ``duplicate_timestamp``, ``unsorted_timestamp``) or
            ``interval_mismatch``, reporting the earliest offending row (ties: the order
            above).
    """
    if len(raw) == 0:
        raise origin.error("no candle rows", rules.EMPTY)
    check_columns(raw.columns, CANDLE_COLUMNS, raw.columns, origin)
    values = _numeric(raw, origin)
    found = _candle_errors(values, interval_s)
    if found:
        pos, rule, detail = min(found, key=lambda item: item[0])
        raise origin.error(detail, rule, pos)
    frame = pd.DataFrame({col: values[col] for col in CANDLE_COLUMNS})
    frame["timestamp"] = frame["timestamp"].astype("int64")
    return frame
