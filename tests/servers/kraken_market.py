"""Kraken's market vocabulary for the loopback server: pair names and limits, book levels.

:class:`PairSpec` holds what Kraken's ``AssetPairs`` says of a pair (the fields Hummingbot's
``KrakenExchange._format_trading_rules`` and ``_initialize_trading_pair_symbols_from_exchange_info``
read); :func:`book_around` builds the levels of a book around a price; :func:`fmt` writes
numbers as Kraken does (decimal strings).
"""

from __future__ import annotations

from dataclasses import dataclass, field

KRAKEN_ASSET = {"BTC": "XBT", "DOGE": "XDG"}
"""Hummingbot asset -> Kraken asset (``kraken_constants.KRAKEN_TO_HB_MAP`` inverted)."""


@dataclass(frozen=True)
class PairSpec:
    """Kraken's names and limits of one pair (AssetPairs fields).

    Attributes:
        pair: Hummingbot pair, ``"BTC-USD"``.
        ordermin_base: ``ordermin``: smallest order, base currency.
        costmin_quote: ``costmin``: smallest order value, quote currency.
        pair_decimals: price decimals (tick ``10**-pair_decimals``).
        lot_decimals: volume decimals (step ``10**-lot_decimals``).
    """

    pair: str
    ordermin_base: str = "0.0001"
    costmin_quote: str = "0.5"
    pair_decimals: int = 1
    lot_decimals: int = 8

    @property
    def base(self) -> str:
        """Kraken base asset, ``"XBT"``."""
        base = self.pair.split("-")[0]
        return KRAKEN_ASSET.get(base, base)

    @property
    def quote(self) -> str:
        """Kraken quote asset, ``"USD"``."""
        quote = self.pair.split("-")[1]
        return KRAKEN_ASSET.get(quote, quote)

    @property
    def altname(self) -> str:
        """``"XBTUSD"`` (the symbol REST requests carry)."""
        return self.base + self.quote

    @property
    def wsname(self) -> str:
        """``"XBT/USD"`` (the WebSocket pair name)."""
        return f"{self.base}/{self.quote}"

    @property
    def key(self) -> str:
        """Result key, ``"XXBTZUSD"`` (Kraken prefixes 3-letter crypto X, fiat Z)."""
        def long(asset: str) -> str:
            if len(asset) != 3:
                return asset
            return ("Z" if asset in {"USD", "EUR", "GBP", "JPY", "CAD"} else "X") + asset
        return long(self.base) + long(self.quote)

    def asset_pair(self) -> dict[str, object]:
        """The AssetPairs entry (the fields ``KrakenExchange`` reads, plus Kraken's others)."""
        return {
            "altname": self.altname, "wsname": self.wsname, "aclass_base": "currency",
            "base": self.key[: len(self.key) - 4], "aclass_quote": "currency",
            "quote": self.key[-4:], "lot": "unit", "cost_decimals": 5,
            "pair_decimals": self.pair_decimals, "lot_decimals": self.lot_decimals,
            "lot_multiplier": 1, "fees": [[0, 0.26]], "fees_maker": [[0, 0.16]],
            "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40,
            "ordermin": self.ordermin_base, "costmin": self.costmin_quote, "tick_size": str(
                10 ** -self.pair_decimals), "status": "online",
        }


@dataclass
class Book:
    """Current levels of one pair, price -> volume (strings as sent)."""

    bids: dict[str, str] = field(default_factory=dict)
    asks: dict[str, str] = field(default_factory=dict)


def book_around(price: float, tick: float, step_frac: float, levels: int,
                volume_base: float) -> Book:
    """``levels`` bids and asks around ``price``, ``step_frac`` of it apart (at least one
    ``tick``), half a step from the price, each ``volume_base`` deep, on the tick grid."""
    step = max(price * step_frac, tick)
    volume = f"{volume_base:.8f}"
    book = Book()
    for k in range(levels):
        book.bids[fmt(_round(price - step * (k + 0.5), tick))] = volume
        book.asks[fmt(_round(price + step * (k + 0.5), tick))] = volume
    return book


def _round(value: float, tick: float) -> float:
    return round(round(value / tick) * tick, 10)


def fmt(value: float) -> str:
    """Kraken sends prices as decimal strings."""
    return f"{float(value):.10f}".rstrip("0").rstrip(".")
