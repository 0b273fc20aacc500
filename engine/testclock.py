"""The engine clock an entry point hands to the facade.

Normally the system clock, frozen once per unit of work. When the app runs with HOTLINE_TEST_CLOCK=1 the time is a row in the
database, so the web process, the test tick and separate scheduler processes all agree on it; it is
read once per unit of work so one command sees one consistent "now".
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from .clock import Clock, FixedClock, SystemClock
from .models import ClockSetting


def engine_clock(session: Session, test_mode: bool) -> Clock:
    """The clock of one unit of work, frozen at its start: every "now" inside one command (event
    times, script ``now()``, deadlines) is the same instant, which is also what replay re-applies."""
    if test_mode:
        row = session.get(ClockSetting, 1)
        if row is not None and row.now is not None:
            return FixedClock(row.now)
    return FixedClock(SystemClock().now())


def set_test_clock(session: Session, now: datetime) -> None:
    row = session.get(ClockSetting, 1)
    if row is None:
        session.add(ClockSetting(id=1, now=now))
    else:
        row.now = now
