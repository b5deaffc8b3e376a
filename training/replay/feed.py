"""Real candles served through Hummingbot's own candles-feed interface, as of the replay clock.

A V2 script reads candles with ``market_data_provider.get_candles_df(connector, pair, interval,
max_records)``; the provider builds feeds with ``CandlesFactory.get_candle(CandlesConfig)``.
During a replay, :func:`replay_candles_factory` points every entry of ``CandlesFactory``'s
registry at :class:`ReplayCandles`, a ``CandlesBase`` subclass that never touches the network and
answers ``candles_df`` from a :class:`CandleStore` of real candles **as of the replay clock**:

- only candles closed at or before the clock time (``timestamp + interval <= now``), newest
  last, at most ``max_records`` rows like Hummingbot's ring buffer;
- then, when ``forming`` is on (the default, as Hummingbot's live feeds do), the candle still
  forming, built only from the path prices already shown (:func:`.path.forming_candle`);
- Hummingbot's ten columns; the four the data does not have (``quote_asset_volume``,
  ``n_trades``, ``taker_buy_base_volume``, ``taker_buy_quote_volume``) are NaN;
- ``ready`` when the buffer would be full (live: after the REST back-fill), so the history
  before the replay start stands in for that back-fill.

The candles of a pair are served whatever candles connector the script names (``kraken``,
``binance``): the replay data set decides the source, not the script.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from hummingbot.data_feed.candles_feed.candles_base import CandlesBase
from hummingbot.data_feed.candles_feed.candles_factory import CandlesFactory

from training.replay.path import PathOrder, candle_path, forming_candle

_FEED_COLUMNS = pd.Index(CandlesBase.columns)
"""Hummingbot's ``candles_df`` columns, built once (an index built per frame costs more than
the frame's values)."""


@dataclass(frozen=True, eq=False)
class PairCandleArrays:
    """One pair's whole candle history as NumPy arrays (canonical frame columns, see
    :mod:`ml_signals.candles`), which the replay's feeds slice as of the clock. Not
    :class:`training.backtest.market.PairCandles` (the portfolio backtest's market view)."""

    pair: str
    timestamp: np.ndarray  # int64 open time, seconds
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def from_frame(cls, pair: str, frame: pd.DataFrame) -> PairCandleArrays:
        """From a canonical candle frame (sorted, unique, on the grid)."""
        return cls(pair, frame["timestamp"].to_numpy("int64"),
                   *(frame[c].to_numpy("float64") for c in ("open", "high", "low", "close",
                                                           "volume")))

    def index_of(self, ts: int) -> int:
        """Row of the candle opening at ``ts``.

        Raises:
            KeyError: no such candle (outside the data or a gap).
        """
        i = int(np.searchsorted(self.timestamp, ts))
        if i >= len(self.timestamp) or int(self.timestamp[i]) != ts:
            raise KeyError(f"{self.pair}: no candle opening at {ts}")
        return i

    def count_closed(self, now_s: float, interval_s: int) -> int:
        """How many candles have closed at ``now_s`` (``timestamp + interval <= now``)."""
        return int(np.searchsorted(self.timestamp, now_s - interval_s, side="right"))


@dataclass
class ReplayTimeline:
    """Where the replay is: the clock time and the path position inside the current candle.

    Attributes:
        interval_s: candle length, seconds.
        path_order: ``"olhc"`` or ``"ohlc"`` (:mod:`.path`).
        first_offset_s: seconds from a candle's open to its first sub-tick.
        subtick_s: seconds between sub-ticks.
        steps_per_leg: price steps per path leg (:func:`.path.candle_path`).
        now_s: the replay clock (epoch seconds).
        forming: include the forming candle in ``candles_df``.
    """

    interval_s: int
    path_order: PathOrder
    first_offset_s: float
    subtick_s: float
    steps_per_leg: int = 1
    now_s: float = 0.0
    forming: bool = True


