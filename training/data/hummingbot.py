"""Candles in Hummingbot's ``CandlesBase`` layout: a live ``candles_df`` or a CSV of one.

Hummingbot's ``hummingbot/data_feed/candles_feed/candles_base.py`` defines ``CandlesBase.columns``
= ``timestamp open high low close volume quote_asset_volume n_trades taker_buy_base_volume
taker_buy_quote_volume`` with ``timestamp`` the candle open time in seconds (a float in
``candles_df``) and volume in base. The four extra columns are accepted and dropped. Hummingbot
data should have no gaps; any found are filled as for Kraken (OHLC = previous close, volume 0)
and counted in ``filled_bars``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ml_signals.candles import CANDLE_COLUMNS
from training.data.candleset import CandleSet, build_candle_set
from training.data.csvio import read_numeric_csv
from training.data.names import check_pair, interval_from_name
from training.data.validate import Origin, check_columns

HUMMINGBOT_EXTRA_COLUMNS = (
    "quote_asset_volume", "n_trades", "taker_buy_base_volume", "taker_buy_quote_volume",
)
"""``CandlesBase.columns`` beyond the canonical six; accepted, not kept."""


def load_hummingbot_candles(
    source: pd.DataFrame | str | Path, pair: str, interval: str | int
) -> CandleSet:
    """Load Hummingbot-format candles from a frame or a CSV file with a header line.

    Args:
        source: a frame with ``CandlesBase.columns`` (at least the canonical six), e.g.
            ``candles_feed.candles_df``; or a CSV path written from one.
        pair: Hummingbot pair, ``"BTC-USDT"``.
        interval: Hummingbot interval name (``"1h"``) or bar length in seconds (``3600``).

    Returns:
        ``CandleSet`` with ``source="hummingbot"``; ``path`` is ``None`` for a frame.

    Raises:
        CandleDataError: ``file_name`` (bad pair / interval), ``missing_column``,
            ``extra_column``, any rule of :func:`~training.data.csvio.read_numeric_csv` for a CSV,
            and any rule of :func:`~training.data.validate.validate_candles`. ``row`` is the
            1-based line number for a CSV (header = line 1) and the 0-based row for a frame.
        FileNotFoundError: a CSV path that does not exist.
    """
    path = None if isinstance(source, pd.DataFrame) else Path(source)
    path_str = None if path is None else str(path)
    check_pair(pair, path_str)
    interval_s = interval if isinstance(interval, int) else interval_from_name(interval, path_str)
    if path is None:
        assert isinstance(source, pd.DataFrame)  # narrowed for the type checker
        frame, origin = source, Origin(path=None, pair=pair, row_base=0)
    else:
        frame = read_numeric_csv(path, column_names=None, pair=pair)
        origin = Origin(path=path_str, pair=pair, row_base=2)
    check_columns(frame.columns, CANDLE_COLUMNS, HUMMINGBOT_EXTRA_COLUMNS, origin)
    return build_candle_set(frame.reset_index(drop=True), pair=pair, interval_s=interval_s,
                            source="hummingbot", origin=origin)
