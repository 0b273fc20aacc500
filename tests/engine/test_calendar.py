"""Tests for engine.calendar: concrete dates plus hypothesis properties."""
from datetime import date, datetime, time, timedelta, timezone

import chinese_calendar
import pytest
from hypothesis import given, settings, strategies as st

from engine.calendar import SHANGHAI, WorkingCalendar, WorkingHours

SUZHOU_HOURS = WorkingHours.parse(["08:30-12:00", "13:30-17:30"])
SINGLE_HOURS = WorkingHours.parse(["09:00-17:00"])
CAL = WorkingCalendar(SUZHOU_HOURS)
SINGLE_CAL = WorkingCalendar(SINGLE_HOURS)


def sh(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def working_days_after(d, count):
    """Independent oracle straight from chinese_calendar."""
    found = []
    while len(found) < count:
        d += timedelta(days=1)
        if chinese_calendar.is_workday(d):
            found.append(d)
    return found


# --------------------------------------------------------------- WorkingHours


def test_parse_and_hours_per_day():
    assert SUZHOU_HOURS.periods == ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30)))
    assert SUZHOU_HOURS.hours_per_day == 7.5
    assert SINGLE_HOURS.hours_per_day == 8.0
    # Input order does not matter.
    assert WorkingHours.parse(["13:30-17:30", "08:30-12:00"]) == SUZHOU_HOURS


@pytest.mark.parametrize(
    "spec",
    [
        [],
        ["08:30"],
        ["8.30-12.00"],
        ["12:00-08:30"],
        ["08:30-08:30"],
        ["25:00-26:00"],
        ["08:30-12:00", "11:00-17:30"],
        "08:30-12:00",
        [None],
    ],
)
def test_parse_rejects_bad_input(spec):
    with pytest.raises(ValueError):
        WorkingHours.parse(spec)


# ------------------------------------------------------------- working days


def test_package_holidays_and_makeup_days():
    # Verify the 2025 National Day + Mid-Autumn schedule against the package.
    for day in range(1, 9):
        assert not chinese_calendar.is_workday(date(2025, 10, day))
        assert not CAL.is_working_day(date(2025, 10, day))
    for makeup in (date(2025, 9, 28), date(2025, 10, 11)):
        assert makeup.weekday() >= 5 and chinese_calendar.is_workday(makeup)
        assert CAL.is_working_day(makeup)


def test_national_day_15_working_days():
    received = sh(2025, 9, 29, 10, 0)
    deadline = CAL.add_working_days(received, 15)
    expected_day = working_days_after(date(2025, 9, 29), 15)[-1]
    assert deadline == datetime.combine(expected_day, time(10, 0), tzinfo=SHANGHAI)
    assert deadline == sh(2025, 10, 27, 10, 0)
    assert deadline.isoformat().endswith("+08:00")
    assert CAL.working_hours_between(received, deadline) == 15 * 7.5
    assert not CAL.is_provisional(received, deadline)


def test_friday_afternoon_two_hours_to_monday():
    # 2025-03-14 is an ordinary Friday (no holiday that weekend).
    assert chinese_calendar.is_workday(date(2025, 3, 17))
    assert CAL.add_working_hours(sh(2025, 3, 14, 16, 30), 2) == sh(2025, 3, 17, 9, 30)


def test_spring_festival_2026():
    # Assert the package's view so the test documents the schedule it relies on.
    assert not any(chinese_calendar.is_workday(date(2026, 2, d)) for d in range(15, 24))
    assert chinese_calendar.is_workday(date(2026, 2, 14))  # make-up Saturday
    start = sh(2026, 2, 13, 16, 0)  # Friday before the break
    # 1.5h left on Fri, 7.5h on make-up Sat 14th, then the festival is skipped.
    assert CAL.add_working_hours(start, 1.5 + 7.5 + 1) == sh(2026, 2, 24, 9, 30)
    assert CAL.add_working_days(sh(2026, 2, 14, 8, 30), 1) == sh(2026, 2, 14, 17, 30)


def test_makeup_saturday_counts():
    # Fri 2025-10-10 15:30 + 3h: 2h on Friday, 1h on make-up Saturday 10-11.
    assert CAL.add_working_hours(sh(2025, 10, 10, 15, 30), 3) == sh(2025, 10, 11, 9, 30)


def test_override_makes_package_working_day_off():
    monday = date(2025, 3, 17)
    assert chinese_calendar.is_workday(monday)
    cal = WorkingCalendar(SUZHOU_HOURS, {monday: False})
    assert not cal.is_working_day(monday)
    assert cal.add_working_hours(sh(2025, 3, 14, 16, 30), 2) == sh(2025, 3, 18, 9, 30)
    # And an override can turn a Sunday into a working day.
    cal = WorkingCalendar(SUZHOU_HOURS, {date(2025, 3, 16): True})
    assert cal.add_working_hours(sh(2025, 3, 14, 16, 30), 2) == sh(2025, 3, 16, 9, 30)


