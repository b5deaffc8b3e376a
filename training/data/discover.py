"""Pick the loader from a file name, and load a whole data directory."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from ml_signals.candles import interval_seconds
from training.data import errors as rules
from training.data.candleset import CandleSet
from training.data.errors import CandleDataError
from training.data.freqtrade import load_freqtrade_feather
from training.data.hummingbot import load_hummingbot_candles
from training.data.kraken import load_kraken_csv
from training.data.names import parse_freqtrade_name, parse_hummingbot_name, parse_kraken_name

_KRAKEN_NAME = re.compile(r"^[A-Za-z0-9]+_\d+\.csv$")


def _load_hummingbot_csv(path: Path) -> CandleSet:
    pair, interval_s = parse_hummingbot_name(path)
    return load_hummingbot_candles(path, pair, interval_s)


NameParser = Callable[[Path], tuple[str, int]]
Loader = Callable[[Path], CandleSet]


def _loader_for(path: Path) -> tuple[NameParser, Loader]:
    """(name parser, loader) for a file, from its name alone."""
    if path.suffix == ".feather":
        return parse_freqtrade_name, load_freqtrade_feather
    if path.suffix == ".csv" and path.name.startswith("candles_"):
        return parse_hummingbot_name, _load_hummingbot_csv
    if path.suffix == ".csv" and _KRAKEN_NAME.match(path.name):
        return parse_kraken_name, load_kraken_csv
    raise CandleDataError(
        "unknown candle file: expected <BASE>_<QUOTE>-<tf>.feather (freqtrade), "
        "<KRAKENPAIR>_<minutes>.csv (Kraken OHLCVT) or candles_<feed>_<PAIR>_<tf>.csv (Hummingbot)",
        path=str(path), row=None, rule=rules.FILE_NAME,
    )


def load_candles(path: str | Path) -> CandleSet:
    """Load one candle file, choosing the loader from its name.

    ``*.feather`` -> :func:`load_freqtrade_feather`; ``candles_<feed>_<PAIR>_<tf>.csv`` ->
    :func:`load_hummingbot_candles`; ``<PAIR>_<minutes>.csv`` -> :func:`load_kraken_csv`.

    Raises:
        CandleDataError: rule ``file_name`` for any other name, or the loader's errors.
        FileNotFoundError: ``path`` does not exist.
    """
    path = Path(path)
    _, loader = _loader_for(path)
    return loader(path)


def load_dir(
    directory: str | Path, interval: str = "1h", pairs: Iterable[str] | None = None
) -> dict[str, CandleSet]:
    """Load every candle file of one interval in ``directory`` (not recursive).

    Args:
        directory: folder holding freqtrade feather, Kraken OHLCVT and/or Hummingbot CSV files;
            other files are ignored.
        interval: interval name (``"1h"``); selects e.g. ``BTC_USDT-1h.feather`` and
            ``XBTUSD_60.csv``.
        pairs: Hummingbot pairs to keep (``["BTC-USDT"]``); ``None`` keeps all.

    Returns:
        ``{pair: CandleSet}`` in ascending pair order.

    Raises:
        FileNotFoundError: the directory is missing, no file matches, or a requested pair has
            no file.
        CandleDataError: ``duplicate_pair`` when two files give the same pair (e.g. spot and
            futures feathers), or any loader error (the first bad file stops the load).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"candle directory {directory} does not exist")
    wanted_s = interval_seconds(interval)
    wanted_pairs = None if pairs is None else set(pairs)
    chosen: dict[str, tuple[Path, Loader]] = {}
    for path in sorted(directory.iterdir()):
        try:
            parse, loader = _loader_for(path)
            pair, interval_s = parse(path)
        except CandleDataError:
            continue  # not a candle file name, or another interval: not ours to load
        if interval_s != wanted_s or (wanted_pairs is not None and pair not in wanted_pairs):
            continue
        if pair in chosen:
            raise CandleDataError(f"{pair} {interval} also in {chosen[pair][0]}", path=str(path),
                                  row=None, rule=rules.DUPLICATE_PAIR, pair=pair)
        chosen[pair] = (path, loader)
    missing = sorted(wanted_pairs - set(chosen)) if wanted_pairs is not None else []
    if missing or not chosen:
        raise FileNotFoundError(
            f"no {interval} candle file in {directory} for {missing or 'any pair'}")
    return {pair: chosen[pair][1](chosen[pair][0]) for pair in sorted(chosen)}
