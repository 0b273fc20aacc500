"""kill -9 of a scheduler process while it is firing a ticket's timers (issue 10, fault tests).

Thirty dispatched tickets each have a sign-off deadline (2 working hours after dispatch). The shared test
clock is moved past them while two ``flask scheduler`` processes sweep; one is killed while it holds a
ticket (SELECT ... FOR UPDATE SKIP LOCKED, uncommitted), and a new one is started. In the end every due
timer fired exactly once: its row is ``fired``, the ticket's log has one ``timers_due`` and one
``timer_fired`` for it, its unit was told once that it is overdue, and every ticket replays verified."""
from __future__ import annotations

import time

from sqlalchemy import func, select

from engine import accounts
from engine.clock import FixedClock
from engine.db import Database
from engine.facade import Hotline
from engine.models import Event, Message, Timer
from engine.testclock import set_test_clock
from tests.conftest import at, complaint
from tests.faults.fault_checks import consistency_problems
from tests.faults.fault_cluster import wait_until
from tests.faults.fault_processes import HOLDING_A_TICKET, kill_when_writing, scheduler

TICKETS = 30
SIGN_TIMER = "sign_overdue_timer"


def dispatched_tickets(db: Database, count: int) -> list[int]:
    """Tickets received and dispatched on Monday 2025-11-03 09:00: their sign-off deadline is 11:00."""
    clock = FixedClock(at("2025-11-03T09:00:00"))
    ids = []
    with db.unit_of_work() as session:
        facade = Hotline(session, clock)
        operator = accounts.principal_for_username(session, "operator")
        dispatcher = accounts.principal_for_username(session, "dispatcher")
        for i in range(count):
            ticket = facade.start_ticket(operator, {**complaint(title=f"定时器{i}"), "received_at": clock.now()})
            task = facade.list_tasks(dispatcher, ticket_id=ticket.id)[0]
            facade.complete_task(dispatcher, task.id, {"unit": "nt_chongchuan"})
            ids.append(ticket.id)
        set_test_clock(session, clock.now())
    return ids


def fired_count(db: Database) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Timer).where(Timer.name == SIGN_TIMER,
                                                                            Timer.state == "fired"))


def sweeping(service) -> bool:
    return any("sweeping every" in e.get("message", "") for e in service.log_lines())


def test_killing_a_scheduler_mid_firing_fires_every_due_timer_exactly_once(pg_cluster, fresh_pg, tmp_path):
    name, url = fresh_pg
    db = Database(url)
    services = []
    try:
        ids = dispatched_tickets(db, TICKETS)
        settings = {"HOTLINE_SCHEDULER_INTERVAL": "0.3", "HOTLINE_SCHEDULER_BATCH": "2"}
        services = [scheduler(url, tmp_path, f"scheduler-{n}", **settings) for n in (1, 2)]
        for service in services:
            wait_until(lambda: sweeping(service) or not service.alive(), 60, 0.2, "the schedulers to start")
            assert service.alive(), service.log_tail()
        with db.unit_of_work() as session:
            set_test_clock(session, at("2025-11-03T11:00:01"))      # every sign-off deadline has passed

        wait_until(lambda: fired_count(db) >= 4, 60, what="the first timers to fire")
        _victim, holding = kill_when_writing({services[0].pid}, pg_cluster, name, HOLDING_A_TICKET)
        services[0].process.wait(timeout=10)
        fired_at_kill = fired_count(db)
        services.append(scheduler(url, tmp_path, "scheduler-3", **settings))
        wait_until(lambda: fired_count(db) == TICKETS, 90, 0.2, "every due timer to fire")
        wait_until(lambda: sweeping(services[2]), 60, 0.2, "the new scheduler to sweep")
        time.sleep(1.5)           # the survivors keep sweeping: a timer fired twice would show up now
        still_alive = [s.alive() for s in services[1:]]
    finally:
        for service in services:
            service.stop()
        db.dispose()
        logs = "\n".join(s.log_tail(1500) for s in services)

    assert holding, "the scheduler was not killed while it held a ticket"
    assert fired_at_kill < TICKETS, "everything had fired before the kill"
    assert still_alive == [True, True], logs
    with db.unit_of_work() as session:
        timers = session.execute(select(Timer.ticket_id, Timer.state, Timer.fired_by)
                                 .where(Timer.name == SIGN_TIMER)).all()
        fired_events = dict(session.execute(
            select(Event.ticket_id, func.count()).where(Event.type == "timer_fired", Event.task_name == SIGN_TIMER)
            .group_by(Event.ticket_id)).all())
        sweeps = dict(session.execute(select(Event.ticket_id, func.count()).where(Event.type == "timers_due")
                                      .group_by(Event.ticket_id)).all())
        overdue = dict(session.execute(select(Message.ticket_id, func.count()).where(Message.kind == "overdue")
                                       .group_by(Message.ticket_id)).all())
    db.dispose()
    assert sorted(t.ticket_id for t in timers) == sorted(ids)
    assert {t.state for t in timers} == {"fired"}
    assert fired_events == {i: 1 for i in ids}, logs
    assert sweeps == {i: 1 for i in ids}, logs
    recipients = overdue[ids[0]]                       # the unit's people, told once per ticket
    assert recipients >= 1 and overdue == {i: recipients for i in ids}
    assert {t.fired_by.rsplit(":", 1)[1] for t in timers} <= {str(s.pid) for s in services}
    assert consistency_problems(url) == {}
