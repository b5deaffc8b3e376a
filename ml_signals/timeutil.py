"""Timestamps for people: the one UTC format of logs, guard reasons, status, Slack alerts and
Slack answers.

Hummingbot and this package keep time as epoch seconds (UTC); displays show minutes, since every
decision is taken on a closed candle (1h by default) and seconds would only add noise. Local
wall times for the daily reports are :func:`ml_signals.alerts.formatting.fmt_time`.
"""

from __future__ import annotations

from datetime import UTC, datetime


def format_utc(ts_s: float) -> str:
    """``ts_s`` (epoch seconds, int or float) as ``"2025-01-29 10:00 UTC"``; seconds and
    fractions of a second are dropped, not rounded.

    Raises:
        ValueError: ``ts_s`` is NaN; OverflowError or OSError: outside the years the platform's
            ``datetime`` can hold (both from :meth:`datetime.fromtimestamp`).
    """
    return datetime.fromtimestamp(ts_s, UTC).strftime("%Y-%m-%d %H:%M UTC")
