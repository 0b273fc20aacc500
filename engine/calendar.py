"""Working-time calendar for the 12345 hotline (Asia/Shanghai).

Time limits are counted in working hours / working days. A day is a working
day according to, in order of precedence:

1. an admin-entered override (``date -> True/False``);
2. ``chinese_calendar.is_workday`` (statutory holidays are off, make-up
   working days -- 调休, a Saturday/Sunday that is worked -- are on);
3. for years the package does not cover: Mon-Fri working, Sat/Sun off.
   Deadlines touching such a year are *provisional* (see ``is_provisional``)
   because the official holiday schedule is not known yet.

Semantics shared by all methods:

* Inputs must be timezone-aware datetimes (``ValueError`` otherwise). They are
  converted to Shanghai time; results are aware datetimes in ``SHANGHAI``.
* Working time is the union of the daily ``WorkingHours`` periods on working
  days, boundaries inclusive (08:30 and 12:00 are both "inside" 08:30-12:00).
* ``add_working_hours(t, h)``: if ``t`` is outside working time, counting
  starts at the next working instant (previous one when ``h < 0``). ``h == 0``
  returns ``t`` if it is inside working time, else the next working instant.
  A result landing exactly on a period boundary is reported as the END of the
  earlier period (08:30 Mon + 7.5h -> 17:30 Mon, not 08:30 Tue; 09:30 Mon - 1h
  -> 17:30 of the previous working day), for both directions.
* Arithmetic is done in integer microseconds so repeated additions do not drift;
  ``working_hours_between`` converts back to float hours.
* Overrides are copied at construction: build a new calendar after an admin edit.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Mapping
from zoneinfo import ZoneInfo

import chinese_calendar

__all__ = ["SHANGHAI", "WorkingHours", "WorkingCalendar"]

SHANGHAI = ZoneInfo("Asia/Shanghai")

_US_PER_SECOND = 1_000_000
_US_PER_HOUR = 3600 * _US_PER_SECOND
_US_PER_DAY = 24 * _US_PER_HOUR
_ONE_DAY = timedelta(days=1)

# Upper bound on consecutive non-working days scanned before giving up; a
# decade of days off can only come from broken overrides, and without a bound
# such a configuration would loop forever.
MAX_SCAN_DAYS = 3660

_PERIOD_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _time_to_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US_PER_SECOND + t.microsecond


def _to_local(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(SHANGHAI)


def _split(local: datetime) -> tuple[date, int]:
    """Shanghai date and microseconds since local midnight."""
    return local.date(), _time_to_us(local.time())


def _join(day: date, us_of_day: int) -> datetime:
    return datetime.combine(day, time(), tzinfo=SHANGHAI) + timedelta(microseconds=us_of_day)


def _hours_to_us(hours: float) -> int:
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not math.isfinite(hours):
        raise ValueError(f"hours must be a finite number, got {hours!r}")
    return round(hours * _US_PER_HOUR)


@dataclass(frozen=True)
class WorkingHours:
    """Daily working periods, sorted and non-overlapping (touching is allowed)."""

    periods: tuple[tuple[time, time], ...]

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("working hours need at least one period")
        previous_end: time | None = None
        for start, end in self.periods:
            if not start < end:
                raise ValueError(f"period {start:%H:%M}-{end:%H:%M} must end after it starts")
            if previous_end is not None and start < previous_end:
                raise ValueError(
                    f"period {start:%H:%M}-{end:%H:%M} overlaps or precedes the previous period "
                    f"ending {previous_end:%H:%M}; periods must be sorted and non-overlapping"
                )
            previous_end = end

    @classmethod
    def parse(cls, spec: list[str]) -> "WorkingHours":
        """Parse ``["08:30-12:00", "13:30-17:30"]``; input order does not matter."""
        if isinstance(spec, str):
            # A bare string would otherwise be iterated character by character.
            raise ValueError("working hours spec must be a list of 'HH:MM-HH:MM' strings")
        if not spec:
            raise ValueError("working hours spec is empty")
        periods = []
        for item in spec:
            match = _PERIOD_RE.match(item) if isinstance(item, str) else None
            if match is None:
                raise ValueError(f"bad working period {item!r}, expected 'HH:MM-HH:MM'")
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            try:
                periods.append((time(h1, m1), time(h2, m2)))
            except ValueError as exc:
                raise ValueError(f"bad working period {item!r}: {exc}") from None
        return cls(tuple(sorted(periods)))

    @property
    def hours_per_day(self) -> float:
        total = sum(_time_to_us(e) - _time_to_us(s) for s, e in self.periods)
        return total / _US_PER_HOUR


class WorkingCalendar:
    def __init__(self, working_hours: WorkingHours, overrides: Mapping[date, bool] | None = None):
        self.working_hours = working_hours
        self._periods = tuple((_time_to_us(s), _time_to_us(e)) for s, e in working_hours.periods)
        self._day_us = sum(e - s for s, e in self._periods)
        self._overrides: dict[date, bool] = {}
        for day, working in (overrides or {}).items():
            # A datetime key would silently never match a date lookup.
            if isinstance(day, datetime) or not isinstance(day, date):
                raise TypeError(f"override keys must be dates, got {day!r}")
            self._overrides[day] = bool(working)
        self._override_years = frozenset(d.year for d in self._overrides)
        # Unknown years make chinese_calendar raise on every call; caching keeps
        # long scans cheap. Safe because overrides are fixed at construction.
        self._day_cache: dict[date, bool] = {}

    # ------------------------------------------------------------------ days

    def is_working_day(self, d: date) -> bool:
        if isinstance(d, datetime):
            d = _to_local(d, "d").date()
        cached = self._day_cache.get(d)
        if cached is None:
            cached = self._overrides.get(d)
            if cached is None:
                try:
                    cached = bool(chinese_calendar.is_workday(d))
                except Exception:  # NotImplementedError for unknown years, be defensive otherwise
                    cached = d.weekday() < 5
            self._day_cache[d] = cached
        return cached

    def is_known_year(self, year: int) -> bool:
        if year in self._override_years:
            return True  # admin entered (part of) that year's schedule
        try:
            chinese_calendar.is_workday(date(year, 7, 1))
        except Exception:
            return False
        return True

    def is_provisional(self, start: datetime, end: datetime) -> bool:
        first = _to_local(start, "start").date()
        last = _to_local(end, "end").date()
        if last < first:
            first, last = last, first
        return any(not self.is_known_year(y) for y in range(first.year, last.year + 1))

    def _next_working_day_after(self, d: date) -> date:
        for _ in range(MAX_SCAN_DAYS):
            d += _ONE_DAY
            if self.is_working_day(d):
                return d
        raise ValueError(f"no working day within {MAX_SCAN_DAYS} days; check calendar overrides")

    # ----------------------------------------------------------- arithmetic

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        day, tod = _split(_to_local(start, "start"))
        amount = _hours_to_us(hours)
        if amount >= 0:
            return self._forward(day, tod, amount)
        return self._backward(day, tod, -amount)

    def add_working_days(self, start: datetime, days: float) -> datetime:
        # Same as add_working_hours(start, days * hours_per_day), but scaled in
        # integer microseconds to avoid a float round trip through hours.
        if isinstance(days, bool) or not isinstance(days, (int, float)) or not math.isfinite(days):
            raise ValueError(f"days must be a finite number, got {days!r}")
        amount = round(days * self._day_us)
        day, tod = _split(_to_local(start, "start"))
        if amount >= 0:
            return self._forward(day, tod, amount)
        return self._backward(day, tod, -amount)

    def _forward(self, day: date, tod: int, remaining: int) -> datetime:
        idle_days = 0
        while True:
            if self.is_working_day(day):
                idle_days = 0
                for start, end in self._periods:
                    if end < tod:
                        continue
                    begin = max(start, tod)
                    available = end - begin
                    # "<=" makes an exact fit stop at this period's end rather
                    # than at the next period's start.
                    if remaining <= available:
                        return _join(day, begin + remaining)
                    remaining -= available
            else:
                idle_days += 1
                if idle_days > MAX_SCAN_DAYS:
                    raise ValueError(f"no working day within {MAX_SCAN_DAYS} days; check calendar overrides")
            day += _ONE_DAY
            tod = 0

    def _backward(self, day: date, tod: int, remaining: int) -> datetime:
        idle_days = 0
        while True:
            if self.is_working_day(day):
                idle_days = 0
                for start, end in reversed(self._periods):
                    if start > tod:
                        continue
                    finish = min(end, tod)
                    available = finish - start
                    # "<" (not "<=") so that landing exactly on a period start
                    # continues with remaining == 0 and returns the END of the
                    # earlier period, mirroring the forward direction.
                    if remaining < available:
                        return _join(day, finish - remaining)
                    remaining -= available
            else:
                idle_days += 1
                if idle_days > MAX_SCAN_DAYS:
                    raise ValueError(f"no working day within {MAX_SCAN_DAYS} days; check calendar overrides")
            day -= _ONE_DAY
            tod = _US_PER_DAY

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        first = _to_local(start, "start")
        last = _to_local(end, "end")
        if last < first:
            return -self._elapsed_us(last, first) / _US_PER_HOUR
        return self._elapsed_us(first, last) / _US_PER_HOUR

    def _elapsed_us(self, first: datetime, last: datetime) -> int:
        first_day, first_tod = _split(first)
        last_day, last_tod = _split(last)
        total = 0
        day = first_day
        while day <= last_day:
            if self.is_working_day(day):
                if first_day < day < last_day:
                    total += self._day_us
                else:
                    low = first_tod if day == first_day else 0
                    high = last_tod if day == last_day else _US_PER_DAY
                    for start, end in self._periods:
                        total += max(0, min(end, high) - max(start, low))
            day += _ONE_DAY
        return total

    # ------------------------------------------------------------ half day

    def half_day_deadline(
        self, received: datetime, noon: time = time(12, 0), evening: time = time(17, 30)
    ) -> datetime:
        """Suzhou "half working day" rule.

        Received on a working day before ``noon`` -> ``evening`` of that day;
        otherwise (at/after noon, or on a non-working day) -> ``noon`` of the
        first working day after the received date. Use ``is_provisional`` on
        (received, deadline) to flag results in unknown years.
        """
        local = _to_local(received, "received")
        day = local.date()
        if self.is_working_day(day) and local.time() < noon.replace(tzinfo=None):
            return datetime.combine(day, evening, tzinfo=SHANGHAI)
        return datetime.combine(self._next_working_day_after(day), noon, tzinfo=SHANGHAI)
