"""The whole Nantong lifecycle through the HTTP API alone, with working-time deadlines."""
from __future__ import annotations

from tests.conftest import complaint
import pytest

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified


def start(api, **overrides):
    response = api.post("/api/v1/tickets", json=complaint(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_complaint_before_national_day_goes_from_intake_to_archive(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    handler, leader, callback = as_user("nt_chongchuan.handler"), as_user("nt_chongchuan.leader"), as_user("callback")
    # Friday 2025-09-26, just before the National Day / Mid-Autumn week (Oct 1-8 off, Sun 28 Sep and
    # Sat 11 Oct are make-up working days).
    operator.set_clock("2025-09-26T09:00:00+08:00")
    ticket = start(operator, received_at="2025-09-26T08:55:00+08:00")
    assert ticket["kind"] == "event" and ticket["status"] == "dispatching"
    assert ticket["number"].startswith("NT20250926")
    assert ticket["received_at"] == "2025-09-26T08:55:00+08:00"

    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    assert ticket["status"] == "signing" and ticket["unit"] == "nt_chongchuan"
    assert ticket["sign_due_at"] == "2025-09-26T11:00:00+08:00"          # 2 working hours
    assert ticket["handle_due_at"] == "2025-10-23T09:00:00+08:00"        # 15 working days
    assert ticket["deadline_provisional"] is False

    inbox = handler.get("/api/v1/tasks?state=ready").get_json()["items"]
    assert [t["name"] for t in inbox] == ["sign"] and inbox[0]["due_at"] == ticket["sign_due_at"]
    assert inbox[0]["light"] == "green"

    operator.set_clock("2025-09-26T10:00:00+08:00")
    ticket = handler.complete(ticket["id"], "sign", {"decision": "accept"})
    assert ticket["status"] == "handling"
    ticket = handler.complete(ticket["id"], "handle", {"action": "reply", "reply": "经现场核查，已责令施工单位停止夜间施工，并与诉求人电话沟通，诉求人表示认可。"})
    assert ticket["status"] == "reply_approval"
    ticket = leader.complete(ticket["id"], "approve_reply", {"approved": True})
    assert ticket["status"] == "reply_review"
    ticket = dispatcher.complete(ticket["id"], "review_reply", {"approved": True})
    assert ticket["status"] == "callback"
    ticket = callback.complete(ticket["id"], "callback", {"satisfied": True, "comment": "满意"})
    assert ticket["status"] == "closed" and ticket["outcome"] == "archived"
    assert ticket["closed_at"] == "2025-09-26T10:00:00+08:00"
    assert ticket["light"] is None

    events = operator.get(f"/api/v1/tickets/{ticket['id']}/events").get_json()["items"]
    completed = [e["task_name"] for e in events if e["type"] == "task_completed"]
    assert completed == ["dispatch", "sign", "handle", "approve_reply", "review_reply", "callback"]
    decisions = {e["data"]["decision"]: e["data"]["outputs"] for e in events if e["type"] == "decision_evaluated"}
    assert decisions["sign_limit"]["sign_limit_hours"] == 2
    assert decisions["handle_limit"]["handle_limit_days"] == 15
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert operator.get("/api/v1/tasks?state=ready").get_json()["items"] == []


def test_handling_limits_follow_request_type(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock("2025-09-26T09:00:00+08:00")
    expected = {"consult": "2025-09-30T09:00:00+08:00",    # 3 working days (Sun 28 is a make-up day)
                "help": "2025-10-10T09:00:00+08:00",       # 5
                "suggestion": "2025-10-16T09:00:00+08:00",  # 10
                "report": "2025-10-23T09:00:00+08:00"}     # 15
    for request_type, due in expected.items():
        ticket = start(operator, request_type=request_type, received_at="2025-09-26T09:00:00+08:00")
        ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
        assert ticket["handle_due_at"] == due, request_type


def test_unknown_calendar_year_still_gets_a_provisional_deadline(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock("2031-03-07T16:30:00+08:00")    # a Friday in a year chinese_calendar does not know
    ticket = start(operator, received_at="2031-03-07T16:00:00+08:00")
    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    assert ticket["sign_due_at"] == "2031-03-10T09:30:00+08:00"   # weekends-only fallback
    assert ticket["handle_due_at"] is not None
    assert ticket["deadline_provisional"] is True


def test_directive_channel_starts_a_directive_with_one_hour_sign_off(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(operator, channel="provincial_platform", directive_due_at="2025-11-07T17:30:00+08:00")
    assert ticket["kind"] == "directive"
    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    assert ticket["sign_due_at"] == "2025-11-03T10:00:00+08:00"
    assert ticket["handle_due_at"] == "2025-11-07T17:30:00+08:00"


def test_out_of_scope_request_is_closed_with_the_reason(as_user):
    operator = as_user("operator")
    ticket = start(operator, scope="litigation")
    assert ticket["status"] == "closed" and ticket["outcome"] == "rejected"
    assert ticket["outcome_reason"]


def test_emergency_is_marked_for_transfer_and_never_dispatched(as_user):
    operator = as_user("operator")
    ticket = start(operator, scope="emergency", emergency_agency="119")
    assert ticket["status"] == "closed" and ticket["outcome"] == "emergency_transfer"
    assert operator.get(f"/api/v1/tickets/{ticket['id']}/tasks").get_json()["items"] == []


def test_consultation_answered_directly_is_closed_at_intake(as_user):
    operator = as_user("operator")
    ticket = start(operator, request_type="consult", direct_answer="租房提取公积金需身份证、租赁合同，可在线办理。")
    assert ticket["outcome"] == "answered"


def test_return_goes_back_to_the_dispatcher_with_approvals(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    handler, leader = as_user("nt_chongchuan.handler"), as_user("nt_chongchuan.leader")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(operator)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    ticket = handler.complete(ticket["id"], "sign", {"decision": "return", "reason": "该事项属市生态环境局职责",
                                                     "suggested_unit": "nt_ecology"})
    assert ticket["status"] == "return_approval"
    ticket = leader.complete(ticket["id"], "approve_return", {"approved": True})
    assert ticket["status"] == "dispatching"
    events = operator.get(f"/api/v1/tickets/{ticket['id']}/events").get_json()["items"]
    policy = [e["data"]["outputs"] for e in events if e["data"].get("decision") == "return_policy"]
    assert policy[-1]["return_approver"] == "deputy"
    # The second return of the same ticket needs the principal leader.
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    handler.complete(ticket["id"], "sign", {"decision": "return", "reason": "仍非本单位职责", "suggested_unit": "nt_ecology"})
    events = operator.get(f"/api/v1/tickets/{ticket['id']}/events").get_json()["items"]
    policy = [e["data"]["outputs"] for e in events if e["data"].get("decision") == "return_policy"]
    assert policy[-1]["return_approver"] == "principal"


def test_return_after_one_working_day_is_refused(as_user):
    operator, dispatcher, handler = as_user("operator"), as_user("dispatcher"), as_user("nt_chongchuan.handler")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(operator)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    operator.set_clock("2025-11-04T10:00:00+08:00")     # more than one working day later
    ticket = handler.complete(ticket["id"], "sign", {"decision": "return", "reason": "非本单位职责",
                                                     "suggested_unit": "nt_ecology"})
    assert ticket["status"] == "signing"


def test_extension_moves_the_deadline_after_both_approvals(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    handler, leader = as_user("nt_chongchuan.handler"), as_user("nt_chongchuan.leader")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(operator)
    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    original_due = ticket["handle_due_at"]
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    ticket = handler.complete(ticket["id"], "handle", {"action": "extend", "extension_days": 5,
                                                       "extension_reason": "需协调多个部门现场会商"})
    assert ticket["status"] == "extension_approval"
    leader.complete(ticket["id"], "approve_extension_unit", {"approved": True})
    ticket = dispatcher.complete(ticket["id"], "approve_extension", {"approved": True})
    assert ticket["status"] == "handling"
    assert ticket["handle_due_at"] > original_due


def test_rejected_review_and_dissatisfied_callback_send_the_ticket_back(as_user):
    operator, dispatcher, callback = as_user("operator"), as_user("dispatcher"), as_user("callback")
    handler, leader = as_user("nt_chongchuan.handler"), as_user("nt_chongchuan.leader")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(operator)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    reply = {"action": "reply", "reply": "已现场核查并与诉求人沟通，施工单位承诺整改。"}

    def reply_and_approve():
        handler.complete(ticket["id"], "handle", reply)
        leader.complete(ticket["id"], "approve_reply", {"approved": True})

    reply_and_approve()
    back = dispatcher.complete(ticket["id"], "review_reply", {"approved": False, "comment": "答复未说明整改时限"})
    assert back["status"] == "handling"
    reply_and_approve()
    dispatcher.complete(ticket["id"], "review_reply", {"approved": True})
    back = callback.complete(ticket["id"], "callback", {"satisfied": False, "unit_at_fault": True})
    assert back["status"] == "handling" and back["unit"] == "nt_chongchuan"
    reply_and_approve()
    dispatcher.complete(ticket["id"], "review_reply", {"approved": True})
    again = callback.complete(ticket["id"], "callback", {"satisfied": False, "unit_at_fault": True})
    # dissatisfied after re-handling: a supervision directive (its own case) and back to the unit (第十一条)
    assert again["status"] == "handling" and again["unit"] == "nt_chongchuan"
    cases = callback.get(f"/api/v1/tickets/{ticket['id']}/cases").get_json()["items"]
    assert [c["process"] for c in cases] == ["supervision"]
