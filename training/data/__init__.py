"""Offline candle loaders: Kraken OHLCVT CSV, freqtrade feather and Hummingbot candles.

Every loader returns a :class:`CandleSet` whose ``frame`` is the canonical frame of
:mod:`ml_signals.candles` (int64 ``timestamp`` open time in seconds UTC, float64 OHLCV, volume in
base, sorted, unique, gap-free), after the same validation (:mod:`training.data.validate`), and
raises :class:`CandleDataError` naming the file, the row, the rule and the pair on bad input.

Missing bars (Kraken writes none for an interval without trades) are inserted with
OHLC = previous close and volume 0, and counted in ``CandleSet.filled_bars``.

Candles the candle guard (:mod:`ml_signals.candle_guard`) flags - in a validated frame, a
one-candle move beyond 50 % - are kept unchanged, listed with time and rule in
``CandleSet.bad_candles`` and logged per pair; :func:`load_dir` also lists the files it skipped
(misnamed candle files, pairs shorter than the feature warm-up) in ``CandleDir.skipped``.
"""

from training.data.candleset import CandleSet
from training.data.discover import CandleDir, SkippedFile, load_candles, load_dir
from training.data.errors import CandleDataError
from training.data.freqtrade import load_freqtrade_feather
from training.data.hummingbot import HUMMINGBOT_EXTRA_COLUMNS, load_hummingbot_candles
from training.data.kraken import load_kraken_csv
from training.data.names import kraken_pair

__all__ = [
    "HUMMINGBOT_EXTRA_COLUMNS",
    "CandleDataError",
    "CandleDir",
    "CandleSet",
    "SkippedFile",
    "kraken_pair",
    "load_candles",
    "load_dir",
    "load_freqtrade_feather",
    "load_hummingbot_candles",
    "load_kraken_csv",
]
