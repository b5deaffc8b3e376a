"""Number, duration and text formatting for Slack messages (display only)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

USD_LIKE = frozenset({"USD", "USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "USDP"})
"""Quote currencies shown with a ``$`` sign, as in the plan's templates (``Entry: ${price}``)."""


def price_decimals(price: float) -> int:
    """Decimals that keep about four significant digits below 1 and cents above.

    ``43210.5 -> 2``, ``2.5 -> 2``, ``0.5234 -> 4``, ``0.00001234 -> 8``.
    """
    if not math.isfinite(price) or price == 0 or abs(price) >= 1:
        return 2
    return min(12, 3 - math.floor(math.log10(abs(price))))


def fmt_price(price: float, quote: str) -> str:
    """A price in quote: ``$43,210.50`` for USD-like quotes, ``0.5234 EUR`` otherwise."""
    body = f"{abs(price):,.{price_decimals(price)}f}"
    sign = "-" if price < 0 else ""
    return f"{sign}${body}" if quote in USD_LIKE else f"{sign}{body} {quote}".rstrip()


def fmt_money(amount: float, quote: str, signed: bool = False) -> str:
    """An amount in quote with two decimals; ``signed`` adds ``+`` to gains: ``+$12.34``."""
    sign = "-" if amount < 0 else ("+" if signed and amount > 0 else "")
    body = f"{abs(amount):,.2f}"
    return f"{sign}${body}" if quote in USD_LIKE else f"{sign}{body} {quote}".rstrip()


def fmt_pct(frac: float, signed: bool = True, decimals: int = 1) -> str:
    """A fraction as a display percentage: ``0.012 -> "+1.2%"``."""
    return f"{frac * 100:+.{decimals}f}%" if signed else f"{frac * 100:.{decimals}f}%"


def fmt_duration(seconds: float) -> str:
    """``"Xh Ym"`` as in the plan's trade-closed template (minutes truncated).

    ``5400 -> "1h 30m"``, ``59 -> "0h 0m"``, ``93784 -> "26h 3m"``.
    """
    total_min = int(max(seconds, 0) // 60)
    return f"{total_min // 60}h {total_min % 60}m"


def fmt_time(ts_s: float, tz: str = "America/Los_Angeles") -> str:
    """Local wall time for reports: ``"2025-03-09 07:00 PDT"``."""
    local = datetime.fromtimestamp(ts_s, tz=UTC).astimezone(ZoneInfo(tz))
    return local.strftime("%Y-%m-%d %H:%M %Z")


def escape_mrkdwn(text: str) -> str:
    """Escape ``&``, ``<``, ``>`` so user text cannot form Slack links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (Block Kit field limits)."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def humanize_close_type(close_type: str) -> str:
    """``"TAKE_PROFIT"`` / ``"CloseType.TAKE_PROFIT"`` -> ``"take profit"``."""
    name = close_type.rsplit(".", 1)[-1]
    return name.replace("_", " ").strip().lower() or "unknown"
