"""Candle guard: the one rule set that marks a candle as bad, for training and the live scripts.

:func:`flag_candles` looks at a canonical candle frame (:mod:`ml_signals.candles`; any extra
columns are ignored) and returns, per candle, the first rule it breaks, in this order:

==  ==========================  ===============================================================
 #  rule                        the candle is bad when
==  ==========================  ===============================================================
 1  ``nan``                     a price, the volume or the timestamp is NaN or +-inf
 2  ``non_positive_price``      open, high, low or close <= 0
 3  ``negative_volume``         volume < 0
 4  ``high_below_low``          high < low
 5  ``high_below_open_close``   high < max(open, close)
 6  ``low_above_open_close``    low > min(open, close)
 7  ``off_grid``                timestamp not a whole multiple of the interval (epoch-aligned for
                                intervals that divide a day, else aligned on the first candle)
 8  ``duplicate_timestamp``     timestamp equal to the previous row's
 9  ``unsorted_timestamp``      timestamp earlier than the previous row's
10  ``close_move``              ``|close / previous close - 1| > max_move_frac``
11  ``open_gap``                ``|open / previous close - 1| > max_move_frac``
==  ==========================  ===============================================================

The one-candle move (rules 10 and 11) is measured two ways against the **previous row's close**:
close-to-close (the candle's own return, as the features' ``ret_1_bar_frac``) and open versus the
previous close (a jump between candles: a redenomination, a halt that reopens elsewhere). Both
are absolute fractions, so the default bound :data:`DEFAULT_MAX_MOVE_FRAC` = 0.50 flags a rise
above +50 % and a fall below -50 % (original plan: "a price change > 50 % in one candle is bad
data"). A move is only measured where the previous close is finite and > 0; the first row has
no move. A bad spike is usually flagged twice: the spike and the candle after it, whose move
is measured from the spike's close.

A high below the low always breaks rule 5 or 6 as well; it is listed first so it is named.

Everything is vectorised (NumPy): about 10 array passes over the frame, so a 300-candle live
window costs tens of microseconds and a 50,000-candle history a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_signals.timeutil import format_utc

DEFAULT_MAX_MOVE_FRAC: Final[float] = 0.50
"""Largest one-candle move accepted, as a fraction (0.50 = 50 %); original plan, data quality:
"a price change > 50 % in one candle is bad data"."""

NAN: Final = "nan"
NON_POSITIVE_PRICE: Final = "non_positive_price"
NEGATIVE_VOLUME: Final = "negative_volume"
HIGH_BELOW_LOW: Final = "high_below_low"
HIGH_BELOW_BODY: Final = "high_below_open_close"
LOW_ABOVE_BODY: Final = "low_above_open_close"
OFF_GRID: Final = "off_grid"
DUPLICATE_TIMESTAMP: Final = "duplicate_timestamp"
UNSORTED_TIMESTAMP: Final = "unsorted_timestamp"
CLOSE_MOVE: Final = "close_move"
OPEN_GAP: Final = "open_gap"

RULES: Final[tuple[str, ...]] = (
    NAN, NON_POSITIVE_PRICE, NEGATIVE_VOLUME, HIGH_BELOW_LOW, HIGH_BELOW_BODY, LOW_ABOVE_BODY,
    OFF_GRID, DUPLICATE_TIMESTAMP, UNSORTED_TIMESTAMP, CLOSE_MOVE, OPEN_GAP,
)
"""Every rule, in the order they are checked (the first one a candle breaks is reported).
``flag_candles(...).codes`` holds ``RULES.index(rule) + 1`` per candle, 0 for a good one."""

VALUE_RULES: Final[frozenset[str]] = frozenset(RULES[:6])
"""Rules about one candle's own values (1-6)."""
TIMESTAMP_RULES: Final[frozenset[str]] = frozenset(RULES[6:9])
"""Rules about a candle's time (7-9)."""
MOVE_RULES: Final[frozenset[str]] = frozenset(RULES[9:])
"""Rules about the move from the previous candle (10-11)."""

