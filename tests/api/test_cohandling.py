"""Co-handling (主办/协办, Nantong 第三十条): a lead unit and two assisting units in parallel, the lead
merging their input; 首问/指定/兜底 responsibility; Suqian's re-dispatch rule (三（四）)."""
from __future__ import annotations

from tests.api.escalation_support import REPLY, events, returned, start, task_names, unit_users  # noqa: F401
import pytest

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified

MONDAY = "2025-11-03T09:00:00+08:00"


def test_a_lead_unit_with_two_assisting_units(as_user, unit_users):
    unit_users("nantong", "nt_ecology")
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    lead = as_user("nt_chongchuan.handler")
    housing, ecology = as_user("nt_housing.handler"), as_user("nt_ecology.handler")
    operator.set_clock(MONDAY)
    ticket = start(operator)
    ticket = dispatcher.complete(ticket["id"], "dispatch", {
        "unit": "nt_chongchuan", "assisting_units": ["nt_housing", "nt_ecology"], "responsibility": "first_asked",
        "assist_days": 3})
    assert ticket["unit"] == "nt_chongchuan"
    # assisting units do nothing before the lead unit signs
    assert housing.get("/api/v1/tasks?state=ready").get_json()["items"] == []
    ticket = lead.complete(ticket["id"], "sign", {"decision": "accept"})
    assert ticket["status"] == "assisting"
    assert task_names(dispatcher, ticket["id"]) == ["assist", "assist"]
    # each assisting unit sees only its own instance, due in 3 working days
    mine = housing.get("/api/v1/tasks?state=ready").get_json()["items"]
    assert [(t["name"], t["unit"]) for t in mine] == [("assist", "nt_housing")]
    assert mine[0]["due_at"] == "2025-11-06T09:00:00+08:00"
    assert lead.get("/api/v1/tasks?state=ready").get_json()["items"] == []     # the lead waits for the inputs
    assert housing.get(f"/api/v1/tickets/{ticket['id']}").status_code == 200   # an assisting unit reads the ticket
    operator.set_clock("2025-11-04T09:00:00+08:00")
    housing.complete(ticket["id"], "assist", {"opinion": "住建部门已约谈物业，责令限期整改。"})
    assert task_names(dispatcher, ticket["id"]) == ["assist"]
    # a unit cannot complete another unit's instance
    theirs = ecology.ready_task(ticket["id"], "assist")
    assert housing.post(f"/api/v1/tasks/{theirs['id']}/complete",
                        json={"data": {"opinion": "越权填写"}}).status_code in (403, 404)
    ticket = ecology.complete(ticket["id"], "assist", {"opinion": "生态环境部门已现场监测噪声，超标已立案。"})
    assert ticket["status"] == "handling"
    # the lead's handle task shows both units' input to merge into one reply (and the log has them per unit)
    handle = lead.ready_task(ticket["id"], "handle")
    context = {c["name"]: c["value"] for c in lead.get(f"/api/v1/tasks/{handle['id']}").get_json()["context"]}
    assert sorted((r["unit"], r["opinion"][:4]) for r in context["assist_results"]) == \
        [("nt_ecology", "生态环境"), ("nt_housing", "住建部门")]
    inputs = [e for e in events(lead, ticket["id"], "task_completed") if e["task_name"] == "assist"]
    assert sorted(e["data"]["unit"] for e in inputs) == ["nt_ecology", "nt_housing"]
    lead.complete(ticket["id"], "handle", {"action": "reply", "reply": REPLY})
    assert as_user("auditor").get(f"/api/v1/tickets/{ticket['id']}/replay").get_json()["verified"] is True


def test_a_designated_unit_may_not_return(as_user):
    operator, dispatcher, handler = as_user("operator"), as_user("dispatcher"), as_user("nt_housing.handler")
    operator.set_clock(MONDAY)
    ticket = start(operator)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_housing", "responsibility": "designated"})
    ticket = handler.complete(ticket["id"], "sign", {"decision": "return", "reason": "不属于本单位",
                                                     "suggested_unit": "nt_chongchuan"})
    assert ticket["status"] == "signing"                       # 指定负责: the return is refused
    refused = [e for e in events(handler, ticket["id"], "decision_evaluated") if e["data"]["decision"] == "return_policy"]
    assert refused[-1]["data"]["outputs"]["return_allowed"] is False


def test_suqian_an_unjustified_return_is_redispatched_once_and_cannot_be_returned_again(as_user, unit_users):
    unit_users("suqian", "sq_sucheng")
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    handler, leader = as_user("sq_sucheng.handler"), as_user("sq_sucheng.leader")
    operator.set_clock(MONDAY)
    ticket = start(operator, city="suqian")
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "sq_sucheng"})
    handler.complete(ticket["id"], "sign", {"decision": "return", "reason": "不属于本单位职责",
                                            "suggested_unit": "sq_shuyang"})
    ticket = leader.complete(ticket["id"], "approve_return", {"approved": True})
    assert ticket["status"] == "dispatching"
    # the centre finds the reason unfounded and dispatches to the same unit again (二次派单)
    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": "sq_sucheng",
                                                            "dispatch_note": "退回理由不成立，二次派单"})
    ticket = handler.complete(ticket["id"], "sign", {"decision": "return", "reason": "仍认为不属于本单位",
                                                     "suggested_unit": "sq_shuyang"})
    assert ticket["status"] == "signing"
    decision = [e for e in events(handler, ticket["id"], "decision_evaluated")
                if e["data"]["decision"] == "return_policy"][-1]["data"]
    # inputs are recorded under the table's labels
    assert decision["inputs"]["退回理由不成立后二次派单"] is True and decision["outputs"]["return_allowed"] is False
    ticket = handler.complete(ticket["id"], "sign", {"decision": "accept"})
    assert ticket["status"] == "handling"