@dataclass
class CandleStore:
    """Real candles per Hummingbot pair, plus the replay timeline they are served against.

    Attributes:
        pairs: pair -> :class:`PairCandleArrays`.
        timeline: the shared :class:`ReplayTimeline`.
    """

    pairs: Mapping[str, PairCandleArrays]
    timeline: ReplayTimeline
    _cache: dict[tuple[str, int, float], pd.DataFrame] = field(default_factory=dict)

    def get(self, pair: str) -> PairCandleArrays:
        """Candles of ``pair``.

        Raises:
            KeyError: the pair is not in the replay data (the message lists what is).
        """
        try:
            return self.pairs[pair]
        except KeyError:
            raise KeyError(f"no replay candles for {pair!r}; the data has "
                           f"{', '.join(sorted(self.pairs))}") from None

    def frame(self, pair: str, max_records: int) -> pd.DataFrame:
        """Hummingbot ``candles_df`` of ``pair`` at the timeline's clock (module docstring)."""
        tl = self.timeline
        key = (pair, max_records, tl.now_s)
        cached = self._cache.get(key)
        if cached is None:
            if len(self._cache) > 64:
                self._cache.clear()
            cached = self._build(self.get(pair), max_records)
            self._cache[key] = cached
        return cached.copy()

    def available(self, pair: str, max_records: int) -> int:
        """Rows ``frame`` would return now (closed candles + forming)."""
        tl = self.timeline
        data = self.get(pair)
        closed = data.count_closed(tl.now_s, tl.interval_s)
        forming = 1 if tl.forming and closed < len(data.timestamp) else 0
        return min(max_records, closed + forming)

    def _build(self, data: PairCandleArrays, max_records: int) -> pd.DataFrame:
        tl = self.timeline
        closed = data.count_closed(tl.now_s, tl.interval_s)
        with_forming = tl.forming and closed < len(data.timestamp)
        keep = max_records - 1 if with_forming else max_records
        lo = max(0, closed - max(keep, 0))
        n = closed - lo + (1 if with_forming else 0)
        rows = np.full((n, len(CandlesBase.columns)), np.nan)
        m = closed - lo
        rows[:m, 0] = data.timestamp[lo:closed]
        for col, values in enumerate((data.open, data.high, data.low, data.close, data.volume),
                                     start=1):
            rows[:m, col] = values[lo:closed]
        if with_forming:
            rows[m, 0] = data.timestamp[closed]
            rows[m, 1:6] = self._forming_row(data, closed)
        return pd.DataFrame(rows, columns=_FEED_COLUMNS, copy=False)

    def _forming_row(self, data: PairCandleArrays, i: int) -> tuple[float, ...]:
        tl = self.timeline
        start = float(data.timestamp[i])
        elapsed = tl.now_s - start
        path = candle_path(data.open[i], data.high[i], data.low[i], data.close[i],
                           tl.interval_s, tl.path_order, tl.steps_per_leg)
        shown = tuple(p.price for p in path if tl.first_offset_s + p.offset_s <= elapsed + 1e-6)
        return forming_candle(float(data.open[i]), shown, float(data.volume[i]),
                              min(1.0, max(0.0, elapsed / tl.interval_s)))


class ReplayCandles(CandlesBase):
    """``CandlesBase`` feed answering from a :class:`CandleStore` (module docstring).

    Built by ``CandlesFactory.get_candle`` with ``(trading_pair, interval, max_records)`` like
    every Hummingbot feed; the store is bound to a subclass by :func:`replay_candles_factory`.
    """

    store: ClassVar[CandleStore]

    def __init__(self, trading_pair: str, interval: str = "1h", max_records: int = 150) -> None:
        super().__init__(trading_pair, interval, max_records)
        self.store.get(trading_pair)  # fail at creation for a pair the data lacks
        self._full = False
        if self.get_seconds_from_interval(interval) != self.store.timeline.interval_s:
            raise ValueError(f"{trading_pair}: the script asks {interval} candles but the replay "
                             f"data is {self.store.timeline.interval_s} s")

    # -- Hummingbot's feed interface without the network --

    @property
    def name(self) -> str:
        return "replay"

    @property
    def rate_limits(self) -> list[Any]:
        return []

    @property
    def intervals(self) -> dict[str, Any]:
        return dict(CandlesBase.interval_to_seconds)

    def get_exchange_trading_pair(self, trading_pair: str) -> str:
        return trading_pair

    def start(self) -> None:
        """Nothing to connect to."""

    def stop(self) -> None:
        """Nothing to disconnect."""

    async def start_network(self) -> None:
        """Nothing to connect to."""

    async def stop_network(self) -> None:
        """Nothing to disconnect."""

    @property
    def ready(self) -> bool:
        """True once the buffer would be full at the replay clock. The clock only moves
        forward, so once full it stays full: that answer is kept (Hummingbot asks every tick)."""
        if not self._full:
            self._full = (self.store.available(self._trading_pair, self.max_records)
                          >= self.max_records)
        return self._full

    @property
    def candles_df(self) -> pd.DataFrame:
        """Candles as of the replay clock (module docstring)."""
        return self.store.frame(self._trading_pair, self.max_records)


@contextlib.contextmanager
def replay_candles_factory(store: CandleStore) -> Iterator[type[ReplayCandles]]:
    """Make ``CandlesFactory`` build :class:`ReplayCandles` on ``store`` for every connector.

    The registry (``CandlesFactory._candles_map``) keeps its keys, so config validators that
    list known candle connectors still pass; every value is restored on exit.
    """
    feed_class = type("BoundReplayCandles", (ReplayCandles,), {"store": store})
    registry = CandlesFactory._candles_map
    saved = dict(registry)
    try:
        for name in list(registry):
            registry[name] = feed_class
        yield feed_class
    finally:
        registry.clear()
        registry.update(saved)