_PRICES = ("open", "high", "low", "close")


def _code(rule: str) -> int:
    return RULES.index(rule) + 1


@dataclass(frozen=True, slots=True)
class BadCandle:
    """One flagged candle.

    Attributes:
        row: 0-based position in the frame that was checked (``frame.iloc[row]``).
        timestamp_s: the candle's open time (s, UTC); ``None`` when the timestamp is NaN.
        rule: the first rule it breaks (one of :data:`RULES`).
        detail: the values that break it, e.g. ``"close 0.0102 is +97700.0 % from the previous
            close 1.04e-05 (bound 50 %)"``.
    """

    row: int
    timestamp_s: int | None
    rule: str
    detail: str

    @property
    def when(self) -> str:
        """``"2021-01-23 03:00 UTC"`` (or ``"row 12, no timestamp"``)."""
        if self.timestamp_s is None:
            return f"row {self.row}, no timestamp"
        return format_utc(self.timestamp_s)

    def describe(self, pair: str) -> str:
        """One line: ``"<pair> candle <time>: <rule>: <detail>"``."""
        return f"{pair} candle {self.when}: {self.rule}: {self.detail}"


@dataclass(frozen=True, eq=False)
class CandleFlags:
    """What :func:`flag_candles` found.

    Attributes:
        codes: uint8 array, one per candle: 0 good, ``k`` the rule ``RULES[k - 1]``.
        max_move_frac: the move bound used (fraction).
    """

    codes: npt.NDArray[np.uint8]
    max_move_frac: float

    @property
    def bad(self) -> npt.NDArray[np.bool_]:
        """Boolean mask of the bad candles."""
        return self.codes > 0

    @property
    def n_bad(self) -> int:
        """Number of bad candles."""
        return int(np.count_nonzero(self.codes))

    def rules(self) -> npt.NDArray[np.object_]:
        """Rule name per candle (object array), ``""`` for a good candle."""
        names: npt.NDArray[np.object_] = np.array(("", *RULES), dtype=object)
        return names[self.codes]

    def counts(self) -> dict[str, int]:
        """``{rule: candles}`` for the rules that flagged something, in :data:`RULES` order."""
        found = np.bincount(self.codes, minlength=len(RULES) + 1)
        return {rule: int(found[k + 1]) for k, rule in enumerate(RULES) if found[k + 1]}

    def bad_candles(self, frame: pd.DataFrame,
                    rows: npt.ArrayLike | None = None) -> list[BadCandle]:
        """The flagged candles of ``frame`` (the frame these flags were computed on), oldest
        first, each with its values; ``rows`` limits the list to those positions."""
        positions = np.flatnonzero(self.codes) if rows is None else np.asarray(rows)
        return [_bad_candle(frame, int(row), RULES[int(self.codes[row]) - 1], self.max_move_frac)
                for row in positions if self.codes[row]]


def flag_candles(
    frame: pd.DataFrame, interval_s: int, max_move_frac: float = DEFAULT_MAX_MOVE_FRAC
) -> CandleFlags:
    """Flag every bad candle of ``frame`` with the first rule it breaks (module docstring).

    Args:
        frame: candles with ``timestamp`` (open time, s UTC; int or float) and ``open high low
            close volume``, in the order received; extra columns are ignored.
        interval_s: candle length in seconds.
        max_move_frac: one-candle move bound, fraction > 0 (0.50 = 50 %).

    Returns:
        :class:`CandleFlags` with one code per row of ``frame``.

    Raises:
        ValueError: ``interval_s`` or ``max_move_frac`` not positive, or a column is missing.
    """
    _check_args(interval_s, max_move_frac)
    return CandleFlags(_codes(_matrix(frame), interval_s, max_move_frac), max_move_frac)


_COLUMNS = ("timestamp", *_PRICES, "volume")
_COLUMNS_INDEX = pd.Index(_COLUMNS)


