"""Journal records for tests, built from the project's own Setup / Score types."""

from __future__ import annotations

from datetime import date

from ml_signals.exits import ExitRules
from ml_signals.journal.records import (
    DailyPerformanceRecord,
    PredictionRecord,
    SetupRecord,
    TradeRecord,
)
from ml_signals.scoring.score import Score
from ml_signals.setups.base import EntryPlan, Setup

T0 = 1_735_689_600  # 2025-01-01 00:00 UTC, a candle open time on the 1h grid
PAIRS = ("BTC-USDT", "ETH-USDT", "SOL-USDT")


def setup(i: int, strategy: str = "swing") -> Setup:
    """The i-th setup: one per hour, cycling over three pairs."""
    price = 100.0 + i
    return Setup(strategy=strategy, pair=PAIRS[i % 3], timestamp=T0 + 3600 * i,  # type: ignore[arg-type]
                 bar_index=i, reference_price=price,
                 entry=EntryPlan("market", amounts_quote=(100.0,)),
                 exits=ExitRules(take_profit_frac=0.04, stop_loss_frac=0.02,
                                 time_limit_s=48 * 3600),
                 context={"resistance": price * 1.01, "volume_ratio": 1.7})


def setup_record(i: int, taken: bool = True) -> SetupRecord:
    return SetupRecord.from_setup(setup(i), taken=taken,
                                  skip_reason=None if taken else "confidence below 0.6",
                                  recorded_s=T0 + 3600 * i + 5.0)


def prediction_record(i: int, model_version: str = "m-2025-01") -> PredictionRecord:
    score = Score(confidence=0.55 + (i % 40) / 100, take=i % 2 == 0, take_profit_frac=0.04,
                  stop_loss_frac=0.02, size_multiplier=1.0 + (i % 5) / 10,
                  expected_hold_s=6 * 3600, model_version=model_version)
    return PredictionRecord.from_score(setup(i).setup_id, score, scored_s=T0 + 3600 * i + 6.0)


def trade_record(i: int, closed: bool) -> TradeRecord:
    s = setup(i)
    entry = s.reference_price * 1.001
    base = dict(trade_id=f"executor-{i}", setup_id=s.setup_id, strategy=s.strategy, pair=s.pair,
                side="buy", entry_price_quote=entry, amount_base=100.0 / entry,
                amount_quote=100.0, fees_quote=0.1, opened_s=float(s.timestamp + 3600))
    if not closed:
        return TradeRecord(**base)  # type: ignore[arg-type]
    win = i % 3 != 0
    exit_price = entry * (1.04 if win else 0.98)
    pnl = 100.0 * (exit_price / entry - 1.0) - 0.2
    return TradeRecord(**base, exit_price_quote=exit_price, pnl_quote=pnl,  # type: ignore[arg-type]
                       pnl_frac=pnl / 100.0, close_type="TAKE_PROFIT" if win else "STOP_LOSS",
                       closed_s=float(s.timestamp + 3600 * (3 + i % 5)))


def daily_record(day: int, strategy: str = "all") -> DailyPerformanceRecord:
    return DailyPerformanceRecord(date=date(2025, 1, 1 + day), strategy=strategy,
                                  setups_detected=10 + day, setups_taken=4, trades_count=4,
                                  wins=3, losses=1, net_pnl_quote=6.5 - day,
                                  ml_precision=0.75, updated_s=float(T0 + 86400 * (day + 1)))
