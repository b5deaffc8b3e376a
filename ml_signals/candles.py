"""The canonical candle frame every part of the package speaks.

Shape: a ``pandas.DataFrame`` with exactly the columns :data:`CANDLE_COLUMNS`:

- ``timestamp``: ``int64``, the candle's **open** time in seconds since the epoch, UTC
  (Hummingbot's ``CandlesBase`` convention). A candle at ``timestamp`` closes at
  ``timestamp + interval_s``; a decision taken on it can act no earlier than the next candle.
- ``open high low close``: ``float64`` prices in quote currency.
- ``volume``: ``float64`` traded amount in **base** currency.

Rows are sorted ascending, unique, and lie on the interval grid (no gaps).
"""

from __future__ import annotations

from typing import Final

CANDLE_COLUMNS: Final[tuple[str, ...]] = ("timestamp", "open", "high", "low", "close", "volume")

INTERVAL_SECONDS: Final[dict[str, int]] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "4h": 14400,
    "1d": 86400,
}
"""Candle interval names (Hummingbot / freqtrade spelling) to their length in seconds."""


def interval_seconds(interval: str) -> int:
    """Return the length of a candle interval in seconds.

    Args:
        interval: Hummingbot / freqtrade interval name such as ``"1h"`` or ``"15m"``.

    Raises:
        ValueError: if the name is not one of :data:`INTERVAL_SECONDS`.
    """
    try:
        return INTERVAL_SECONDS[interval]
    except KeyError:
        known = ", ".join(INTERVAL_SECONDS)
        raise ValueError(f"unknown candle interval {interval!r}; known: {known}") from None