def test_unknown_year_falls_back_to_weekdays():
    start = sh(2031, 5, 2, 16, 30)  # Friday; 2031 is not in chinese_calendar
    assert not CAL.is_known_year(2031)
    assert CAL.is_working_day(date(2031, 5, 1))  # no Labour Day without data
    assert not CAL.is_working_day(date(2031, 5, 3))
    deadline = CAL.add_working_hours(start, 2)
    assert deadline == sh(2031, 5, 5, 9, 30)
    assert CAL.is_provisional(start, deadline)
    assert CAL.is_provisional(deadline, sh(2025, 1, 1))  # either order
    cal = WorkingCalendar(SUZHOU_HOURS, {date(2031, 5, 5): False})
    assert cal.is_known_year(2031)
    assert not cal.is_provisional(start, sh(2031, 12, 31))
    assert cal.add_working_hours(start, 2) == sh(2031, 5, 6, 9, 30)


def test_provisional_when_span_crosses_into_unknown_year():
    assert CAL.is_known_year(2025)
    assert not CAL.is_provisional(sh(2025, 12, 1), sh(2026, 12, 31, 23, 0))
    assert CAL.is_provisional(sh(2026, 12, 1), sh(2027, 1, 1, 0, 0))
    # 2026-12-31 16:00 UTC is already 2027 in Shanghai.
    assert CAL.is_provisional(sh(2026, 12, 1), datetime(2026, 12, 31, 16, tzinfo=timezone.utc))


def test_all_days_off_does_not_loop_forever():
    start = date(2031, 1, 1)
    cal = WorkingCalendar(SUZHOU_HOURS, {start + timedelta(days=i): False for i in range(4000)})
    with pytest.raises(ValueError):
        cal.add_working_hours(sh(2031, 1, 1, 9), 1)
    with pytest.raises(ValueError):
        cal.half_day_deadline(sh(2031, 1, 1, 9))


def test_large_amount_is_fast():
    start = sh(2024, 1, 2, 9, 0)
    end = CAL.add_working_days(start, 400)
    assert CAL.working_hours_between(start, end) == 400 * 7.5


# ----------------------------------------------------- boundaries and edges


def test_boundary_returns_end_of_earlier_period():
    monday = sh(2025, 3, 17, 8, 30)
    assert CAL.add_working_hours(monday, 7.5) == sh(2025, 3, 17, 17, 30)
    assert CAL.add_working_hours(monday, 3.5) == sh(2025, 3, 17, 12, 0)
    assert CAL.add_working_hours(sh(2025, 3, 17, 14, 30), -1) == sh(2025, 3, 17, 12, 0)
    assert CAL.add_working_hours(sh(2025, 3, 17, 9, 30), -1) == sh(2025, 3, 14, 17, 30)


def test_zero_hours_rolls_forward_only_outside_working_time():
    assert CAL.add_working_hours(sh(2025, 3, 17, 10), 0) == sh(2025, 3, 17, 10)
    assert CAL.add_working_hours(sh(2025, 3, 17, 12), 0) == sh(2025, 3, 17, 12)
    assert CAL.add_working_hours(sh(2025, 3, 17, 12, 30), 0) == sh(2025, 3, 17, 13, 30)
    assert CAL.add_working_hours(sh(2025, 3, 15, 10), 0) == sh(2025, 3, 17, 8, 30)
    assert CAL.add_working_hours(sh(2025, 3, 14, 20), 1) == sh(2025, 3, 17, 9, 30)


def test_other_timezones_are_converted():
    utc_start = datetime(2025, 3, 17, 1, 0, tzinfo=timezone.utc)  # 09:00 Shanghai
    result = CAL.add_working_hours(utc_start, 1)
    assert result == sh(2025, 3, 17, 10, 0) and result.tzinfo is SHANGHAI


def test_working_hours_between_signs_and_gaps():
    assert CAL.working_hours_between(sh(2025, 3, 14, 16, 30), sh(2025, 3, 17, 9, 30)) == 2
    assert CAL.working_hours_between(sh(2025, 3, 17, 9, 30), sh(2025, 3, 14, 16, 30)) == -2
    assert CAL.working_hours_between(sh(2025, 3, 17, 12), sh(2025, 3, 17, 13, 30)) == 0


def test_naive_datetimes_raise():
    naive = datetime(2025, 3, 17, 9, 0)
    with pytest.raises(ValueError):
        CAL.add_working_hours(naive, 1)
    with pytest.raises(ValueError):
        CAL.add_working_days(naive, 1)
    with pytest.raises(ValueError):
        CAL.working_hours_between(naive, sh(2025, 3, 17))
    with pytest.raises(ValueError):
        CAL.is_provisional(sh(2025, 3, 17), naive)
    with pytest.raises(ValueError):
        CAL.half_day_deadline(naive)


# -------------------------------------------------------------- half day


