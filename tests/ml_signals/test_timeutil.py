"""The one UTC display format (``ml_signals.timeutil.format_utc``) and the places that use it."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from ml_signals.candle_guard import BadCandle
from ml_signals.risk import ClosedTrade, RiskConfig, RiskManager
from ml_signals.timeutil import format_utc


def _ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("ts_s", "shown"), [
    (_ts(2025, 1, 29, 10, 0), "2025-01-29 10:00 UTC"),
    (_ts(2025, 1, 29, 10, 0, 59) + 0.9, "2025-01-29 10:00 UTC"),  # seconds dropped, not rounded
    (int(_ts(2024, 2, 29, 23, 59)), "2024-02-29 23:59 UTC"),    # int seconds, leap day
    (_ts(2025, 3, 9, 10, 30), "2025-03-09 10:30 UTC"),          # a US DST switch day: still UTC
    (0, "1970-01-01 00:00 UTC"),
])
def test_format_utc(ts_s: float, shown: str) -> None:
    assert format_utc(ts_s) == shown


def test_format_utc_refuses_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        format_utc(math.nan)


def test_guard_reasons_and_bad_candles_use_the_same_format() -> None:
    closed_s = int(_ts(2025, 1, 29, 10, 0))
    risk = RiskManager(RiskConfig(consecutive_losses=2))
    ledger = risk.new_ledger()
    for i in range(2):
        risk.record_close(ledger, ClosedTrade("BTC-USDT", "dca", closed_s - 3600 + i * 3600,
                                              -5.0, -0.05))
    lock = ledger.active_lock("consecutive_losses", closed_s)
    assert lock is not None and "at 2025-01-29 10:00 UTC" in lock.reason
    bad = BadCandle(row=3, timestamp_s=closed_s, rule="close_move", detail="x")
    assert bad.when == format_utc(closed_s) == "2025-01-29 10:00 UTC"
