"""Nantong 第二十条: an event becomes a directive — three units, two extension requests, high
sensitivity, a centre decision — through the HTTP API and the test clock. The running instance moves
onto the directive path (1-hour sign-off, no return, no extension, principal-leader approval) and the
upgrade is an audit event with who, when, why and the rule."""
from __future__ import annotations

from tests.api.escalation_support import REPLY, events, returned, start, task_names, unit_users  # noqa: F401
import pytest

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified

MONDAY = "2025-11-03T09:00:00+08:00"


def upgrade_event(api, ticket_id):
    found = events(api, ticket_id, "ticket_upgraded")
    assert len(found) == 1, [e["type"] for e in events(api, ticket_id)]
    return found[0]


def test_the_fourth_dispatch_after_three_units_goes_out_as_a_directive(as_user, unit_users):
    unit_users("nantong", "nt_ecology")
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock(MONDAY)
    ticket = start(operator)
    for unit in ("nt_chongchuan", "nt_housing", "nt_ecology"):
        ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": unit})
        assert ticket["kind"] == "event"
        ticket = returned(as_user, ticket["id"], unit)
        assert ticket["status"] == "dispatching"
    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    assert ticket["kind"] == "directive"
    assert ticket["sign_due_at"] == "2025-11-03T10:00:00+08:00"          # directive: 1 working hour
    event = upgrade_event(dispatcher, ticket["id"])
    assert event["actor"] == "dispatcher" and event["at"] == MONDAY
    assert event["data"]["upgrade_trigger"] == "dispatched_three_units"
    assert event["data"]["upgrade_point"] == "dispatch" and event["data"]["dispatch_count"] == 3
    assert event["data"]["rule"]["decision"] == "upgrade_policy" and event["data"]["rule"]["matched_rules"]
    # the history is kept: the three returns are still in the log
    assert len([e for e in events(dispatcher, ticket["id"], "task_completed") if e["task_name"] == "approve_return"]) == 3

    # A directive may not be returned: the request is refused and the unit must sign.
    handler = as_user("nt_chongchuan.handler")
    ticket = handler.complete(ticket["id"], "sign", {"decision": "return", "reason": "不属于本单位职责",
                                                     "suggested_unit": "nt_housing"})
    assert ticket["status"] == "signing"
    ticket = handler.complete(ticket["id"], "sign", {"decision": "accept"})
    handler.complete(ticket["id"], "handle", {"action": "reply", "reply": REPLY})
    # The directive's reply is approved by the principal leader only (第二十二条).
    task = handler.ready_task(ticket["id"], "approve_reply")
    assert task["role"] == "principal"
    deputy = as_user("nt_chongchuan.deputy")
    assert deputy.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"approved": True}}).status_code in (403, 404)
    ticket = as_user("nt_chongchuan.leader").complete(ticket["id"], "approve_reply", {"approved": True})
    assert ticket["status"] == "reply_review"


