"""Market state at decision time, from a universe of pairs: breadth, universe returns and each
pair's return rank.

Why: DCA's signal is market timing (BTC drawdown, bear regime, weak breadth), not pair
selection — ranked within one day its setups' AUC is 0.475 — and a model with cross-sectional
inputs ranked channel pairs within a day at AUC 0.64. The per-pair features see one pair and
BTC; these see the universe.

Columns (:data:`MARKET_COLUMNS`), at candle ``t`` from closes at or before ``t`` only:

* ``mkt_breadth_ema50_frac``: share of the universe's pairs whose close is above their own
  EMA50 (``ewm(span=50, adjust=False)`` of the close, defined from its 50th candle);
* ``mkt_ret_{1,4,24}_frac``: mean return of the universe's pairs over 1, 4 and 24 candles;
* ``mkt_rank_ret_{1,4,24}``: the pair's percentile rank (0-1, ties averaged) of its own return
  among the universe's pairs over the same spans.

A candle with fewer than :data:`MIN_UNIVERSE` pairs defined gives NaN. The same function serves
training (every loaded pair, whole history) and the live scripts (their ``universe_pairs``
feeds, last candles): the EMA forgets its start within the live window (weight
``(49/51)^650 < 1e-11``), so both agree to float rounding. No Hummingbot import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

MARKET_COLUMNS: Final[tuple[str, ...]] = (
    "mkt_breadth_ema50_frac", "mkt_ret_1_bar_frac", "mkt_ret_4_bars_frac",
    "mkt_ret_24_bars_frac", "mkt_rank_ret_1_bar", "mkt_rank_ret_4_bars",
    "mkt_rank_ret_24_bars",
)
SPANS: Final[tuple[int, ...]] = (1, 4, 24)
EMA_SPAN: Final = 50
MIN_UNIVERSE: Final = 5
"""Fewest pairs with a defined value before a cross-section means anything."""


class MarketState:
    """Universe-wide state per candle time, computed once from every pair's closes.

    Args:
        closes: ``{pair: frame}`` with ``timestamp`` (int seconds, candle open) and ``close``
            columns, each sorted; pairs may cover different spans.

    Raises:
        ValueError: fewer than :data:`MIN_UNIVERSE` pairs, or a frame without the columns.
    """

    def __init__(self, closes: Mapping[str, pd.DataFrame]) -> None:
        if len(closes) < MIN_UNIVERSE:
            raise ValueError(f"market features need >= {MIN_UNIVERSE} pairs, got {len(closes)}")
        series = {}
        for pair, frame in closes.items():
            if not {"timestamp", "close"} <= set(frame.columns):
                raise ValueError(f"{pair}: market features need timestamp and close columns")
            series[pair] = pd.Series(frame["close"].to_numpy("float64"),
                                     index=frame["timestamp"].to_numpy("int64"))
        wide = pd.DataFrame(series).sort_index()
        ema = wide.apply(lambda c: _own_ema(c))
        above = (wide > ema).where(ema.notna() & wide.notna())
        counts = above.notna().sum(axis=1).astype("float64")
        share = above.sum(axis=1).astype("float64") / counts.where(counts > 0)
        self.breadth = share.where(counts >= MIN_UNIVERSE)
        self.returns: dict[int, pd.DataFrame] = {}
        self.mean_return: dict[int, pd.Series] = {}
        self.rank: dict[int, pd.DataFrame] = {}
        for k in SPANS:
            ret = wide.apply(lambda c, k=k: _own_return(c, k))
            n = ret.notna().sum(axis=1)
            self.returns[k] = ret
            self.mean_return[k] = ret.mean(axis=1).where(n >= MIN_UNIVERSE)
            ranked = ret.rank(axis=1, pct=True)
            ranked.loc[n < MIN_UNIVERSE] = np.nan
            self.rank[k] = ranked

    def features(self, pair: str, timestamps: npt.ArrayLike) -> pd.DataFrame:
        """:data:`MARKET_COLUMNS` for ``pair`` at candle open times ``timestamps`` (int
        seconds, shape (n,)); NaN where the state is undefined or the pair not in it."""
        ts = pd.Index(np.asarray(timestamps, dtype="int64"))
        out = {"mkt_breadth_ema50_frac": self.breadth.reindex(ts).to_numpy()}
        for k, name in zip(SPANS, ("1_bar", "4_bars", "24_bars"), strict=True):
            out[f"mkt_ret_{name}_frac"] = self.mean_return[k].reindex(ts).to_numpy()
        for k, name in zip(SPANS, ("1_bar", "4_bars", "24_bars"), strict=True):
            rank = self.rank[k][pair] if pair in self.rank[k] else pd.Series(dtype="float64")
            out[f"mkt_rank_ret_{name}"] = rank.reindex(ts).to_numpy()
        return pd.DataFrame(out, columns=list(MARKET_COLUMNS)).astype("float64")


def needs_market(columns: Sequence[str]) -> bool:
    """True when a model's input columns include any of :data:`MARKET_COLUMNS`."""
    return any(c in MARKET_COLUMNS for c in columns)


def add_market_row(features: pd.DataFrame, state: MarketState, pair: str,
                   timestamp: int) -> pd.DataFrame:
    """``features`` (one pair's feature frame, newest row last) with :data:`MARKET_COLUMNS`
    appended: the values at ``timestamp`` (open time of the newest row) on the last row, NaN
    above it (a decision reads the last row only). The live scripts call this with a
    :class:`MarketState` built from their feeds' closed candles; training computes the same
    columns with :meth:`MarketState.features` over the whole history.

    Raises:
        ValueError: a market value at ``timestamp`` is undefined (fewer than
            :data:`MIN_UNIVERSE` pairs with enough candles, or ``pair`` not in the universe):
            the model cannot score this candle.
    """
    row = state.features(pair, np.array([timestamp], dtype="int64")).to_numpy("float64")[0]
    if not np.isfinite(row).all():
        missing = [c for c, v in zip(MARKET_COLUMNS, row, strict=True) if not np.isfinite(v)]
        raise ValueError(f"{pair}: market features undefined at {timestamp} ({', '.join(missing)}"
                         f"); universe_pairs must feed >= {MIN_UNIVERSE} pairs incl. {pair}")
    out = features.copy()
    for c, v in zip(MARKET_COLUMNS, row, strict=True):
        values = np.full(len(out), np.nan)
        values[-1] = float(v)
        out[c] = values
    return out


def _own_ema(close: pd.Series) -> pd.Series:
    """EMA50 of one pair over its own defined closes (gaps of other pairs do not reset it)."""
    valid = close.dropna()
    ema = valid.ewm(span=EMA_SPAN, adjust=False).mean()
    ema.iloc[: EMA_SPAN - 1] = np.nan
    return ema.reindex(close.index)


def _own_return(close: pd.Series, k: int) -> pd.Series:
    """Return over ``k`` of the pair's own candles (its first ``k`` are NaN)."""
    valid = close.dropna()
    return (valid / valid.shift(k) - 1.0).reindex(close.index)
