"""Number formatting for every training report: console and Markdown tables, and the HTML.

One home for how a fraction, an interval, a count or a time is shown. Two styles, because the
two kinds of report were read differently from the start and their files are compared run to
run:

- text (console, ``summary.md``, ``evaluate`` / ``compare`` / ``shadow-report`` output):
  missing values are ``-``, percentages always carry a sign (``+1.23%``), intervals follow the
  value as `` [lo, hi]``; :func:`text_table` lays rows out in fixed-width columns;
- display (the HTML reports, ``fmt_*``): missing values are an en dash ``–``, a percentage that
  rounds to zero is unsigned (``0.00%``), counts get thousands separators, infinities are ``∞``.

Inputs are fractions (0.0123 = 1.23 %), counts, quote amounts and UTC seconds, as the
computation modules (:mod:`training.evaluation`, :mod:`training.backtest`) return them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

MISSING: Final = "-"
"""Text style: a value that is absent, NaN or infinite."""

DASH: Final = "–"
"""Display style: a value that is absent or NaN."""


# --- text style -----------------------------------------------------------------------------

def _finite(v: Any) -> float | None:
    """``v`` as a finite float, or ``None`` (None, NaN, infinite)."""
    if v is None:
        return None
    x = float(v)
    return x if math.isfinite(x) else None


def signed_pct(v: Any) -> str:
    """Fraction as a signed percentage, two decimals: 0.01234 -> ``+1.23%``; missing -> ``-``."""
    x = _finite(v)
    return MISSING if x is None else f"{100 * x:+.2f}%"


def share_pct(v: Any) -> str:
    """A share in [0, 1] as an unsigned percentage, one decimal: 0.5648 -> ``56.5%``."""
    x = _finite(v)
    return MISSING if x is None else f"{100 * x:.1f}%"


def num(v: Any, digits: int = 3) -> str:
    """Plain number (AUC, profit factor): ``0.537``; missing or infinite -> ``-``."""
    x = _finite(v)
    return MISSING if x is None else f"{x:.{digits}f}"


def interval(pair: Sequence[Any] | None, pct: bool) -> str:
    """A 95 % interval appended to its value: `` [-2.00%, +2.21%]`` (``pct``) or
    `` [0.452, 0.538]``; no interval -> ``""``."""
    if not pair:
        return ""
    lo, hi = pair
    f = signed_pct if pct else num
    return f" [{f(lo)}, {f(hi)}]"


def metric(value: float | None, pct: bool = False, digits: int = 3) -> str:
    """A per-setup metric cell (training summary table): missing -> ``-``, infinite -> ``inf``
    (a profit factor without losses), ``pct`` -> :func:`signed_pct`, else ``digits``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value * 100:+.2f}%" if pct else f"{value:.{digits}f}"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Fixed-width text table: right-aligned columns two spaces apart, a dashed rule under
    the header."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    fmt = lambda r: "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True))  # noqa: E731
    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, rows)])


# --- display style (HTML) -------------------------------------------------------------------

def _value(x: object) -> float | None:
    """``x`` as a float, or ``None`` when missing (None, NaN or not a number)."""
    if x is None or isinstance(x, bool) or not isinstance(x, int | float | np.number):
        return None
    v = float(x)
    return None if math.isnan(v) else v


def fmt_signed_pct(frac: object, digits: int = 2) -> str:
    """Fraction as a signed percentage: 0.01234 -> ``+1.23%``; zero -> ``0.00%``; NaN -> –."""
    v = _value(frac)
    if v is None:
        return DASH
    pct = v * 100.0
    return f"{0:.{digits}f}%" if round(pct, digits) == 0 else f"{pct:+.{digits}f}%"


def fmt_rate(frac: object, digits: int = 1) -> str:
    """A share in [0, 1] as an unsigned percentage: 0.5648 -> ``56.5%``; NaN -> –."""
    v = _value(frac)
    return DASH if v is None else f"{v * 100.0:.{digits}f}%"


def fmt_num(value: object, digits: int = 2) -> str:
    """Plain number (profit factor, Sharpe, AUC): ``1.36``; infinity -> ∞; NaN -> –."""
    v = _value(value)
    if v is None:
        return DASH
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return f"{v:.{digits}f}"


def fmt_int(value: object) -> str:
    """Count with thousands separators; NaN -> –."""
    v = _value(value)
    return DASH if v is None else f"{int(v):,}"


def fmt_quote(value: object) -> str:
    """Signed quote amount: ``+1,234.56``; zero -> ``0.00``; NaN -> –."""
    v = _value(value)
    if v is None:
        return DASH
    return "0.00" if round(v, 2) == 0 else f"{v:+,.2f}"


def fmt_utc(ts_s: object, with_time: bool = True) -> str:
    """UTC seconds as ISO 8601: ``2025-01-29T10:00Z`` (or the date alone); missing -> –."""
    v = _value(ts_s)
    if v is None:
        return DASH
    return time.strftime("%Y-%m-%dT%H:%MZ" if with_time else "%Y-%m-%d", time.gmtime(int(v)))


def fmt_drawdown(frac: object) -> str:
    """Drawdown as a signed loss, ``-5.13%``, whichever sign the input carries."""
    v = _value(frac)
    return fmt_signed_pct(None if v is None else -abs(v))