def _check_args(interval_s: int, max_move_frac: float) -> None:
    if interval_s <= 0:
        raise ValueError(f"interval_s must be > 0 seconds, got {interval_s}")
    if not (max_move_frac > 0 and np.isfinite(max_move_frac)):
        raise ValueError(f"max_move_frac must be a finite fraction > 0, got {max_move_frac}")


def _matrix(frame: pd.DataFrame, start: int = 0) -> npt.NDArray[np.float64]:
    """Rows ``start:`` of ``frame``'s checked columns as a float (rows x 6) array,
    :data:`_COLUMNS` order.

    Raises:
        ValueError: a column is missing.
    """
    missing = [c for c in _COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"candles lack column(s) {missing}; have {list(frame.columns)}")
    if len(frame) <= start:
        return np.empty((0, len(_COLUMNS)))
    if frame.columns.equals(_COLUMNS_INDEX):  # the canonical frame: no column selection
        whole = frame.to_numpy(dtype="float64", na_value=np.nan)
        return np.ascontiguousarray(whole[start:])
    columns = frame.columns.get_indexer(_COLUMNS_INDEX)
    return frame.iloc[start:, columns].to_numpy(dtype="float64", na_value=np.nan)


def _codes(m: npt.NDArray[np.float64], interval_s: int,
           max_move_frac: float) -> npt.NDArray[np.uint8]:
    """Rule code per row of the (rows x 6) matrix ``m`` (0 = clean)."""
    v = {c: m[:, k] for k, c in enumerate(_COLUMNS)}
    codes = np.zeros(len(m), dtype=np.uint8)
    # Written from the last rule to the first: a candle keeps the first rule it breaks.
    for rule, mask in reversed(_masks(v, interval_s, max_move_frac)):
        codes[mask] = _code(rule)
    return codes


def _masks(v: dict[str, npt.NDArray[np.float64]], interval_s: int,
           max_move_frac: float) -> list[tuple[str, npt.NDArray[np.bool_]]]:
    """(rule, mask) in :data:`RULES` order."""
    ts, o, h, lo, c = v["timestamp"], v["open"], v["high"], v["low"], v["close"]
    finite = np.isfinite(np.column_stack([v[k] for k in ("timestamp", *_PRICES, "volume")]))
    prices = np.column_stack([o, h, lo, c])
    ts_ok = np.isfinite(ts)
    anchor = 0.0 if 86_400 % interval_s == 0 or not ts_ok.any() else ts[ts_ok][0]
    with np.errstate(invalid="ignore"):
        off_grid = ts_ok & ((np.floor(ts) != ts) | (np.mod(ts - anchor, interval_s) != 0))
    step = np.diff(ts, prepend=np.nan)
    open_move, close_move = _moves(o, c)
    return [
        (NAN, ~finite.all(axis=1)),
        (NON_POSITIVE_PRICE, (prices <= 0).any(axis=1)),
        (NEGATIVE_VOLUME, v["volume"] < 0),
        (HIGH_BELOW_LOW, h < lo),
        (HIGH_BELOW_BODY, h < np.maximum(o, c)),
        (LOW_ABOVE_BODY, lo > np.minimum(o, c)),
        (OFF_GRID, off_grid),
        (DUPLICATE_TIMESTAMP, step == 0),
        (UNSORTED_TIMESTAMP, step < 0),
        (CLOSE_MOVE, np.abs(close_move) > max_move_frac),
        (OPEN_GAP, np.abs(open_move) > max_move_frac),
    ]


