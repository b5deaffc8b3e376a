"""Candle loaders on the repository's real sample, and on real files corrupted one cell at a time.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml_signals.candles import CANDLE_COLUMNS
from training.data import (
    HUMMINGBOT_EXTRA_COLUMNS,
    CandleDataError,
    CandleSet,
    kraken_pair,
    load_candles,
    load_dir,
    load_freqtrade_feather,
    load_hummingbot_candles,
    load_kraken_csv,
)
from training.data.names import parse_freqtrade_name, parse_hummingbot_name, parse_kraken_name

KRAKEN_SAMPLES = ("XBTUSD_60.csv", "ETHUSD_60.csv")


# ---------------------------------------------------------------- helpers


def assert_canonical(candles: CandleSet) -> None:
    frame = candles.frame
    assert tuple(frame.columns) == CANDLE_COLUMNS
    assert frame["timestamp"].dtype == np.int64
    assert all(frame[c].dtype == np.float64 for c in CANDLE_COLUMNS[1:])
    assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0
    steps = np.diff(frame["timestamp"].to_numpy())
    assert (steps == candles.interval_s).all()
    assert (frame["timestamp"] % candles.interval_s == 0).all()


def kraken_lines(sample_dir: Path, name: str = "XBTUSD_60.csv") -> list[str]:
    return (sample_dir / "kraken" / name).read_text().splitlines()


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def set_cell(line: str, field: int, value: str) -> str:
    cells = line.split(",")
    cells[field] = value
    return ",".join(cells)


def assert_names(err: CandleDataError, path: Path, row: int | None, rule: str, pair: str) -> None:
    assert (err.path, err.row, err.rule, err.pair) == (str(path), row, rule, pair)
    message = str(err)
    assert str(path) in message and f"[{rule}]" in message and pair in message
    if row is not None:
        assert f"row {row}:" in message


# ---------------------------------------------------------------- real sample, good data


def test_sample_binance_matches_the_feather_files(sample_binance: dict[str, CandleSet],
                                                   sample_dir: Path) -> None:
    assert list(sample_binance) == sorted(sample_binance)
    assert set(sample_binance) == {"BTC-USDT", "DOGE-USDT", "ETH-USDT", "LINK-USDT", "SOL-USDT",
                                   "XRP-USDT"}
    for pair, candles in sample_binance.items():
        raw = pd.read_feather(sample_dir / "binance" / f"{pair.replace('-', '_')}-1h.feather")
        assert (candles.pair, candles.interval_s, candles.source) == (pair, 3600,
                                                                      "freqtrade_feather")
        assert candles.filled_bars == 0  # Binance sample has no gaps (data/sample/README.md)
        assert_canonical(candles)
        expected_ts = (raw["date"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
        np.testing.assert_array_equal(candles.frame["timestamp"], expected_ts)
        for col in ("open", "high", "low", "close", "volume"):
            np.testing.assert_array_equal(candles.frame[col], raw[col])


@pytest.mark.parametrize("name", KRAKEN_SAMPLES)
def test_kraken_sample_fills_the_real_gaps(sample_dir: Path, name: str) -> None:
    path = sample_dir / "kraken" / name
    with path.open() as handle:
        rows = [[float(cell) for cell in row] for row in csv.reader(handle)]
    raw_ts = [int(row[0]) for row in rows]
    missing = sorted(set(range(raw_ts[0], raw_ts[-1] + 1, 3600)) - set(raw_ts))
    # data/sample/README.md: 3 real gaps, 6 missing hours, all in 2021.
    assert len(missing) == 6 and all(ts < 1_640_995_200 for ts in missing)

    candles = load_kraken_csv(path)
    assert (candles.pair, candles.interval_s, candles.source) == (
        kraken_pair(name.split("_")[0]), 3600, "kraken_csv")
    assert candles.filled_bars == len(missing)
    frame = candles.frame
    assert len(frame) == (raw_ts[-1] - raw_ts[0]) // 3600 + 1
    assert_canonical(candles)

    by_ts = frame.set_index("timestamp")
    for ts in missing:
        prev_close = by_ts.loc[ts - 3600, "close"]
        assert (by_ts.loc[ts, ["open", "high", "low", "close"]] == prev_close).all()
        assert by_ts.loc[ts, "volume"] == 0.0
    real = by_ts.loc[raw_ts, ["open", "high", "low", "close", "volume"]].to_numpy()
    np.testing.assert_array_equal(real, np.array(rows)[:, 1:6])


def test_kraken_dropped_line_is_filled_from_previous_close(sample_dir: Path,
                                                           tmp_path: Path) -> None:
    lines = kraken_lines(sample_dir)
    dropped = lines.pop(1000)  # line 1001 of the real file
    candles = load_kraken_csv(write_lines(tmp_path / "XBTUSD_60.csv", lines))
    assert candles.filled_bars == 7
    bar = candles.frame.set_index("timestamp").loc[int(dropped.split(",")[0])]
    prev_close = float(lines[999].split(",")[4])
    assert list(bar) == [prev_close] * 4 + [0.0]


def test_kraken_arguments_override_the_file_name(sample_dir: Path, tmp_path: Path) -> None:
    path = shutil.copy(sample_dir / "kraken" / "XBTUSD_60.csv", tmp_path / "btc.csv")
    candles = load_kraken_csv(path, pair="BTC-USD", interval_s=3600)
    assert (candles.pair, len(candles.frame)) == ("BTC-USD", 17520)
    with pytest.raises(CandleDataError) as info:
        load_kraken_csv(path)
    assert info.value.rule == "file_name"


def test_kraken_declared_interval_too_short(sample_dir: Path) -> None:
    path = sample_dir / "kraken" / "XBTUSD_60.csv"
    with pytest.raises(CandleDataError) as info:
        load_kraken_csv(path, interval_s=1800)
    assert_names(info.value, path, 2, "interval_mismatch", "BTC-USD")


# ---------------------------------------------------------------- Kraken CSV, bad input


def _high_below(line: str) -> str:
    cells = [float(c) for c in line.split(",")]
    return set_cell(line, 2, repr(max(cells[1], cells[4]) * 0.999))


def _low_above(line: str) -> str:
    cells = [float(c) for c in line.split(",")]
    return set_cell(line, 3, repr(min(cells[1], cells[4]) * 1.001))


def _shift_ts(seconds: int) -> Callable[[str], str]:
    return lambda line: set_cell(line, 0, str(int(line.split(",")[0]) + seconds))


LINE_EDITS: list[tuple[str, int, Callable[[str], str], str]] = [
    # (id, 1-based line edited, edit, rule expected at that line)
    ("non_numeric_close", 100, lambda s: set_cell(s, 4, "29x01.5"), "non_numeric"),
    ("non_numeric_trades", 17514, lambda s: set_cell(s, 6, "many"), "non_numeric"),
    ("empty_cell", 150, lambda s: set_cell(s, 4, ""), "nan"),
    ("nan_text", 151, lambda s: set_cell(s, 5, "nan"), "nan"),
    ("inf", 152, lambda s: set_cell(s, 2, "inf"), "nan"),
    ("zero_open", 200, lambda s: set_cell(s, 1, "0"), "non_positive_price"),
    ("negative_low", 201, lambda s: set_cell(s, 3, "-1.0"), "non_positive_price"),
    ("negative_volume", 250, lambda s: set_cell(s, 5, "-0.5"), "negative_volume"),
    ("high_below_body", 300, _high_below, "high_below_open_close"),
    ("low_above_body", 301, _low_above, "low_above_open_close"),
    ("half_hour_ts", 500, _shift_ts(1800), "off_grid"),
    ("one_second_ts", 17000, _shift_ts(1), "off_grid"),
    ("milliseconds_ts", 700, lambda s: set_cell(s, 0, s.split(",")[0] + "000"), "timestamp_range"),
    ("extra_column", 600, lambda s: s + ",1", "field_count"),
    ("missing_column", 601, lambda s: s.rsplit(",", 1)[0], "field_count"),
    ("blank_line", 602, lambda s: "", "field_count"),
]


@pytest.mark.parametrize(("line_no", "edit", "rule"), [e[1:] for e in LINE_EDITS],
                         ids=[e[0] for e in LINE_EDITS])
def test_kraken_bad_cell_names_file_line_and_rule(
    sample_dir: Path, tmp_path: Path, line_no: int, edit: Callable[[str], str], rule: str
) -> None:
    lines = kraken_lines(sample_dir)
    lines[line_no - 1] = edit(lines[line_no - 1])
    path = write_lines(tmp_path / "XBTUSD_60.csv", lines)
    with pytest.raises(CandleDataError) as info:
        load_kraken_csv(path)
    assert_names(info.value, path, line_no, rule, "BTC-USD")


def test_kraken_duplicated_line(sample_dir: Path, tmp_path: Path) -> None:
    lines = kraken_lines(sample_dir)
    lines.insert(300, lines[299])  # line 300 repeated as line 301
    path = write_lines(tmp_path / "XBTUSD_60.csv", lines)
    with pytest.raises(CandleDataError) as info:
        load_kraken_csv(path)
    assert_names(info.value, path, 301, "duplicate_timestamp", "BTC-USD")


def test_kraken_swapped_lines(sample_dir: Path, tmp_path: Path) -> None:
    lines = kraken_lines(sample_dir)
    lines[399], lines[400] = lines[400], lines[399]  # lines 400 and 401
    path = write_lines(tmp_path / "XBTUSD_60.csv", lines)
    with pytest.raises(CandleDataError) as info:
        load_kraken_csv(path)
    assert_names(info.value, path, 401, "unsorted_timestamp", "BTC-USD")


def test_kraken_header_line(sample_dir: Path, tmp_path: Path) -> None:
    lines = ["timestamp,open,high,low,close,volume,trades", *kraken_lines(sample_dir)]
    path = write_lines(tmp_path / "XBTUSD_60.csv", lines)
    with pytest.raises(CandleDataError) as info:
        load_kraken_csv(path)
    assert_names(info.value, path, 1, "header", "BTC-USD")


@pytest.mark.parametrize("content", ["", "\n"], ids=["zero_bytes", "newline_only"])
def test_kraken_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "XBTUSD_60.csv"
    path.write_text(content)
    with pytest.raises(CandleDataError) as info:
        load_kraken_csv(path)
    assert_names(info.value, path, None, "empty", "BTC-USD")


# ---------------------------------------------------------------- freqtrade feather, bad input


def _feather_case(sample_dir: Path) -> pd.DataFrame:
    return pd.read_feather(sample_dir / "binance" / "BTC_USDT-1h.feather")


def _set(row: int, col: str, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[row, col] = value
        return df
    return edit


FRAME_EDITS: list[tuple[str, Callable[[pd.DataFrame], pd.DataFrame], int | None, str]] = [
    # (id, edit, 0-based row expected, rule)
    ("nan_close", _set(50, "close", np.nan), 50, "nan"),
    ("nat_date", _set(51, "date", pd.NaT), 51, "nan"),
    ("zero_high", _set(60, "high", 0.0), 60, "non_positive_price"),
    ("negative_volume", _set(70, "volume", -1.0), 70, "negative_volume"),
    ("high_below_body", lambda df: _set(80, "high", df.loc[80, ["open", "close"]].max() - 1)(df),
     80, "high_below_open_close"),
    ("low_above_body", lambda df: _set(90, "low", df.loc[90, ["open", "close"]].min() + 1)(df),
     90, "low_above_open_close"),
    ("off_grid", lambda df: _set(95, "date", df.loc[95, "date"] + pd.Timedelta(minutes=30))(df),
     95, "off_grid"),
    ("duplicate_row", lambda df: pd.concat([df.iloc[:11], df.iloc[10:]], ignore_index=True),
     11, "duplicate_timestamp"),
    ("swapped_rows", lambda df: df.iloc[[*range(20), 21, 20, *range(22, len(df))]]
     .reset_index(drop=True), 21, "unsorted_timestamp"),
    ("missing_volume", lambda df: df.drop(columns="volume"), None, "missing_column"),
    ("extra_column", lambda df: df.assign(trades=1), None, "extra_column"),
    ("naive_date", lambda df: df.assign(date=df["date"].dt.tz_localize(None)), None,
     "naive_datetime"),
    ("no_rows", lambda df: df.iloc[:0], None, "empty"),
]


@pytest.mark.parametrize(("edit", "row", "rule"), [e[1:] for e in FRAME_EDITS],
                         ids=[e[0] for e in FRAME_EDITS])
def test_freqtrade_bad_frame_names_file_row_and_rule(
    sample_dir: Path, tmp_path: Path, edit: Callable[[pd.DataFrame], pd.DataFrame],
    row: int | None, rule: str
) -> None:
    path = tmp_path / "BTC_USDT-1h.feather"
    edit(_feather_case(sample_dir)).reset_index(drop=True).to_feather(path)
    with pytest.raises(CandleDataError) as info:
        load_freqtrade_feather(path)
    assert_names(info.value, path, row, rule, "BTC-USDT")


def test_freqtrade_gap_is_filled_and_counted(sample_dir: Path, tmp_path: Path) -> None:
    raw = _feather_case(sample_dir)
    path = tmp_path / "BTC_USDT-1h.feather"
    raw.drop(index=[100, 101, 102]).reset_index(drop=True).to_feather(path)
    candles = load_freqtrade_feather(path)
    assert (candles.filled_bars, len(candles.frame)) == (3, len(raw))
    filled = candles.frame.iloc[100:103]
    assert (filled[["open", "high", "low", "close"]] == raw.loc[99, "close"]).all().all()
    assert (filled["volume"] == 0).all()
    np.testing.assert_array_equal(candles.frame["close"].iloc[103:], raw["close"].iloc[103:])


def test_freqtrade_not_a_feather_file(sample_dir: Path, tmp_path: Path) -> None:
    path = shutil.copy(sample_dir / "kraken" / "XBTUSD_60.csv", tmp_path / "BTC_USDT-1h.feather")
    with pytest.raises(CandleDataError) as info:
        load_freqtrade_feather(path)
    assert_names(info.value, Path(path), None, "unreadable", "BTC-USDT")


# ---------------------------------------------------------------- Hummingbot candles


def to_hummingbot(raw: pd.DataFrame) -> pd.DataFrame:
    """A freqtrade frame in ``CandlesBase.columns`` order: float seconds, extras unknown (NaN)."""
    seconds = (raw["date"] - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    frame = raw[["open", "high", "low", "close", "volume"]].assign(timestamp=seconds)
    for col in HUMMINGBOT_EXTRA_COLUMNS:
        frame[col] = np.nan  # not in the freqtrade file; the loader must ignore these columns
    return frame[["timestamp", "open", "high", "low", "close", "volume",
                  *HUMMINGBOT_EXTRA_COLUMNS]]


def test_hummingbot_frame_and_csv_round_trip(sample_binance: dict[str, CandleSet],
                                             sample_dir: Path, tmp_path: Path) -> None:
    reference = sample_binance["ETH-USDT"].frame
    hb = to_hummingbot(pd.read_feather(sample_dir / "binance" / "ETH_USDT-1h.feather"))
    from_frame = load_hummingbot_candles(hb, "ETH-USDT", "1h")
    assert (from_frame.source, from_frame.path, from_frame.filled_bars) == ("hummingbot", None, 0)
    pd.testing.assert_frame_equal(from_frame.frame, reference)

    path = tmp_path / "candles_binance_ETH-USDT_1h.csv"
    hb.to_csv(path, index=False)
    from_csv = load_candles(path)
    assert (from_csv.pair, from_csv.interval_s, from_csv.path) == ("ETH-USDT", 3600, str(path))
    pd.testing.assert_frame_equal(from_csv.frame, reference)


def test_hummingbot_columns_match_candles_base() -> None:
    candles_base = pytest.importorskip("hummingbot.data_feed.candles_feed.candles_base")
    assert list(candles_base.CandlesBase.columns) == [*CANDLE_COLUMNS, *HUMMINGBOT_EXTRA_COLUMNS]


def test_hummingbot_frame_rows_are_positional(sample_dir: Path) -> None:
    real = to_hummingbot(pd.read_feather(sample_dir / "binance" / "SOL_USDT-1h.feather"))
    bad_low = real.copy()
    bad_low.loc[10, "low"] = bad_low.loc[10, "high"] + 1
    with pytest.raises(CandleDataError) as info:
        load_hummingbot_candles(bad_low, "SOL-USDT", 3600)
    # low above high: the candle guard names the more specific rule first
    assert (info.value.path, info.value.row, info.value.rule) == (None, 10, "high_below_low")
    milliseconds = real.assign(timestamp=real["timestamp"] * 1000)
    with pytest.raises(CandleDataError) as info:
        load_hummingbot_candles(milliseconds, "SOL-USDT", "1h")
    assert (info.value.row, info.value.rule) == (0, "timestamp_range")


def test_hummingbot_csv_rows_are_line_numbers(sample_dir: Path, tmp_path: Path) -> None:
    hb = to_hummingbot(pd.read_feather(sample_dir / "binance" / "XRP_USDT-1h.feather"))
    path = tmp_path / "candles_binance_XRP-USDT_1h.csv"
    hb.to_csv(path, index=False)
    lines = path.read_text().splitlines()
    lines[41] = set_cell(lines[41], 4, "x")  # line 42 = data row 41 (line 1 is the header)
    write_lines(path, lines)
    with pytest.raises(CandleDataError) as info:
        load_candles(path)
    assert_names(info.value, path, 42, "non_numeric", "XRP-USDT")


def test_hummingbot_unknown_column(sample_dir: Path) -> None:
    hb = to_hummingbot(pd.read_feather(sample_dir / "binance" / "BTC_USDT-1h.feather"))
    with pytest.raises(CandleDataError) as info:
        load_hummingbot_candles(hb.assign(vwap=1.0), "BTC-USDT", "1h")
    assert info.value.rule == "extra_column" and info.value.pair == "BTC-USDT"


# ---------------------------------------------------------------- names and directories


@pytest.mark.parametrize(("kraken", "pair"), [
    ("XBTUSD", "BTC-USD"), ("XBTUSDT", "BTC-USDT"), ("XBTEUR", "BTC-EUR"), ("XDGUSD", "DOGE-USD"),
    ("ETHUSD", "ETH-USD"), ("ETHXBT", "ETH-BTC"), ("SOLUSDC", "SOL-USDC"),
    ("USDTUSD", "USDT-USD"), ("XXBTZUSD", "BTC-USD"), ("XETHZEUR", "ETH-EUR"),
    ("XETHXXBT", "ETH-BTC"), ("XXDGZUSD", "DOGE-USD"), ("xbtusd", "BTC-USD"),
])
def test_kraken_pair_names(kraken: str, pair: str) -> None:
    assert kraken_pair(kraken) == pair


@pytest.mark.parametrize(("name", "parse", "expected"), [
    ("XBTUSD_60.csv", parse_kraken_name, ("BTC-USD", 3600)),
    ("XDGUSD_1440.csv", parse_kraken_name, ("DOGE-USD", 86_400)),
    ("ETHUSD_15.csv", parse_kraken_name, ("ETH-USD", 900)),
    ("BTC_USDT-1h.feather", parse_freqtrade_name, ("BTC-USDT", 3600)),
    ("ETH_USDT-15m.feather", parse_freqtrade_name, ("ETH-USDT", 900)),
    ("1000PEPE_USDT-4h.feather", parse_freqtrade_name, ("1000PEPE-USDT", 14_400)),
    ("BTC_USDT_USDT-1h-futures.feather", parse_freqtrade_name, ("BTC-USDT", 3600)),
    ("candles_binance_BTC-USDT_1h.csv", parse_hummingbot_name, ("BTC-USDT", 3600)),
    ("candles_binance_perpetual_ETH-USDT_5m.csv", parse_hummingbot_name, ("ETH-USDT", 300)),
])
def test_file_names(name: str, parse: Callable[[Path], tuple[str, int]],
                    expected: tuple[str, int]) -> None:
    assert parse(Path(name)) == expected


@pytest.mark.parametrize(("name", "parse"), [
    ("XBTUSD_7.csv", parse_kraken_name),  # 7-minute bars: not a supported interval
    ("XBTFOO_60.csv", parse_kraken_name),  # no known quote
    ("BTCUSDT-1h.feather", parse_freqtrade_name),
    ("BTC_USDT-1h-mark.feather", parse_freqtrade_name),
    ("BTC_USDT-2h.feather", parse_freqtrade_name),
])
def test_bad_file_names(name: str, parse: Callable[[Path], tuple[str, int]]) -> None:
    with pytest.raises(CandleDataError) as info:
        parse(Path(name))
    assert (info.value.rule, info.value.path) == ("file_name", name)


def test_load_candles_rejects_unknown_names(sample_dir: Path, tmp_path: Path) -> None:
    path = shutil.copy(sample_dir / "kraken" / "XBTUSD_60.csv", tmp_path / "bitcoin.csv")
    with pytest.raises(CandleDataError) as info:
        load_candles(path)
    assert (info.value.rule, info.value.path) == ("file_name", str(path))


def test_load_candles_dispatches_on_name(sample_dir: Path) -> None:
    assert load_candles(sample_dir / "kraken" / "ETHUSD_60.csv").source == "kraken_csv"
    assert load_candles(sample_dir / "binance" / "LINK_USDT-1h.feather").pair == "LINK-USDT"


def test_load_dir_filters_and_ignores_other_files(sample_dir: Path, tmp_path: Path) -> None:
    for name in ("BTC_USDT-1h.feather", "SOL_USDT-1h.feather"):
        shutil.copy(sample_dir / "binance" / name, tmp_path / name)
    shutil.copy(sample_dir / "kraken" / "XBTUSD_60.csv", tmp_path / "XBTUSD_60.csv")
    (tmp_path / "README.md").write_text("not candles\n")
    loaded = load_dir(tmp_path, "1h")
    assert list(loaded) == ["BTC-USD", "BTC-USDT", "SOL-USDT"]
    assert list(load_dir(tmp_path, "1h", pairs=["SOL-USDT"])) == ["SOL-USDT"]
    with pytest.raises(FileNotFoundError, match="ETH-USDT"):
        load_dir(tmp_path, "1h", pairs=["ETH-USDT", "SOL-USDT"])
    with pytest.raises(FileNotFoundError):
        load_dir(tmp_path, "15m")


def test_load_dir_refuses_two_files_for_one_pair(sample_dir: Path, tmp_path: Path) -> None:
    shutil.copy(sample_dir / "binance" / "BTC_USDT-1h.feather", tmp_path / "BTC_USDT-1h.feather")
    shutil.copy(sample_dir / "binance" / "BTC_USDT-1h.feather",
                tmp_path / "BTC_USDT_USDT-1h-futures.feather")
    with pytest.raises(CandleDataError) as info:
        load_dir(tmp_path)
    assert (info.value.rule, info.value.pair) == ("duplicate_pair", "BTC-USDT")


# ---------------------------------------------------------------- full shared data set


def test_shared_binance_and_kraken_load(shared_data_dir: Path) -> None:
    binance = load_dir(shared_data_dir / "binance", "1h")
    assert len(binance) == 37  # /work/shared/data/README.md: 37 USDT pairs, no gaps
    assert all(c.filled_bars == 0 for c in binance.values())
    path = shared_data_dir / "kraken" / "XBTUSD_60.csv"
    with path.open() as handle:
        ts = [int(line.split(",", 1)[0]) for line in handle]
    kraken = load_kraken_csv(path)
    assert len(kraken.frame) == (ts[-1] - ts[0]) // 3600 + 1
    assert kraken.filled_bars == len(kraken.frame) - len(ts)
    assert_canonical(kraken)
