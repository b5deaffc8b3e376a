"""The loaded-candles result type and the one path every loader finishes through."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from ml_signals.candle_guard import DEFAULT_MAX_MOVE_FRAC, BadCandle, flag_candles
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
        bad_candles: candles of ``frame`` the candle guard flags (:mod:`ml_signals.candle_guard`;
            with a validated frame only its one-candle move rules can fire), oldest first, each
            with its ``row`` in ``frame``, time and rule. They are kept in ``frame`` unchanged;
            :func:`training.labels.dataset.build_dataset` drops the setups whose windows touch them.
        max_move_frac: the guard's one-candle move bound these flags used (0.50 = 50 %).
    """

    pair: str
    interval_s: int
    frame: pd.DataFrame
    source: Source
    path: str | None
    filled_bars: int
    bad_candles: tuple[BadCandle, ...] = ()
    max_move_frac: float = DEFAULT_MAX_MOVE_FRAC

    def __repr__(self) -> str:
        return (f"CandleSet(pair={self.pair!r}, interval_s={self.interval_s}, "
                f"bars={len(self.frame)}, source={self.source!r}, path={self.path!r}, "
                f"filled_bars={self.filled_bars}, bad_candles={len(self.bad_candles)})")

    @property
    def bad_mask(self) -> np.ndarray:
        """Boolean array, one per row of ``frame``: True for a flagged candle."""
        mask = np.zeros(len(self.frame), dtype=bool)
        mask[[b.row for b in self.bad_candles]] = True
        return mask

    def reflag(self, max_move_frac: float) -> CandleSet:
        """The same candles flagged with another move bound (fraction > 0); logs as a load does.

        Raises:
            ValueError: ``max_move_frac`` is not a finite fraction > 0.
        """
        bad = flag_bad_candles(self.frame, self.interval_s, self.pair, self.path, max_move_frac)
        return replace(self, bad_candles=bad, max_move_frac=max_move_frac)


MAX_LOGGED_BAD_CANDLES = 10
"""Bad candles listed one per line in a pair's load warning; the rest are counted."""


def flag_bad_candles(frame: pd.DataFrame, interval_s: int, pair: str, path: str | None,
                     max_move_frac: float = DEFAULT_MAX_MOVE_FRAC) -> tuple[BadCandle, ...]:
    """Run the candle guard over a canonical frame; log one WARNING per pair with a line per
    flagged candle (time, rule, values), at most :data:`MAX_LOGGED_BAD_CANDLES` of them.

    Raises:
        ValueError: ``max_move_frac`` is not a finite fraction > 0.
    """
    flags = flag_candles(frame, interval_s, max_move_frac)
    bad = tuple(flags.bad_candles(frame))
    if bad:
        lines = [f"  {b.when}: {b.rule}: {b.detail}" for b in bad[:MAX_LOGGED_BAD_CANDLES]]
        if len(bad) > MAX_LOGGED_BAD_CANDLES:
            lines.append(f"  ... and {len(bad) - MAX_LOGGED_BAD_CANDLES} more")
        logger.warning("%s %s: %d bad candle(s) flagged (kept as they are; setups whose feature "
                       "or label window touches one are dropped):\n%s", pair,
                       path or "<frame>", len(bad), "\n".join(lines))
    return bad


def build_candle_set(
    raw: pd.DataFrame, *, pair: str, interval_s: int, source: Source, origin: Origin,
    max_move_frac: float = DEFAULT_MAX_MOVE_FRAC,
) -> CandleSet:
    """Validate ``raw`` (see :func:`~training.data.validate.validate_candles`), fill its gaps,
    log how many bars were filled (INFO for Kraken, WARNING for other sources, which should
    have no gaps), flag bad candles with the candle guard (:func:`flag_bad_candles`, moves
    beyond ``max_move_frac``), and wrap the result.

    Raises:
        CandleDataError: any validation rule.
    """
    frame, filled = fill_gaps(validate_candles(raw, interval_s, origin), interval_s)
    if filled:
        # Expected for Kraken (no row when nothing traded); unexpected anywhere else.
        level = logging.INFO if source == "kraken_csv" else logging.WARNING
        logger.log(level, "%s %s: filled %d missing %d s bars (OHLC = previous close, volume 0)",
                   pair, origin.path or "<frame>", filled, interval_s)
    bad = flag_bad_candles(frame, interval_s, pair, origin.path, max_move_frac)
    return CandleSet(pair=pair, interval_s=interval_s, frame=frame, source=source,
                     path=origin.path, filled_bars=filled, bad_candles=bad,
                     max_move_frac=max_move_frac)
