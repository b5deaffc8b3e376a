"""Kraken's official OHLCVT bulk CSV files (the "Downloadable historical OHLCVT data" archive).

Format: headerless, comma-separated, one line per bar that had trades:
``unix_timestamp_s,open,high,low,close,volume_base,trades``; the file name is
``<KRAKEN PAIR>_<bar minutes>.csv`` (``XBTUSD_60.csv``). Kraken writes no line for an interval
without trades, so the loader inserts those bars (OHLC = previous close, volume 0) and reports
how many in ``CandleSet.filled_bars``.
"""

from __future__ import annotations

from pathlib import Path

from training.data.candleset import CandleSet, build_candle_set
from training.data.csvio import read_numeric_csv
from training.data.names import check_pair, parse_kraken_name
from training.data.validate import Origin

KRAKEN_COLUMNS = ["timestamp", "open", "high", "low", "close", "volume", "trades"]
"""Field order of a Kraken OHLCVT line."""


def load_kraken_csv(
    path: str | Path, pair: str | None = None, interval_s: int | None = None
) -> CandleSet:
    """Load one Kraken OHLCVT CSV.

    Args:
        path: the CSV file.
        pair: Hummingbot pair (``"BTC-USD"``); default from the file name with Kraken codes
            mapped (``XBT`` -> ``BTC``, ``XDG`` -> ``DOGE``).
        interval_s: bar length in seconds; default from the file name (``_60`` = 60 min = 3600 s).

    Returns:
        ``CandleSet`` with ``source="kraken_csv"``; gaps filled and counted in ``filled_bars``.
        The ``trades`` field is checked to be numeric and then dropped.

    Raises:
        CandleDataError: a bad file name (when ``pair`` or ``interval_s`` is not given), or any
            rule of :func:`~training.data.validate.validate_candles` /
            :func:`~training.data.csvio.read_numeric_csv`; ``row`` is the 1-based line number.
        FileNotFoundError: ``path`` does not exist.
    """
    path = Path(path)
    if pair is None or interval_s is None:
        name_pair, name_interval_s = parse_kraken_name(path)
        pair = pair if pair is not None else name_pair
        interval_s = interval_s if interval_s is not None else name_interval_s
    check_pair(pair, str(path))
    raw = read_numeric_csv(path, column_names=KRAKEN_COLUMNS, pair=pair)
    return build_candle_set(raw, pair=pair, interval_s=interval_s, source="kraken_csv",
                            origin=Origin(path=str(path), pair=pair, row_base=1))