def _moves(open_: npt.NDArray[np.float64], close: npt.NDArray[np.float64]
           ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(open / previous close - 1, close / previous close - 1); NaN where the previous close is
    not a finite price > 0, and on the first row."""
    prev = np.concatenate(([np.nan], close[:-1]))
    usable = np.isfinite(prev) & (prev > 0)
    safe_prev = np.where(usable, prev, 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        open_move = np.where(usable, open_ / safe_prev - 1.0, np.nan)
        close_move = np.where(usable, close / safe_prev - 1.0, np.nan)
    return open_move, close_move


def _bad_candle(frame: pd.DataFrame, row: int, rule: str, max_move_frac: float) -> BadCandle:
    """The :class:`BadCandle` for ``frame.iloc[row]`` flagged by ``rule``."""
    get = frame.iloc[row]
    ts = float(get["timestamp"])
    o, h, lo, c, vol = (float(get[k]) for k in (*_PRICES, "volume"))
    prev = float(frame["close"].iloc[row - 1]) if row > 0 else float("nan")
    details = {
        NAN: f"open {o}, high {h}, low {lo}, close {c}, volume {vol}, timestamp {ts}",
        NON_POSITIVE_PRICE: f"open {o}, high {h}, low {lo}, close {c}",
        NEGATIVE_VOLUME: f"volume {vol}",
        HIGH_BELOW_LOW: f"high {h} < low {lo}",
        HIGH_BELOW_BODY: f"high {h} < max(open {o}, close {c})",
        LOW_ABOVE_BODY: f"low {lo} > min(open {o}, close {c})",
        OFF_GRID: f"timestamp {ts:.0f} is not on the grid of the candle interval",
        DUPLICATE_TIMESTAMP: "same timestamp as the previous row",
        UNSORTED_TIMESTAMP: (f"timestamp {ts:.0f} is before the previous row's "
                             f"{float(frame['timestamp'].iloc[row - 1]):.0f}" if row else ""),
        CLOSE_MOVE: _move_text("close", c, prev, max_move_frac),
        OPEN_GAP: _move_text("open", o, prev, max_move_frac),
    }
    return BadCandle(row=row, timestamp_s=int(ts) if np.isfinite(ts) else None, rule=rule,
                     detail=details[rule])


def _move_text(name: str, price: float, prev_close: float, bound: float) -> str:
    move = price / prev_close - 1.0
    return (f"{name} {price:.6g} is {move:+.1%} from the previous close {prev_close:.6g} "
            f"(bound {bound:.0%})")


def window_rows(n_rows: int, window_bars: int) -> slice:
    """Rows of the last ``window_bars`` candles of an ``n_rows`` frame (all when shorter)."""
    return slice(max(n_rows - window_bars, 0), n_rows)


def newest_bad_in_window(
    frame: pd.DataFrame, interval_s: int, window_bars: int,
    max_move_frac: float = DEFAULT_MAX_MOVE_FRAC,
) -> tuple[BadCandle | None, int]:
    """The newest bad candle among the last ``window_bars`` rows of ``frame``, and how many of
    those rows are bad.

    Only the window and the candle before it are checked (that candle's close is the first
    window candle's previous close), so the cost does not grow with the frame.

    Returns:
        ``(None, 0)`` when the window is clean, else ``(newest bad candle, bad candles)``; the
        candle's ``row`` is its position in ``frame``.

    Raises:
        ValueError: as :func:`flag_candles`, or ``window_bars`` < 1.
    """
    if window_bars < 1:
        raise ValueError(f"window_bars must be >= 1, got {window_bars}")
    start = max(len(frame) - window_bars - 1, 0)
    part = frame.iloc[start:]
    flags = flag_candles(part, interval_s, max_move_frac)
    return _newest_of(frame, start, flags, window_bars)


def _newest_of(frame: pd.DataFrame, start: int, flags: CandleFlags,
               window_bars: int) -> tuple[BadCandle | None, int]:
    """:func:`newest_bad_in_window`'s answer from the flags of ``frame.iloc[start:]``."""
    n_part = len(flags.codes)
    codes = flags.codes[window_rows(n_part, window_bars)]
    if not codes.any():
        return None, 0
    part = frame.iloc[start:]
    newest = n_part - len(codes) + int(np.flatnonzero(codes)[-1])
    found = flags.bad_candles(part, np.array([newest]))[0]
    return (BadCandle(start + found.row, found.timestamp_s, found.rule, found.detail),
            int(np.count_nonzero(codes)))


class WindowCheck:
    """:func:`newest_bad_in_window` per key (a pair), flagging only candles not flagged before.

    A live script checks the same ~704-candle window again at every closed candle, shifted by
    one. This keeps, per key, the last window's values and codes; at the next check a row whose
    values *and* previous row's values equal those of a row checked before keeps that row's
    code (every rule reads a candle and the one before it only), and every other row - new
    candles, a candle the feed revised, the window's first row - is flagged afresh. The answer
    is the one :func:`newest_bad_in_window` gives on the same frame. Intervals that do not
    divide a day are checked whole each time (their grid is anchored on the window's first
    candle).

    Args:
        interval_s: candle length (s). window_bars: candles checked (>= 1).
        max_move_frac: one-candle move bound, fraction > 0 (0.50 = 50 %).

    Raises:
        ValueError: ``window_bars`` < 1 or ``max_move_frac`` not a finite fraction > 0.
    """

    def __init__(self, interval_s: int, window_bars: int,
                 max_move_frac: float = DEFAULT_MAX_MOVE_FRAC) -> None:
        if window_bars < 1:
            raise ValueError(f"window_bars must be >= 1, got {window_bars}")
        _check_args(interval_s, max_move_frac)
        self.interval_s = interval_s
        self.window_bars = window_bars
        self.max_move_frac = max_move_frac
        self._memo: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.uint8]]] = {}
        self._answers: dict[str, tuple[pd.DataFrame, tuple[BadCandle | None, int]]] = {}
        self.rows_flagged = 0
        """Rows flagged afresh since creation (the work done; for tests and benchmarks)."""

    def newest_bad(self, key: str, frame: pd.DataFrame) -> tuple[BadCandle | None, int]:
        """:func:`newest_bad_in_window` of ``frame`` (``key``: whose candles, e.g. the pair).

        The same frame object checked again under the same key (the BTC reference, read by
        every pair's decision on one candle) gets the answer of its last check without a new
        pass: candle frames are never modified once built (:func:`ml_signals.candles.
        closed_frame` builds a new one per decision).

        Raises:
            ValueError: a column is missing.
        """
        kept = self._answers.get(key)
        if kept is not None and kept[0] is frame:
            return kept[1]
        start = max(len(frame) - self.window_bars - 1, 0)
        m = _matrix(frame, start)
        codes = self._codes(key, m)
        answer = _newest_of(frame, start, CandleFlags(codes, self.max_move_frac),
                            self.window_bars)
        self._answers[key] = (frame, answer)
        return answer

    def _codes(self, key: str, m: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
        old = self._memo.get(key)
        kept = _rows_kept(old[0], m) if old is not None and 86_400 % self.interval_s == 0 \
            else (0, 0)
        j, k = kept  # rows m[:k] equal old[0][j:j + k]
        if k < 2 or old is None:
            codes = _codes(m, self.interval_s, self.max_move_frac)
            self.rows_flagged += len(m)
        else:
            codes = np.empty(len(m), dtype=np.uint8)
            codes[1:k] = old[1][j + 1:j + k]
            # one pass over [first row, row k-1, rows k..]: the first row is flagged without a
            # previous row, rows k.. with theirs; row k-1's own code here is not used
            fresh = _codes(np.vstack([m[:1], m[k - 1:]]), self.interval_s, self.max_move_frac)
            codes[0] = fresh[0]
            codes[k:] = fresh[2:]
            self.rows_flagged += 1 + len(m) - k
        self._memo[key] = (m, codes)
        return codes


def _rows_kept(old: npt.NDArray[np.float64],
               new: npt.NDArray[np.float64]) -> tuple[int, int]:
    """``(j, k)``: the first ``k`` rows of ``new`` equal (NaN equal to NaN) rows ``j .. j+k-1``
    of ``old``, where ``j`` is the first row of ``old`` with ``new``'s first timestamp;
    ``(0, 0)`` when there is none."""
    if not len(new) or not len(old):
        return 0, 0
    at = np.flatnonzero(old[:, 0] == new[0, 0])
    if not at.size:
        return 0, 0
    j = int(at[0])
    n = min(len(old) - j, len(new))
    a, b = old[j:j + n], new[:n]
    same = ((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)
    k = n if same.all() else int(np.argmin(same))
    return j, k