def test_the_second_extension_request_upgrades_and_is_refused(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    handler, leader = as_user("nt_chongchuan.handler"), as_user("nt_chongchuan.leader")
    operator.set_clock(MONDAY)
    ticket = start(operator)
    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    assert ticket["handle_due_at"] == "2025-11-24T09:00:00+08:00"          # complaint: 15 working days
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    handler.complete(ticket["id"], "handle", {"action": "extend", "extension_days": 5, "extension_reason": "需协调多部门"})
    leader.complete(ticket["id"], "approve_extension_unit", {"approved": True})
    ticket = dispatcher.complete(ticket["id"], "approve_extension", {"approved": True})
    assert ticket["kind"] == "event" and ticket["handle_due_at"] == "2025-12-01T09:00:00+08:00"
    operator.set_clock("2025-11-05T09:00:00+08:00")
    ticket = handler.complete(ticket["id"], "handle", {"action": "extend", "extension_days": 5,
                                                       "extension_reason": "仍需协调"})
    assert ticket["kind"] == "directive" and ticket["status"] == "handling"
    # recomputed: a directive without a written deadline gets the directive limit from dispatch (5 days)
    assert ticket["handle_due_at"] == "2025-11-10T09:00:00+08:00"
    event = upgrade_event(dispatcher, ticket["id"])
    assert event["actor"] == "nt_chongchuan.handler"
    assert (event["data"]["upgrade_trigger"], event["data"]["extension_requests"]) == ("extension_twice", 2)
    assert task_names(handler, ticket["id"]) == ["handle"]             # no extension approval for a directive
    handle = handler.ready_task(ticket["id"], "handle")
    assert handle["due_at"] == "2025-11-10T09:00:00+08:00"


def test_a_highly_sensitive_event_is_dispatched_as_a_directive(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock(MONDAY)
    ticket = start(operator, sensitivity="high")
    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    assert ticket["kind"] == "directive"
    assert upgrade_event(dispatcher, ticket["id"])["data"]["upgrade_trigger"] == "high_sensitivity"
    # the dispatcher can also mark it sensitive when dispatching
    other = start(operator)
    other = dispatcher.complete(other["id"], "dispatch", {"unit": "nt_chongchuan", "sensitivity": "high"})
    assert other["kind"] == "directive"


def test_the_centre_decides_at_dispatch_with_a_reason(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock(MONDAY)
    ticket = start(operator)
    task = dispatcher.ready_task(ticket["id"], "dispatch")
    response = dispatcher.post(f"/api/v1/tasks/{task['id']}/complete",
                               json={"data": {"unit": "nt_chongchuan", "upgrade": True}})
    assert response.status_code == 422 and "upgrade_reason" in response.get_json()["error"]["details"]
    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan", "upgrade": True,
                                                            "upgrade_reason": "涉及群众安全，市领导关注"})
    assert ticket["kind"] == "directive"
    event = upgrade_event(dispatcher, ticket["id"])
    assert event["data"]["upgrade_trigger"] == "centre_decision"
    assert event["data"]["upgrade_reason"] == "涉及群众安全，市领导关注"


def test_the_centre_upgrades_an_event_while_it_is_handled(as_user):
    operator, dispatcher, handler = as_user("operator"), as_user("dispatcher"), as_user("nt_chongchuan.handler")
    operator.set_clock(MONDAY)
    ticket = start(operator)
    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    url = f"/api/v1/tickets/{ticket['id']}/upgrade"
    response = dispatcher.post(url, json={"reason": "媒体关注"})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "invalid_state"   # still signing
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    assert handler.post(url, json={"reason": "我想升级"}).status_code == 403
    assert dispatcher.post(url, json={}).status_code == 422
    operator.set_clock("2025-11-04T10:00:00+08:00")
    response = dispatcher.post(url, json={"reason": "媒体曝光，社会影响较大", "due_at": "2025-11-06T17:30:00+08:00"})
    assert response.status_code == 200, response.get_json()
    ticket = response.get_json()
    assert ticket["kind"] == "directive" and ticket["status"] == "handling"
    assert ticket["handle_due_at"] == "2025-11-06T17:30:00+08:00"       # the deadline written on the order
    assert handler.ready_task(ticket["id"], "handle")["due_at"] == "2025-11-06T17:30:00+08:00"
    event = upgrade_event(dispatcher, ticket["id"])
    assert event["actor"] == "dispatcher" and event["at"] == "2025-11-04T10:00:00+08:00"
    assert (event["data"]["upgrade_trigger"], event["data"]["upgrade_point"]) == ("centre_decision", "centre")
    assert events(dispatcher, ticket["id"], "signal_received")[0]["data"]["signal"] == "upgrade"
    told = [m for m in handler.get("/api/v1/messages").get_json()["items"] if m["kind"] == "escalation"]
    assert len(told) == 1 and told[0]["title"].startswith("事件升级为指令") and "媒体曝光" in told[0]["body"]
    # once a directive, it cannot be upgraded again
    assert dispatcher.post(url, json={"reason": "再次升级"}).status_code == 409
    # the replay re-executes the signal too
    auditor = as_user("auditor")
    assert auditor.get(f"/api/v1/tickets/{ticket['id']}/replay").get_json()["verified"] is True


def test_a_directive_from_the_early_warning_hub_needs_the_principal_leaders_approval(as_user):
    operator, dispatcher, handler = as_user("operator"), as_user("dispatcher"), as_user("nt_chongchuan.handler")
    operator.set_clock(MONDAY)
    ticket = start(operator, channel="early_warning", directive_due_at="2025-11-05T12:00:00+08:00")
    assert ticket["kind"] == "directive"
    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    assert ticket["sign_due_at"] == "2025-11-03T10:00:00+08:00"           # 1 working hour
    assert ticket["handle_due_at"] == "2025-11-05T12:00:00+08:00"         # the deadline on the order
    assert events(dispatcher, ticket["id"], "ticket_upgraded") == []       # a directive from the start
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    ticket = handler.complete(ticket["id"], "handle", {"action": "extend", "extension_days": 2,
                                                       "extension_reason": "需要更多时间"})
    assert ticket["status"] == "handling" and ticket["handle_due_at"] == "2025-11-05T12:00:00+08:00"   # no extension
    handler.complete(ticket["id"], "handle", {"action": "reply", "reply": REPLY})
    assert handler.ready_task(ticket["id"], "approve_reply")["role"] == "principal"
