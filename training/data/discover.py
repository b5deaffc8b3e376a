"""Pick the loader from a file name, and load a whole data directory."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ml_signals.candles import interval_seconds
from ml_signals.features import warmup_bars
from training.data import errors as rules
from training.data.candleset import CandleSet
from training.data.errors import CandleDataError
from training.data.freqtrade import load_freqtrade_feather
from training.data.hummingbot import load_hummingbot_candles
from training.data.kraken import load_kraken_csv
from training.data.names import parse_freqtrade_name, parse_hummingbot_name, parse_kraken_name

logger = logging.getLogger(__name__)

_KRAKEN_NAME = re.compile(r"^[A-Za-z0-9]+_\d+\.csv$")
_CANDLE_SUFFIXES = frozenset({".feather", ".csv"})
_LOOSE_FREQTRADE = re.compile(
    r"^([A-Za-z0-9]+)_([A-Za-z0-9]+)(_[A-Za-z0-9]+)?-(\d+)([A-Za-z])(-futures)?\.feather$",
    re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file :func:`load_dir` did not load, and why.

    Attributes:
        path: the file.
        pair: its pair when the name gave one (a pair too short to train on), else ``None``.
        reason: one line, e.g. the file-name rule it breaks and the name that would load.
    """

    path: str
    pair: str | None
    reason: str

    def describe(self) -> str:
        """``"<path>: skipped: <reason>"``."""
        return f"{self.path}: skipped: {self.reason}"


class CandleDir(dict[str, CandleSet]):
    """What :func:`load_dir` returns: ``{pair: CandleSet}`` (a plain dict to every caller) plus
    the files it skipped.

    Attributes:
        skipped: misnamed candle files and pairs shorter than the feature warm-up, in file order.
    """

    def __init__(self, sets: dict[str, CandleSet], skipped: list[SkippedFile]) -> None:
        super().__init__(sets)
        self.skipped: tuple[SkippedFile, ...] = tuple(skipped)

    def report(self) -> list[str]:
        """Lines a caller can print: each skipped file with its reason, then each pair's bad
        candles (time, rule, values)."""
        lines = [s.describe() for s in self.skipped]
        for pair, cs in self.items():
            lines.extend(f"{b.describe(pair)}" for b in cs.bad_candles)
        return lines


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
) -> CandleDir:
    """Load every candle file of one interval in ``directory`` (not recursive).

    Files that are not ``.feather`` / ``.csv`` are ignored, and so are candle files of another
    interval. Two kinds of files are skipped **with a WARNING each** and listed in the result's
    ``skipped``: a ``.feather`` / ``.csv`` whose name no loader reads (``eth_usdt-1h.feather``,
    ``DOGE_USDT-1H.feather``: the reason names the rule and, when a fix is obvious, the name
    that would load), and a pair with no more candles than the feature warm-up
    (:func:`ml_signals.features.warmup_bars`: 300 at 1h), whose features would all be NaN.

    Args:
        directory: folder holding freqtrade feather, Kraken OHLCVT and/or Hummingbot CSV files.
        interval: interval name (``"1h"``); selects e.g. ``BTC_USDT-1h.feather`` and
            ``XBTUSD_60.csv``.
        pairs: Hummingbot pairs to keep (``["BTC-USDT"]``); ``None`` keeps all.

    Returns:
        :class:`CandleDir`: ``{pair: CandleSet}`` in ascending pair order, with ``skipped``;
        each set carries its flagged candles (``CandleSet.bad_candles``, logged per pair).

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
    skipped: list[SkippedFile] = []
    for path in sorted(directory.iterdir()):
        try:
            parse, loader = _loader_for(path)
            pair, interval_s = parse(path)
        except CandleDataError as err:
            if path.suffix.lower() in _CANDLE_SUFFIXES and path.is_file():
                skipped.append(_misnamed(path, err))
            continue  # not a candle file name: nothing to load
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
    loaded: dict[str, CandleSet] = {}
    for pair in sorted(chosen):
        path, loader = chosen[pair]
        candle_set = loader(path)
        short = _too_short(candle_set)
        if short is not None:
            skipped.append(SkippedFile(str(path), pair, short))
            logger.warning("%s", skipped[-1].describe())
            continue
        loaded[pair] = candle_set
    return CandleDir(loaded, skipped)


def _misnamed(path: Path, err: CandleDataError) -> SkippedFile:
    """The skip record (logged) of a candle-looking file whose name no loader reads."""
    reason = f"[{err.rule}] {err.detail}"
    fixed = _fixed_name(path.name)
    if fixed is not None:
        reason += f"; rename it {fixed} to load it"
    skipped = SkippedFile(str(path), None, reason)
    logger.warning("%s", skipped.describe())
    return skipped


def _fixed_name(name: str) -> str | None:
    """The freqtrade name a wrongly cased feather name stands for (``eth_usdt-1h.feather`` ->
    ``ETH_USDT-1h.feather``), if that name parses; else ``None``."""
    match = _LOOSE_FREQTRADE.match(name)
    if match is None:
        return None
    base, quote, settle, count, unit, futures = match.groups()
    unit = unit if unit == "M" else unit.lower()  # "M" is freqtrade's month
    fixed = (f"{base.upper()}_{quote.upper()}{(settle or '').upper()}-{count}{unit}"
             f"{(futures or '').lower()}.feather")
    try:
        parse_freqtrade_name(Path(fixed))
    except CandleDataError:
        return None
    return fixed if fixed != name else None


def _too_short(candle_set: CandleSet) -> str | None:
    """Why a pair is too short to train on (no row past the feature warm-up), or ``None``."""
    try:
        warmup = warmup_bars(candle_set.interval_s)
    except ValueError:
        return None  # an interval the features refuse: the pipeline reports it
    if len(candle_set.frame) > warmup:
        return None
    return (f"{candle_set.pair}: {len(candle_set.frame)} candles, not more than the "
            f"{warmup}-candle feature warm-up at {candle_set.interval_s} s: no setup could be "
            "detected on it")
