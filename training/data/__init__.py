"""Offline candle loaders: Kraken OHLCVT CSV, freqtrade feather and Hummingbot candles.

Every loader returns a :class:`CandleSet` whose ``frame`` is the canonical frame of
:mod:`ml_signals.candles` (int64 ``timestamp`` open time in seconds UTC, float64 OHLCV, volume in
base, sorted, unique, gap-free), after the same validation (:mod:`training.data.validate`), and
raises :class:`CandleDataError` naming the file, the row, the rule and the pair on bad input.

Missing bars (Kraken writes none for an interval without trades) are inserted with
OHLC = previous close and volume 0, and counted in ``CandleSet.filled_bars``.
"""

from training.data.candleset import CandleSet
from training.data.discover import load_candles, load_dir
from training.data.errors import CandleDataError
from training.data.freqtrade import load_freqtrade_feather
from training.data.hummingbot import HUMMINGBOT_EXTRA_COLUMNS, load_hummingbot_candles
from training.data.kraken import load_kraken_csv
from training.data.names import kraken_pair

__all__ = [
    "HUMMINGBOT_EXTRA_COLUMNS",
    "CandleDataError",
    "CandleSet",
    "kraken_pair",
    "load_candles",
    "load_dir",
    "load_freqtrade_feather",
    "load_hummingbot_candles",
    "load_kraken_csv",
]
