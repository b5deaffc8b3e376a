"""Report schedule: 07:00 and 19:00 America/Los_Angeles daily, Sunday 19:00 weekly.

From the original plan, "Report Schedule": morning = last 12 hours, evening = the trading day,
weekly = the week. Times are local wall-clock times, so across a DST change the UTC instant
moves (07:00 PST = 15:00 UTC, 07:00 PDT = 14:00 UTC) and a "day" lasts 23 or 25 hours; every
instant is computed with :mod:`zoneinfo`, never by adding fixed offsets.

Nothing here reads the clock or sleeps: callers pass ``now_s`` (seconds, UTC). A loop asks
:meth:`ReportTimer.poll` each tick and gets the reports that fell due since the last poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from ml_signals.alerts.events import ReportKind


class ReportScheduleConfig(BaseModel):
    """When reports fire (original plan, "Report Schedule").

    Attributes:
        timezone: IANA zone of the wall-clock times.
        morning: local ``HH:MM`` of the morning report (covers the 12 hours before it).
        evening: local ``HH:MM`` of the evening report (covers the day since the previous
            evening report).
        weekly_weekday: ISO weekday of the weekly report, 1 = Monday … 7 = Sunday.
        weekly: local ``HH:MM`` of the weekly report (covers the 7 days before it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "America/Los_Angeles"
    morning: str = Field(default="07:00", pattern=r"^\d{2}:\d{2}$")
    evening: str = Field(default="19:00", pattern=r"^\d{2}:\d{2}$")
    weekly_weekday: int = Field(default=7, ge=1, le=7)
    weekly: str = Field(default="19:00", pattern=r"^\d{2}:\d{2}$")

    def zone(self) -> ZoneInfo:
        """The :class:`~zoneinfo.ZoneInfo` of :attr:`timezone` (raises if unknown)."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class ScheduledReport:
    """One report slot.

    Attributes:
        kind: ``"morning"``, ``"evening"`` or ``"weekly"``.
        due_s: when it fires (UTC seconds).
        period_start_s: start of the window it summarises; the window is
            ``[period_start_s, due_s)``.
        local_date: the local calendar date of ``due_s`` (the ``daily_performance`` date).
    """

    kind: ReportKind
    due_s: float
    period_start_s: float
    local_date: date

    @property
    def period_end_s(self) -> float:
        """End of the window (= ``due_s``)."""
        return self.due_s


def _hhmm(value: str) -> time:
    hours, minutes = (int(x) for x in value.split(":"))
    return time(hours, minutes)


def _local_instant(day: date, at: time, zone: ZoneInfo) -> float:
    """UTC seconds of wall time ``day at`` in ``zone``.

    A wall time inside a spring-forward gap does not exist; it is moved forward by the gap
    (02:30 -> 03:30), which is what a wall clock shows. An ambiguous fall-back time takes its
    first occurrence (``fold=0``).
    """
    # PEP 495: with fold=0 a gap time is read with the offset before the transition, which
    # lands on the wall time shifted forward by the gap; an ambiguous time maps to its first
    # occurrence.
    return datetime.combine(day, at, tzinfo=zone).timestamp()


def _slots_on(day: date, cfg: ReportScheduleConfig, zone: ZoneInfo) -> list[ScheduledReport]:
    morning_t, evening_t, weekly_t = _hhmm(cfg.morning), _hhmm(cfg.evening), _hhmm(cfg.weekly)
    yesterday = day - timedelta(days=1)
    morning_due = _local_instant(day, morning_t, zone)
    evening_due = _local_instant(day, evening_t, zone)
    slots = [
        # Morning: since the previous evening slot (12 wall-clock hours with the defaults).
        ScheduledReport("morning", morning_due, _local_instant(yesterday, evening_t, zone), day),
        # Evening: the trading day since yesterday's evening slot.
        ScheduledReport("evening", evening_due, _local_instant(yesterday, evening_t, zone), day),
    ]
    if day.isoweekday() == cfg.weekly_weekday:
        weekly_due = _local_instant(day, weekly_t, zone)
        week_start = _local_instant(day - timedelta(days=7), weekly_t, zone)
        slots.append(ScheduledReport("weekly", weekly_due, week_start, day))
    return slots


def reports_between(
    after_s: float, until_s: float, config: ReportScheduleConfig | None = None
) -> list[ScheduledReport]:
    """Report slots with ``after_s < due_s <= until_s``, in firing order.

    At a shared instant (Sunday 19:00) the evening report comes before the weekly one.

    Args:
        after_s: exclusive lower bound, UTC seconds.
        until_s: inclusive upper bound, UTC seconds.
        config: schedule; the plan's default when ``None``.
    """
    cfg = config or ReportScheduleConfig()
    zone = cfg.zone()
    if until_s <= after_s:
        return []
    first = datetime.fromtimestamp(after_s, tz=UTC).astimezone(zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(until_s, tz=UTC).astimezone(zone).date() + timedelta(days=1)
    found: list[ScheduledReport] = []
    day = first
    while day <= last:
        found.extend(s for s in _slots_on(day, cfg, zone) if after_s < s.due_s <= until_s)
        day += timedelta(days=1)
    order = {"morning": 0, "evening": 1, "weekly": 2}
    return sorted(found, key=lambda s: (s.due_s, order[s.kind]))


def next_report(after_s: float, config: ReportScheduleConfig | None = None) -> ScheduledReport:
    """The first report slot strictly after ``after_s`` (UTC seconds)."""
    window_s = 8 * 86400.0  # a weekly slot plus a day of margin always holds a daily slot
    return reports_between(after_s, after_s + window_s, config)[0]


class ReportTimer:
    """Hands out each report slot once as a caller-driven clock passes it.

    ``ReportTimer(start_s).poll(now_s)`` returns the slots due in ``(last_poll, now_s]``. Slots
    before ``start_s`` never fire (a restart does not resend old reports; the reports'
    idempotency keys make a resend harmless anyway). A clock stepping backwards returns nothing.
    A poll before the next slot is due only compares two numbers, so a per-tick poll is cheap.
    """

    def __init__(self, start_s: float, config: ReportScheduleConfig | None = None) -> None:
        self._config = config or ReportScheduleConfig()
        self._last_s = start_s
        self._next_due_s = next_report(start_s, self._config).due_s

    @property
    def last_poll_s(self) -> float:
        """The upper bound of the last poll (or the start time)."""
        return self._last_s

    def poll(self, now_s: float) -> list[ScheduledReport]:
        """Slots that fell due since the previous poll, in firing order."""
        if now_s <= self._last_s:
            return []
        if now_s < self._next_due_s:  # nothing due: skip the calendar arithmetic
            self._last_s = now_s
            return []
        due = reports_between(self._last_s, now_s, self._config)
        self._last_s = now_s
        self._next_due_s = next_report(now_s, self._config).due_s
        return due
