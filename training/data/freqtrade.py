"""freqtrade's on-disk candle format (``user_data/data/<exchange>/``, ``--data-format feather``).

A file ``<BASE>_<QUOTE>-<timeframe>.feather`` (futures: ``<BASE>_<QUOTE>_<SETTLE>-<tf>-futures
.feather``) holds columns ``date`` (tz-aware UTC datetime, candle open time) and
``open high low close volume`` (volume in base). freqtrade data has no gaps by design; if a file
has some anyway they are filled as for Kraken (OHLC = previous close, volume 0) and counted.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from training.data import errors as rules
from training.data.candleset import CandleSet, build_candle_set
from training.data.names import parse_freqtrade_name
from training.data.validate import Origin, check_columns

FREQTRADE_COLUMNS = ("date", "open", "high", "low", "close", "volume")


def _epoch_seconds(date: pd.Series, origin: Origin) -> pd.Series:
    """tz-aware datetimes -> float seconds since the epoch (NaT -> NaN, caught by validation)."""
    if not isinstance(date.dtype, pd.DatetimeTZDtype):
        raise origin.error(f"column 'date' has dtype {date.dtype}; expected tz-aware UTC "
                           "datetimes", rules.NAIVE_DATETIME)
    utc = date.dt.tz_convert("UTC").dt.tz_localize(None)
    seconds: pd.Series = ((utc - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).astype("float64")
    return seconds


def load_freqtrade_feather(path: str | Path) -> CandleSet:
    """Load one freqtrade feather file; pair and interval come from the file name.

    Returns:
        ``CandleSet`` with ``source="freqtrade_feather"``, ``BTC_USDT-1h.feather`` ->
        pair ``"BTC-USDT"``, ``interval_s=3600``.

    Raises:
        CandleDataError: ``file_name``, ``unreadable`` (not a feather file), ``missing_column`` /
            ``extra_column``, ``naive_datetime``, or any rule of
            :func:`~training.data.validate.validate_candles`; ``row`` is the 0-based row.
        FileNotFoundError: ``path`` does not exist.
    """
    path = Path(path)
    pair, interval_s = parse_freqtrade_name(path)
    origin = Origin(path=str(path), pair=pair, row_base=0)
    if not path.exists():
        raise FileNotFoundError(path)
    try:
        table = pd.read_feather(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise origin.error(f"cannot read feather file: {err}", rules.UNREADABLE) from err
    check_columns(table.columns, FREQTRADE_COLUMNS, FREQTRADE_COLUMNS, origin)
    raw = table.drop(columns="date").assign(timestamp=_epoch_seconds(table["date"], origin))
    return build_candle_set(raw, pair=pair, interval_s=interval_s, source="freqtrade_feather",
                            origin=origin)

