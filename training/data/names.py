"""File-name conventions: pair and interval from Kraken, freqtrade and Hummingbot file names.

Pairs are returned in Hummingbot form ``BASE-QUOTE`` (``"BTC-USDT"``). Kraken's own asset codes
are mapped to the common ones (``XBT`` -> ``BTC``, ``XDG`` -> ``DOGE``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from ml_signals.candles import INTERVAL_SECONDS
from training.data.errors import FILE_NAME, CandleDataError

KRAKEN_ASSETS: Final[dict[str, str]] = {"XBT": "BTC", "XDG": "DOGE"}
"""Kraken asset codes that differ from the common ticker."""

KRAKEN_QUOTES: Final[tuple[str, ...]] = (
    "USDT", "USDC", "USD", "EUR", "GBP", "CAD", "JPY", "CHF", "AUD", "DAI", "XBT", "ETH", "DOT",
)
"""Quote currencies of Kraken pair names, matched as a suffix, longest first where they overlap."""

_KRAKEN_LEGACY = re.compile(r"^[XZ]([A-Z0-9]{3})([XZ])([A-Z0-9]{3})$")
_KRAKEN_FILE = re.compile(r"^([A-Z0-9]+)_(\d+)\.csv$")
_FREQTRADE_FILE = re.compile(
    r"^([A-Z0-9]+)_([A-Z0-9]+)(?:_[A-Z0-9]+)?-(\d+[mhdwM])(-futures)?\.feather$"
)
_HUMMINGBOT_FILE = re.compile(r"^candles_.+?_([A-Z0-9]+-[A-Z0-9]+)_(\d+[smhdwM])\.csv$")
_PAIR = re.compile(r"^[A-Z0-9]+-[A-Z0-9]+$")


def _kraken_asset(code: str) -> str:
    return KRAKEN_ASSETS.get(code, code)


def kraken_pair(name: str) -> str:
    """Map a Kraken pair name to Hummingbot form.

    ``"XBTUSD"`` -> ``"BTC-USD"``, ``"XDGUSDT"`` -> ``"DOGE-USDT"``, ``"ETHXBT"`` -> ``"ETH-BTC"``,
    legacy ``"XXBTZUSD"`` -> ``"BTC-USD"``.

    Raises:
        CandleDataError: rule ``file_name`` if no known quote currency ends the name.
    """
    name = name.upper()
    legacy = _KRAKEN_LEGACY.match(name)
    if legacy and (legacy.group(2) == "Z") == (legacy.group(3) in {"USD", "EUR", "GBP", "CAD",
                                                                    "JPY", "CHF", "AUD"}):
        return f"{_kraken_asset(legacy.group(1))}-{_kraken_asset(legacy.group(3))}"
    for quote in sorted(KRAKEN_QUOTES, key=len, reverse=True):
        if name.endswith(quote) and len(name) > len(quote):
            return f"{_kraken_asset(name[: -len(quote)])}-{_kraken_asset(quote)}"
    raise CandleDataError(
        f"cannot split Kraken pair {name!r}: no known quote ({', '.join(KRAKEN_QUOTES)})",
        path=None, row=None, rule=FILE_NAME,
    )


def _interval_from_minutes(minutes: int, path: str) -> int:
    seconds = minutes * 60
    if seconds not in INTERVAL_SECONDS.values():
        raise CandleDataError(
            f"unsupported interval {minutes} min; supported: {sorted(INTERVAL_SECONDS.values())} s",
            path=path, row=None, rule=FILE_NAME,
        )
    return seconds


def interval_from_name(interval: str, path: str | None) -> int:
    """Seconds of a Hummingbot / freqtrade interval name such as ``"1h"``.

    Raises:
        CandleDataError: rule ``file_name`` for a name not in
            ``ml_signals.candles.INTERVAL_SECONDS``.
    """
    try:
        return INTERVAL_SECONDS[interval]
    except KeyError:
        raise CandleDataError(
            f"unsupported interval {interval!r}; supported: {', '.join(INTERVAL_SECONDS)}",
            path=path, row=None, rule=FILE_NAME,
        ) from None


def check_pair(pair: str, path: str | None) -> str:
    """Return ``pair`` if it is in Hummingbot form ``BASE-QUOTE`` (upper case), else raise.

    Raises:
        CandleDataError: rule ``file_name``.
    """
    if not _PAIR.match(pair):
        raise CandleDataError(
            f"pair {pair!r} is not in Hummingbot form BASE-QUOTE (e.g. BTC-USDT)",
            path=path, row=None, rule=FILE_NAME,
        )
    return pair


def parse_kraken_name(path: Path) -> tuple[str, int]:
    """``XBTUSD_60.csv`` -> ``("BTC-USD", 3600)`` (the number is the bar length in minutes).

    Raises:
        CandleDataError: rule ``file_name``.
    """
    match = _KRAKEN_FILE.match(path.name.upper().replace(".CSV", ".csv"))
    if not match:
        raise CandleDataError(
            "Kraken OHLCVT file names look like XBTUSD_60.csv (<PAIR>_<minutes>.csv)",
            path=str(path), row=None, rule=FILE_NAME,
        )
    try:
        pair = kraken_pair(match.group(1))
    except CandleDataError as err:
        raise CandleDataError(err.detail, path=str(path), row=None, rule=FILE_NAME) from None
    return pair, _interval_from_minutes(int(match.group(2)), str(path))


def parse_freqtrade_name(path: Path) -> tuple[str, int]:
    """``BTC_USDT-1h.feather`` or ``BTC_USDT_USDT-1h-futures.feather`` -> ``("BTC-USDT", 3600)``.

    Raises:
        CandleDataError: rule ``file_name``.
    """
    match = _FREQTRADE_FILE.match(path.name)
    if not match:
        raise CandleDataError(
            "freqtrade file names look like BTC_USDT-1h.feather or "
            "BTC_USDT_USDT-1h-futures.feather",
            path=str(path), row=None, rule=FILE_NAME,
        )
    return f"{match.group(1)}-{match.group(2)}", interval_from_name(match.group(3), str(path))


def parse_hummingbot_name(path: Path) -> tuple[str, int]:
    """``candles_binance_BTC-USDT_1h.csv`` (Hummingbot's ``candles_<feed name>_<interval>.csv``)
    -> ``("BTC-USDT", 3600)``.

    Raises:
        CandleDataError: rule ``file_name``.
    """
    match = _HUMMINGBOT_FILE.match(path.name)
    if not match:
        raise CandleDataError(
            "Hummingbot candle files look like candles_binance_BTC-USDT_1h.csv",
            path=str(path), row=None, rule=FILE_NAME,
        )
    return match.group(1), interval_from_name(match.group(2), str(path))
