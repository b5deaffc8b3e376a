"""The loaded-candles result type and the one path every loader finishes through."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from ml_signals.candles import fill_gaps
from training.data.validate import Origin, validate_candles

logger = logging.getLogger(__name__)

Source = Literal["kraken_csv", "freqtrade_feather", "hummingbot"]


@dataclass(frozen=True, eq=False)
class CandleSet:
    """Candles of one pair and interval, validated and gap-filled.

    Attributes:
        pair: Hummingbot form ``BASE-QUOTE``: ``"BTC-USDT"``, ``"BTC-USD"`` (Kraken XBT -> BTC).
        interval_s: bar length in seconds (3600 for 1h).
        frame: canonical frame (:mod:`ml_signals.candles`): int64 ``timestamp`` (open time,
            seconds UTC), float64 ``open high low close volume`` (volume in base); sorted,
            unique, gap-free on the grid, RangeIndex. Treat it as read-only.
        source: ``"kraken_csv"``, ``"freqtrade_feather"`` or ``"hummingbot"``.
        path: file loaded, or ``None`` for an in-memory Hummingbot frame.
        filled_bars: bars inserted for gaps (OHLC = previous close, volume 0); 0 when complete.
    """

    pair: str
    interval_s: int
    frame: pd.DataFrame
    source: Source
    path: str | None
    filled_bars: int

    def __repr__(self) -> str:
        return (f"CandleSet(pair={self.pair!r}, interval_s={self.interval_s}, "
                f"bars={len(self.frame)}, source={self.source!r}, path={self.path!r}, "
                f"filled_bars={self.filled_bars})")


def build_candle_set(
    raw: pd.DataFrame, *, pair: str, interval_s: int, source: Source, origin: Origin
) -> CandleSet:
    """Validate ``raw`` (see :func:`~training.data.validate.validate_candles`), fill its gaps,
    log how many bars were filled (INFO for Kraken, WARNING for other sources, which should
    have no gaps), and wrap the result.

    Raises:
        CandleDataError: any validation rule.
    """
    frame, filled = fill_gaps(validate_candles(raw, interval_s, origin), interval_s)
    if filled:
        # Expected for Kraken (no row when nothing traded); unexpected anywhere else.
        level = logging.INFO if source == "kraken_csv" else logging.WARNING
        logger.log(level, "%s %s: filled %d missing %d s bars (OHLC = previous close, volume 0)",
                   pair, origin.path or "<frame>", filled, interval_s)
    return CandleSet(pair=pair, interval_s=interval_s, frame=frame, source=source,
                     path=origin.path, filled_bars=filled)
