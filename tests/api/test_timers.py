"""Deadline timers: due rows, the test tick, overdue marks and multiple scheduler processes."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.models import Event, Timer
from tests.conftest import complaint

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified

ROOT = Path(__file__).resolve().parents[2]


def dispatched_ticket(as_user, when="2025-11-03T09:00:00+08:00"):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock(when)
    ticket = operator.post("/api/v1/tickets", json=complaint()).get_json()
    return dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})


def test_sign_off_timer_fires_once_when_the_clock_passes_the_deadline(as_user):
    ticket = dispatched_ticket(as_user)
    operator = as_user("operator")
    assert ticket["sign_due_at"] == "2025-11-03T11:00:00+08:00"
    operator.set_clock("2025-11-03T10:59:00+08:00")
    assert operator.tick() == 0
    task = as_user("nt_chongchuan.handler").ready_task(ticket["id"], "sign")
    assert task["light"] == "yellow"                 # past 80% of the 2 working hours
    operator.set_clock("2025-11-03T11:00:01+08:00")
    assert operator.tick() == 1
    assert operator.tick() == 0
    after = operator.get(f"/api/v1/tickets/{ticket['id']}").get_json()
    assert after["sign_overdue"] is True and after["light"] == "red" and after["status"] == "signing"
    events = operator.get(f"/api/v1/tickets/{ticket['id']}/events").get_json()["items"]
    fired = [e for e in events if e["type"] == "timer_fired"]
    assert [e["task_name"] for e in fired] == ["sign_overdue_timer"]
    # The handler can still sign late; the handling timer is armed and the sign timer is gone.
    as_user("nt_chongchuan.handler").complete(ticket["id"], "sign", {"decision": "accept"})
    assert operator.get(f"/api/v1/tickets/{ticket['id']}").get_json()["status"] == "handling"


def test_handling_timer_marks_the_ticket_overdue(as_user, app):
    ticket = dispatched_ticket(as_user)
    operator, handler = as_user("operator"), as_user("nt_chongchuan.handler")
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    operator.set_clock("2025-11-25T09:00:01+08:00")   # 15 working days after 2025-11-03 09:00 is 11-24 09:00
    assert operator.tick() == 1
    after = operator.get(f"/api/v1/tickets/{ticket['id']}").get_json()
    assert after["handle_overdue"] is True and after["sign_overdue"] is False
    with app.extensions["hotline_db"].unit_of_work() as s:
        states = dict(s.execute(select(Timer.name, Timer.state).where(Timer.ticket_id == ticket["id"])).all())
    assert states == {"sign_overdue_timer": "cancelled", "handle_overdue_timer": "fired"}


def test_completed_tickets_leave_no_pending_timers(as_user, app):
    ticket = dispatched_ticket(as_user)
    handler, leader = as_user("nt_chongchuan.handler"), as_user("nt_chongchuan.leader")
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    handler.complete(ticket["id"], "handle", {"action": "reply", "reply": "已办理完毕并与诉求人沟通确认。"})
    leader.complete(ticket["id"], "approve_reply", {"approved": True})
    with app.extensions["hotline_db"].unit_of_work() as s:
        pending = s.scalar(select(func.count()).select_from(Timer).where(Timer.state == "pending"))
    assert pending == 0


@pytest.mark.postgres
def test_two_scheduler_processes_fire_each_timer_exactly_once(database_url, as_user, app):
    if not database_url.startswith("postgresql"):
        pytest.skip("several schedulers side by side need PostgreSQL's SKIP LOCKED")
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ids = []
    for i in range(12):
        ticket = operator.post("/api/v1/tickets", json=complaint(title=f"并发{i}")).get_json()
        dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
        ids.append(ticket["id"])
    env = {**os.environ, "HOTLINE_DATABASE_URL": database_url, "HOTLINE_TEST_CLOCK": "1",
           "HOTLINE_SCHEDULER_INTERVAL": "0.2", "HOTLINE_SCHEDULER_BATCH": "3", "HOTLINE_SECRET_KEY": "x"}
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "scheduler"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    try:
        time.sleep(1.5)          # both are up and sweeping; nothing is due yet
        operator.set_clock("2025-11-03T11:00:01+08:00")
        db = app.extensions["hotline_db"]
        deadline = time.time() + 60
        while time.time() < deadline:
            with db.unit_of_work() as s:
                pending = s.scalar(select(func.count()).select_from(Timer).where(Timer.state == "pending",
                                                                                  Timer.name == "sign_overdue_timer"))
            if pending == 0:
                break
            time.sleep(0.3)
        time.sleep(1.0)          # give a double firing the chance to happen
    finally:
        for p in procs:
            p.terminate()
        errors = [p.communicate(timeout=20)[1].decode() for p in procs]
    assert all(p.returncode is not None for p in procs)
    with db.unit_of_work() as s:
        fired = dict(s.execute(select(Event.ticket_id, func.count()).where(Event.type == "timer_fired")
                               .group_by(Event.ticket_id)).all())
        workers = set(s.scalars(select(Timer.fired_by).where(Timer.state == "fired")))
    assert fired == {i: 1 for i in ids}, errors
    assert all(w.startswith("scheduler@") for w in workers)
