"""Business-time deadlines (pure: no database)."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.calendar import business_deadline, business_deadline_for, business_time_contains
from policies.rules import preset_rules_shipped

RIYADH = ZoneInfo("Asia/Riyadh")
NOVAKEYS = {
    "working_days": ["sun", "mon", "tue", "wed", "thu"],
    "opening_hours": (time(9), time(17)),
    "tz": "Asia/Riyadh",
}


def riyadh(*args):
    return datetime(*args, tzinfo=RIYADH)


def test_days_keep_the_time_of_day():
    assert business_deadline(
        start=riyadh(2026, 3, 1, 10), amount=2, unit="days", **NOVAKEYS
    ) == riyadh(2026, 3, 3, 10)


def test_weekend_start_counts_from_the_next_opening():
    # Friday 2026-03-06 is closed: counting starts Sunday 09:00.
    assert business_deadline(
        start=riyadh(2026, 3, 6, 12), amount=2, unit="days", **NOVAKEYS
    ) == riyadh(2026, 3, 10, 9)


def test_hours_spill_over_closed_nights_and_weekends():
    # Thursday 15:00 + 4 business hours: 2 on Thursday, 2 on Sunday.
    assert business_deadline(
        start=riyadh(2026, 3, 5, 15), amount=4, unit="hours", **NOVAKEYS
    ) == riyadh(2026, 3, 8, 11)


def test_hours_ending_at_closing_time_stay_on_that_day():
    assert business_deadline(
        start=riyadh(2026, 3, 5, 9), amount=8, unit="hours", **NOVAKEYS
    ) == riyadh(2026, 3, 5, 17)


def test_full_day_calendar_never_lands_on_the_weekend():
    paris = ZoneInfo("Europe/Paris")
    deadline = business_deadline(
        start=datetime(2026, 3, 5, 0, 0, tzinfo=paris),  # Thursday midnight
        amount=48,
        unit="hours",
        working_days=[0, 1, 2, 3, 4],
        opening_hours=(time(0), None),
        tz=paris,
    )
    # Friday 24:00 is Saturday 00:00: reported as Monday's opening, same business time.
    assert deadline == datetime(2026, 3, 9, 0, 0, tzinfo=paris)


def test_dst_change_is_handled_in_real_time():
    paris = ZoneInfo("Europe/Paris")
    # Clocks go forward on Sunday 2026-03-29; Friday 20:00 + 24 business hours = Monday 20:00.
    deadline = business_deadline(
        start=datetime(2026, 3, 27, 20, tzinfo=paris),
        amount=24,
        unit="hours",
        working_days=[0, 1, 2, 3, 4],
        opening_hours=(time(0), None),
        tz=paris,
    )
    assert deadline == datetime(2026, 3, 30, 20, tzinfo=paris)


def test_naive_start_and_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="start"):
        business_deadline(start=datetime(2026, 3, 1), amount=1, unit="days", **NOVAKEYS)
    with pytest.raises(ValueError, match="unit"):
        business_deadline(start=riyadh(2026, 3, 1), amount=1, unit="weeks", **NOVAKEYS)
    with pytest.raises(ValueError, match="working_days"):
        business_deadline(
            start=riyadh(2026, 3, 1),
            amount=1,
            unit="days",
            working_days=[],
            opening_hours=(time(9), time(17)),
            tz=RIYADH,
        )


calendars = st.sampled_from(
    [preset_rules_shipped(slug).calendar for slug in ("novakeys", "allkeymasters", "antimart")]
)
starts = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(
    calendar=calendars,
    start=starts,
    amount=st.integers(0, 60),
    unit=st.sampled_from(["days", "hours"]),
)
def test_deadline_is_always_open_business_time(calendar, start, amount, unit):
    """Property: the deadline is on a working day, between opening and closing time, and
    never before the start."""
    deadline = business_deadline_for(calendar=calendar, start=start, amount=amount, unit=unit)
    local = deadline.astimezone(calendar.tz)
    assert local.weekday() in calendar.working_days
    assert local.time() >= calendar.opens
    assert calendar.closes is None or local.time() <= calendar.closes
    assert business_time_contains(calendar=calendar, moment=deadline)
    assert deadline >= start


@settings(max_examples=200, deadline=None)
@given(start=starts, amount=st.integers(0, 40))
def test_deadline_moves_forward_with_more_time(start, amount):
    calendar = preset_rules_shipped("novakeys").calendar
    a = business_deadline_for(calendar=calendar, start=start, amount=amount, unit="hours")
    b = business_deadline_for(calendar=calendar, start=start, amount=amount + 1, unit="hours")
    assert b > a
    assert b - a >= timedelta(hours=1)
