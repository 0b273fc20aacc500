"""Consultation (会商 "1+X", 宿州 附件4) whose agreed actions become tasks with deadlines on the linked
tickets, and the final reply (此为最终答复, Suqian 四（四）)."""
from __future__ import annotations

from tests.api.escalation_support import REPLY, events, start, unit_users  # noqa: F401
import pytest

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified

MONDAY = "2025-11-03T09:00:00+08:00"


def test_a_consultation_whose_agreed_actions_reach_the_tickets(as_user):
    operator, dispatcher, supervisor = as_user("operator"), as_user("dispatcher"), as_user("supervisor")
    lead, housing = as_user("nt_chongchuan.handler"), as_user("nt_housing.handler")
    operator.set_clock(MONDAY)
    first, second = start(operator), start(operator, title="同一工地夜间施工")
    for ticket in (first, second):
        dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    response = lead.post("/api/v1/consultations", json={
        "ticket_ids": [first["id"], second["id"]], "topic": "某工地夜间施工反复投诉",
        "description": "多名市民反复投诉，涉及住建、城管、生态环境多部门", "lead_unit": "nt_chongchuan",
        "assisting_units": ["nt_housing"]})
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert case["process"] == "consultation" and case["status"] == "topic_confirmation"
    assert sorted(case["linked_tickets"]) == sorted([first["id"], second["id"]])
    assert events(lead, first["id"], "consultation_opened")[0]["actor"] == "nt_chongchuan.handler"

    case = supervisor.complete(case["id"], "confirm_topic", {"approved": True, "lead_unit": "nt_chongchuan",
                                                              "assisting_units": ["nt_housing"], "mode": "1+X"})
    assert case["status"] == "convening" and case["unit"] == "nt_chongchuan"
    minutes_task = lead.ready_task(case["id"], "convene")
    assert minutes_task["due_at"] == "2025-11-10T09:00:00+08:00"          # minutes the week after (第六条)
    # minutes need the seed's fields
    response = lead.post(f"/api/v1/tasks/{minutes_task['id']}/complete", json={"data": {"attendees": "崇川区、住建局"}})
    assert response.status_code == 422
    case = lead.complete(case["id"], "convene", {
        "attendees": "崇川区政府、市住建局、市生态环境局", "proceedings": "现场查看后集体协商",
        "agreed_items": [
            {"item": "约谈施工单位，夜间停工", "unit": "nt_housing", "due_days": 3, "ticket_id": first["id"]},
            {"item": "答复诉求人并回访", "unit": "nt_chongchuan", "due_days": 5, "ticket_id": second["id"]}],
        "division": "住建局负责约谈，崇川区负责答复", "no_solution_plan": ""})
    assert case["status"] == "carrying_out"
    # the action about the first ticket is a housing task, shown on that ticket, with its deadline
    on_first = [t for t in housing.get(f"/api/v1/tickets/{first['id']}/tasks?state=ready").get_json()["items"]
                if t["name"] == "carry_out_action"]
    assert len(on_first) == 1 and on_first[0]["unit"] == "nt_housing"
    assert on_first[0]["due_at"] == "2025-11-06T09:00:00+08:00" and on_first[0]["subject_ticket_id"] == first["id"]
    assigned = events(dispatcher, first["id"], "case_task_created")
    assert assigned and assigned[0]["data"]["item"] == "约谈施工单位，夜间停工"
    housing.post(f"/api/v1/tasks/{on_first[0]['id']}/complete", json={"data": {"result": "已约谈，承诺夜间停工", "done": True}})
    action = [t for t in lead.get(f"/api/v1/tickets/{second['id']}/tasks?state=ready").get_json()["items"]
              if t["name"] == "carry_out_action"][0]
    lead.post(f"/api/v1/tasks/{action['id']}/complete", json={"data": {"result": "已答复诉求人", "done": True}})
    case = lead.complete(case["id"], "summarize_consultation", {"summary": "议定事项均已落实，相关工单汇总答复。"})
    assert case["status"] == "closed" and case["outcome"] == "concluded"
    for ticket in (first, second):
        assert events(dispatcher, ticket["id"], "minutes_filed")
        assert events(dispatcher, ticket["id"], "consultation_concluded")
    assert as_user("auditor").get(f"/api/v1/tickets/{case['id']}/replay").get_json()["verified"] is True


def test_consultation_requests_are_validated(as_user):
    operator, lead, dispatcher = as_user("operator"), as_user("nt_chongchuan.handler"), as_user("dispatcher")
    operator.set_clock(MONDAY)
    ticket = start(operator)
    assert lead.post("/api/v1/consultations", json={"ticket_ids": [], "topic": "议题", "description": "说明"}).status_code == 422
    assert dispatcher.post("/api/v1/consultations", json={"ticket_ids": [ticket["id"]], "topic": "议题", "description": "说明",
                                                    "lead_unit": "nowhere"}).status_code == 422
    # a unit cannot link a ticket it cannot see
    assert lead.post("/api/v1/consultations", json={"ticket_ids": [ticket["id"]], "topic": "议题",
                                                    "description": "说明"}).status_code == 404
    assert as_user("callback").post("/api/v1/consultations", json={"ticket_ids": [ticket["id"]], "topic": "议题",
                                                                   "description": "说明"}).status_code == 403


def test_a_final_reply_needs_evidence_and_the_principal_leader_and_closes_the_ticket(as_user):
    operator, dispatcher, callback = as_user("operator"), as_user("dispatcher"), as_user("callback")
    handler = as_user("nt_chongchuan.handler")
    operator.set_clock(MONDAY)
    ticket = start(operator)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    task = handler.ready_task(ticket["id"], "handle")
    response = handler.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {
        "action": "final_reply", "reply": "经核查，诉求人要求的赔偿无政策依据，已多次解释。",
        "final_reason": "诉求无政策依据", "evidence": "《某某条例》第十条；2025年10月协调会纪要"}})
    assert response.status_code == 422 and "reply" in response.get_json()["error"]["details"]
    final = "经核查，诉求人要求的赔偿无政策依据，已多次解释。此为最终答复。"
    handler.complete(ticket["id"], "handle", {"action": "final_reply", "reply": final,
                                              "final_reason": "诉求无政策依据", "evidence": "《某某条例》第十条"})
    approval = handler.ready_task(ticket["id"], "approve_reply")
    assert approval["role"] == "principal"
    assert as_user("nt_chongchuan.deputy").post(f"/api/v1/tasks/{approval['id']}/complete",
                                                json={"data": {"approved": True}}).status_code in (403, 404)
    as_user("nt_chongchuan.leader").complete(ticket["id"], "approve_reply", {"approved": True})
    dispatcher.complete(ticket["id"], "review_reply", {"approved": True})
    ticket = callback.complete(ticket["id"], "callback", {"satisfied": False, "unit_at_fault": False,
                                                          "comment": "仍不满意"})
    assert ticket["status"] == "closed" and ticket["outcome"] == "final_reply"