@pytest.mark.parametrize(
    "received, expected",
    [
        (sh(2025, 3, 17, 9, 0), sh(2025, 3, 17, 17, 30)),  # Monday morning
        (sh(2025, 3, 17, 7, 0), sh(2025, 3, 17, 17, 30)),  # before office hours
        (sh(2025, 3, 17, 12, 0), sh(2025, 3, 18, 12, 0)),  # exactly noon = afternoon
        (sh(2025, 3, 17, 15, 0), sh(2025, 3, 18, 12, 0)),  # Monday afternoon
        (sh(2025, 3, 14, 15, 0), sh(2025, 3, 17, 12, 0)),  # Friday afternoon
        (sh(2025, 3, 15, 9, 0), sh(2025, 3, 17, 12, 0)),  # Saturday morning
        (sh(2025, 3, 16, 15, 0), sh(2025, 3, 17, 12, 0)),  # Sunday afternoon
        (sh(2025, 9, 30, 15, 0), sh(2025, 10, 9, 12, 0)),  # before National Day
        (sh(2025, 10, 3, 9, 0), sh(2025, 10, 9, 12, 0)),  # during National Day
        (sh(2025, 10, 11, 9, 0), sh(2025, 10, 11, 17, 30)),  # make-up Saturday
    ],
)
def test_half_day_deadline(received, expected):
    assert CAL.half_day_deadline(received) == expected


def test_half_day_deadline_custom_times():
    cal = SINGLE_CAL
    assert cal.half_day_deadline(sh(2025, 3, 17, 12, 30), noon=time(13), evening=time(17)) == sh(2025, 3, 17, 17)


# ------------------------------------------------------------ properties

CALENDARS = st.sampled_from([CAL, SINGLE_CAL])
STARTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31, 23, 59, 59),
    timezones=st.sampled_from([SHANGHAI, timezone.utc]),
)
HOURS = st.integers(min_value=0, max_value=1200).map(lambda q: q / 4)
PROPS = settings(max_examples=200, deadline=None)


def in_working_time(cal, instant):
    local = instant.astimezone(SHANGHAI)
    t = local.time()
    return cal.is_working_day(local.date()) and any(s <= t <= e for s, e in cal.working_hours.periods)


def at_period_start(cal, instant):
    t = instant.astimezone(SHANGHAI).time()
    return any(t == s for s, _ in cal.working_hours.periods)


def reference_add(cal, start, hours):
    """Slow, obviously-correct oracle: walk concrete working intervals."""
    remaining = timedelta(hours=hours)
    day = start.astimezone(SHANGHAI).date()
    while True:
        if cal.is_working_day(day):
            for s, e in cal.working_hours.periods:
                lo = max(datetime.combine(day, s, tzinfo=SHANGHAI), start)
                hi = datetime.combine(day, e, tzinfo=SHANGHAI)
                if hi >= lo:
                    if remaining <= hi - lo:
                        return lo + remaining
                    remaining -= hi - lo
        day += timedelta(days=1)


@PROPS
@given(cal=CALENDARS, start=STARTS, hours=HOURS)
def test_prop_forward_matches_between(cal, start, hours):
    end = cal.add_working_hours(start, hours)
    assert end >= start
    assert end.tzinfo is SHANGHAI
    assert abs(cal.working_hours_between(start, end) - hours) < 1e-6
    assert end == reference_add(cal, start, hours)
    if hours > 0:
        assert in_working_time(cal, end)
        assert not at_period_start(cal, end)  # boundary -> end of earlier period


@PROPS
@given(cal=CALENDARS, start=STARTS, a=HOURS, b=HOURS)
def test_prop_additive_and_monotonic(cal, start, a, b):
    assert cal.add_working_hours(cal.add_working_hours(start, a), b) == cal.add_working_hours(start, a + b)
    assert cal.add_working_hours(start, min(a, b)) <= cal.add_working_hours(start, max(a, b))


@PROPS
@given(cal=CALENDARS, start=STARTS, quarters=st.integers(min_value=0, max_value=160))
def test_prop_days_equal_hours(cal, start, quarters):
    days = quarters / 4
    per_day = cal.working_hours.hours_per_day
    assert cal.add_working_days(start, days) == cal.add_working_hours(start, days * per_day)


@PROPS
@given(cal=CALENDARS, start=STARTS, hours=HOURS)
def test_prop_negative_round_trip(cal, start, hours):
    inside = cal.add_working_hours(start, 0)  # a start inside working time
    forward = cal.add_working_hours(inside, hours)
    back = cal.add_working_hours(forward, -hours)
    assert back <= forward
    assert abs(cal.working_hours_between(back, forward) - hours) < 1e-6
    assert abs(cal.working_hours_between(forward, back) + hours) < 1e-6
    if hours > 0:
        assert in_working_time(cal, back)
    # A period start is the same working instant as the previous period's end,
    # and going backwards reports the latter.
    if at_period_start(cal, inside) and hours > 0:
        assert cal.working_hours_between(back, inside) == 0
    else:
        assert back == inside


@PROPS
@given(cal=CALENDARS, a=STARTS, b=STARTS)
def test_prop_between_antisymmetric(cal, a, b):
    assert cal.working_hours_between(a, b) == -cal.working_hours_between(b, a)
