"""Replay: an auditor re-executes a ticket from its first event and every step is compared."""
from __future__ import annotations

import json

from sqlalchemy import select, update

from engine.models import Event, Ticket
from tests.api.tamper_support import tamper
from tests.conftest import complaint


def full_history(as_user):
    operator, dispatcher, callback = as_user("operator"), as_user("dispatcher"), as_user("callback")
    handler, leader = as_user("nt_chongchuan.handler"), as_user("nt_chongchuan.leader")
    operator.set_clock("2025-09-26T09:00:00+08:00")
    ticket = operator.post("/api/v1/tickets", json=complaint()).get_json()
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    handler.complete(ticket["id"], "sign", {"decision": "return", "reason": "属生态环境部门职责", "suggested_unit": "nt_ecology"})
    leader.complete(ticket["id"], "approve_return", {"approved": True})
    operator.set_clock("2025-09-26T10:00:00+08:00")
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    operator.set_clock("2025-09-26T14:00:00+08:00")          # past the 2-hour sign-off deadline
    assert operator.tick() == 1
    handler.post(f"/api/v1/tasks/{handler.ready_task(ticket['id'], 'sign')['id']}/claim")
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    handler.complete(ticket["id"], "handle", {"action": "extend", "extension_days": 3, "extension_reason": "需现场会商"})
    leader.complete(ticket["id"], "approve_extension_unit", {"approved": True})
    dispatcher.complete(ticket["id"], "approve_extension", {"approved": True})
    handler.complete(ticket["id"], "handle", {"action": "reply", "reply": "已现场核查并与诉求人沟通，问题已解决。"})
    leader.complete(ticket["id"], "approve_reply", {"approved": True})
    dispatcher.complete(ticket["id"], "review_reply", {"approved": True})
    callback.complete(ticket["id"], "callback", {"satisfied": True})
    return ticket


def test_a_whole_history_replays_verified(as_user):
    ticket = full_history(as_user)
    report = as_user("auditor").get(f"/api/v1/tickets/{ticket['id']}/replay").get_json()
    assert report["verified"] is True, report
    assert report["first_difference"] is None and report["steps"] == 14


def test_an_open_ticket_replays_verified(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = operator.post("/api/v1/tickets", json=complaint()).get_json()
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    report = as_user("auditor").get(f"/api/v1/tickets/{ticket['id']}/replay").get_json()
    assert report["verified"] is True and report["steps"] == 2


def test_a_tampered_record_is_found_at_its_step(as_user, app):
    ticket = full_history(as_user)
    with app.extensions["hotline_db"].unit_of_work() as session:
        event = session.scalar(select(Event).where(Event.ticket_id == ticket["id"], Event.type == "task_completed",
                                                   Event.task_name == "callback"))
        data = {**event.data, "form": {"satisfied": False, "unit_at_fault": True, "comment": None}}
        tamper(session, "UPDATE events SET data = :data WHERE id = :id", data=json.dumps(data), id=event.id)
    report = as_user("auditor").get(f"/api/v1/tickets/{ticket['id']}/replay").get_json()
    assert report["verified"] is False and report["replay_verified"] is False
    assert report["first_difference"]["task_name"] == "callback" and report["first_difference"]["step"] == 14
    assert report["chain"]["first_broken"] == {**report["chain"]["first_broken"], "seq": event.seq,
                                               "reason": "hash_mismatch"}


def test_a_stored_state_changed_behind_the_engine_is_found(as_user, app):
    """The instance row says the ticket went to another unit; the log does not: replay differs at the end."""
    ticket = full_history(as_user)
    with app.extensions["hotline_db"].unit_of_work() as session:
        state = session.scalar(select(Ticket.workflow_state).where(Ticket.id == ticket["id"]))
        assert '"nt_chongchuan"' in state
        session.execute(update(Ticket).where(Ticket.id == ticket["id"])
                        .values(workflow_state=state.replace('"nt_chongchuan"', '"nt_housing"')))
    report = as_user("auditor").get(f"/api/v1/tickets/{ticket['id']}/replay").get_json()
    assert report["verified"] is False and report["chain"]["verified"] is True
    assert report["first_difference"] is not None


def test_only_auditors_admins_and_supervisors_replay(as_user):
    operator = as_user("operator")
    ticket = operator.post("/api/v1/tickets", json=complaint()).get_json()
    assert as_user("nt_chongchuan.handler").get(f"/api/v1/tickets/{ticket['id']}/replay").status_code == 403
    assert operator.get(f"/api/v1/tickets/{ticket['id']}/replay").status_code == 403


def test_tickets_run_on_the_real_clock_replay_verified(database_url, city):
    """Without the test clock every command reads the system clock once, so recorded times and the
    times scripts saw are the same instant and replay reproduces them exactly."""
    from app import create_app
    from engine.config import Settings
    from tests.conftest import ApiClient
    app = create_app(Settings(database_url=database_url, secret_key="x", test_clock=False, scheduler_interval=1,
                              scheduler_batch=10, max_upload_bytes=1024 * 1024, default_language="zh"))
    client = app.test_client()
    operator, dispatcher = ApiClient(client, "operator"), ApiClient(client, "dispatcher")
    handler = ApiClient(client, "nt_chongchuan.handler")
    ticket = operator.post("/api/v1/tickets", json=complaint()).get_json()
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    report = ApiClient(client, "auditor").get(f"/api/v1/tickets/{ticket['id']}/replay").get_json()
    assert report["verified"] is True, report
    app.extensions["hotline_db"].dispose()
