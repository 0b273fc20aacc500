"""One sweep drains a burst of due timers batch after batch (the 17:30 sign-off), not one batch per interval."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.models import Timer
from engine.scheduler import sweep
from tests.conftest import at
from tests.engine.test_facade import start_and_dispatch


def pending(db) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(Timer).where(Timer.state == "pending",
                                                                    Timer.name.like("%sign%")))


def test_one_sweep_fires_more_than_one_batch(db, clock, city):
    clock.set(at("2025-11-03T09:00:00"))
    tickets = [start_and_dispatch(db, clock) for _ in range(5)]
    due_before = pending(db)
    assert due_before >= len(tickets)
    clock.set(at("2025-11-03T11:00:01"))                 # every sign-off deadline has passed
    assert sweep(db, lambda s: clock, batch=2) == len(tickets)
    assert sweep(db, lambda s: clock, batch=2) == 0
