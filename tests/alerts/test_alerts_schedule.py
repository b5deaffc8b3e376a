"""Report schedule: 07:00 / 19:00 America/Los_Angeles and Sunday 19:00, across DST changes.

Expected instants are written from the US rules (PST = UTC-8, PDT = UTC-7; in 2025 DST starts
Sunday 9 March and ends Sunday 2 November), not computed by the code under test.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from ml_signals.alerts.schedule import (
    ReportScheduleConfig,
    ReportTimer,
    next_report,
    reports_between,
)
from ml_signals.alerts.watchdog import CandleWatchdog


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_next_report_winter_and_summer():
    winter = next_report(utc(2025, 1, 15, 10, 0))  # 02:00 PST
    assert (winter.kind, winter.due_s) == ("morning", utc(2025, 1, 15, 15, 0))
    assert winter.period_start_s == utc(2025, 1, 15, 3, 0)  # 19:00 PST the day before
    assert winter.local_date == date(2025, 1, 15)
    summer = next_report(utc(2025, 7, 15, 10, 0))  # 03:00 PDT
    assert (summer.kind, summer.due_s) == ("morning", utc(2025, 7, 15, 14, 0))
    evening = next_report(utc(2025, 7, 15, 14, 0))  # exactly at 07:00: the next one is 19:00
    assert (evening.kind, evening.due_s) == ("evening", utc(2025, 7, 16, 2, 0))


def test_spring_forward_weekend():
    got = reports_between(utc(2025, 3, 8, 4, 0), utc(2025, 3, 10, 12, 0))
    assert [(r.kind, r.due_s) for r in got] == [
        ("morning", utc(2025, 3, 8, 15, 0)),   # Sat 07:00 PST
        ("evening", utc(2025, 3, 9, 3, 0)),    # Sat 19:00 PST
        ("morning", utc(2025, 3, 9, 14, 0)),   # Sun 07:00 PDT
        ("evening", utc(2025, 3, 10, 2, 0)),   # Sun 19:00 PDT
        ("weekly", utc(2025, 3, 10, 2, 0)),    # Sun 19:00 PDT, after the evening report
    ]
    sunday_morning, sunday_evening, weekly = got[2], got[3], got[4]
    assert sunday_morning.due_s - sunday_morning.period_start_s == 11 * 3600  # lost hour
    assert sunday_evening.due_s - sunday_evening.period_start_s == 23 * 3600
    assert weekly.period_start_s == utc(2025, 3, 3, 3, 0)  # previous Sunday 19:00 PST
    assert weekly.local_date == date(2025, 3, 9)


def test_fall_back_weekend():
    got = reports_between(utc(2025, 11, 1, 12, 0), utc(2025, 11, 3, 12, 0))
    assert [(r.kind, r.due_s) for r in got] == [
        ("morning", utc(2025, 11, 1, 14, 0)),  # Sat 07:00 PDT
        ("evening", utc(2025, 11, 2, 2, 0)),   # Sat 19:00 PDT
        ("morning", utc(2025, 11, 2, 15, 0)),  # Sun 07:00 PST
        ("evening", utc(2025, 11, 3, 3, 0)),   # Sun 19:00 PST
        ("weekly", utc(2025, 11, 3, 3, 0)),
    ]
    assert got[2].due_s - got[2].period_start_s == 13 * 3600  # extra hour
    assert got[3].due_s - got[3].period_start_s == 25 * 3600


def test_timer_hands_out_each_slot_once_over_two_weeks():
    start = utc(2025, 3, 3, 0, 0)  # Monday
    timer = ReportTimer(start)
    fired = []
    now = start
    while now < start + 14 * 86400:
        now += 300  # a 5-minute tick loop driven by a fake clock
        batch = timer.poll(now)
        assert all(start < r.due_s <= now for r in batch)
        fired.extend(batch)
    kinds = Counter(r.kind for r in fired)
    assert kinds == {"morning": 14, "evening": 14, "weekly": 2}
    assert len({(r.kind, r.due_s) for r in fired}) == len(fired)
    assert [r.due_s for r in fired] == sorted(r.due_s for r in fired)
    # A timer created after a restart does not hand out slots from before it started.
    restarted = ReportTimer(now)
    assert restarted.poll(now + 60) == []
    assert timer.poll(now - 3600) == []  # a clock stepping back yields nothing


def test_custom_schedule():
    config = ReportScheduleConfig(timezone="Europe/London", morning="08:30", evening="18:00",
                                  weekly_weekday=1, weekly="09:00")
    got = reports_between(utc(2025, 6, 1, 23, 0), utc(2025, 6, 2, 23, 0), config)  # Mon (BST)
    assert [(r.kind, r.due_s) for r in got] == [
        ("morning", utc(2025, 6, 2, 7, 30)),
        ("weekly", utc(2025, 6, 2, 8, 0)),
        ("evening", utc(2025, 6, 2, 17, 0)),
    ]


def test_candle_watchdog_alerts_once_per_stall():
    dog = CandleWatchdog()  # 600 s, the plan's "no data for 10 min"
    dog.observe("BTC-USDT", 1000.0)
    dog.observe("ETH-USDT", 1500.0)
    assert dog.check(1600.0) == []  # exactly 600 s silent: not yet
    first = dog.check(1601.0)
    assert [(a.pair, a.silence_s) for a in first] == [("BTC-USDT", 601.0)]
    assert dog.check(1700.0) == []  # same stall: no repeat
    assert [a.pair for a in dog.check(2101.0)] == ["ETH-USDT"]
    dog.observe("BTC-USDT", 1750.0)  # data again: re-armed
    again = dog.check(2400.0)
    assert [(a.pair, a.last_update_s) for a in again] == [("BTC-USDT", 1750.0)]
    assert again[0].idempotency_key != first[0].idempotency_key
