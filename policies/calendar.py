"""Business time: deadlines counted in a store's working week, opening hours and time zone.

``business_deadline`` answers "N business days / hours after this moment" for a store such
as NovaKeys (Sun-Thu 09:00-17:00 Asia/Riyadh). A start outside business time counts from
the next opening. A deadline is always on a working day, between opening and closing time
(closing time included: "by 17:00").

- ``unit="hours"`` adds N hours of open time, spilling over closed nights and days off.
- ``unit="days"`` moves N working days forward, keeping the time of day of the (rolled)
  start: a claim on Sunday 10:00 with 2 business days is due Tuesday 10:00.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .rules import WEEKDAYS, BusinessCalendar

_MAX_DAYS_SCANNED = 10_000  # a calendar always has a working day within a week


def _weekdays(working_days: Iterable[int | str]) -> frozenset[int]:
    days = frozenset(WEEKDAYS.index(d) if isinstance(d, str) else int(d) for d in working_days)
    if not days or not days <= set(range(7)):
        raise ValueError("working_days: at least one day, Monday=0 .. Sunday=6")
    return days


def _local(day: date, clock: time | None, tz: ZoneInfo) -> datetime:
    """The instant of ``clock`` (None = 24:00) on ``day`` in ``tz``, in UTC."""
    if clock is None:
        return datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    return datetime.combine(day, clock, tz).astimezone(UTC)


class _Week:
    def __init__(
        self,
        working_days: Iterable[int | str],
        opening_hours: tuple[time, time | None],
        tz: ZoneInfo | str,
    ) -> None:
        self.days = _weekdays(working_days)
        self.opens, self.closes = opening_hours
        if self.closes is not None and self.closes <= self.opens:
            raise ValueError("opening_hours: closing time must be after opening time")
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz

    def interval(self, day: date) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.days:
            return None
        return _local(day, self.opens, self.tz), _local(day, self.closes, self.tz)

    def intervals_from(self, moment: datetime):
        """Open intervals (UTC) that end at or after ``moment``, in order."""
        day = moment.astimezone(self.tz).date() - timedelta(days=1)
        for _ in range(_MAX_DAYS_SCANNED):
            found = self.interval(day)
            if found and found[1] >= moment:
                yield found
            day += timedelta(days=1)
        raise ValueError("calendar has no working time")  # pragma: no cover

    def contains(self, moment: datetime) -> bool:
        """True when ``moment`` is open time, closing time included."""
        found = self.interval(moment.astimezone(self.tz).date())
        return found is not None and found[0] <= moment <= found[1]

    def settle(self, moment: datetime) -> datetime:
        """``moment`` if it is open time, else the next opening."""
        if self.contains(moment):
            return moment
        # Not open time: the next interval that starts after it (an earlier day's interval
        # can only touch ``moment`` at its 24:00 end, which belongs to the closed day).
        return next(start for start, _ in self.intervals_from(moment) if start >= moment)


def business_deadline(
    *,
    start: datetime,
    amount: int,
    unit: str,
    working_days: Iterable[int | str],
    opening_hours: tuple[time, time | None],
    tz: ZoneInfo | str,
) -> datetime:
    """The aware datetime (in ``tz``) ``amount`` business ``unit`` after ``start``."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start: must be timezone-aware")
    if amount < 0:
        raise ValueError("amount: must not be negative")
    if unit not in ("days", "hours"):
        raise ValueError("unit: 'days' or 'hours'")
    week = _Week(working_days, opening_hours, tz)
    moment = week.settle(start.astimezone(UTC))

    if unit == "days":
        local = moment.astimezone(week.tz)
        day, clock = local.date(), local.time()
        remaining = amount
        while remaining:
            day += timedelta(days=1)
            if day.weekday() in week.days:
                remaining -= 1
        return week.settle(_local(day, clock, week.tz)).astimezone(week.tz)

    remaining_time = timedelta(hours=amount)
    for open_at, close_at in week.intervals_from(moment):
        begin = max(open_at, moment)
        available = close_at - begin
        if remaining_time <= available:
            deadline = begin + remaining_time
            # A deadline at a 24:00 close is the next day's midnight; when that day is
            # closed, the next opening is the same point in business time.
            return week.settle(deadline).astimezone(week.tz)
        remaining_time -= available
    raise ValueError("calendar has no working time")  # pragma: no cover


def business_deadline_for(
    *, calendar: BusinessCalendar, start: datetime, amount: int, unit: str
) -> datetime:
    """``business_deadline`` with a preset's calendar."""
    return business_deadline(
        start=start,
        amount=amount,
        unit=unit,
        working_days=calendar.working_days,
        opening_hours=(calendar.opens, calendar.closes),
        tz=calendar.tz,
    )


def business_time_contains(*, calendar: BusinessCalendar, moment: datetime) -> bool:
    """True when ``moment`` falls in the calendar's open time (closing time included)."""
    week = _Week(calendar.working_days, (calendar.opens, calendar.closes), calendar.tz)
    return week.contains(moment.astimezone(UTC))
