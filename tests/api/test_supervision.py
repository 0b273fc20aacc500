"""Three-tier supervision (宿州 附件3 督办制度, Nantong 第十一条) through the HTTP API and the test clock:
each supervision order is its own process instance linked to the ticket; its tier, owner, deadline and
escalation come from the city's supervision_policy table, and every step is in the ticket's log."""
from __future__ import annotations

import pytest

from tests.api.escalation_support import REPLY, events, reply_and_review, start, unit_users  # noqa: F401

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified

MONDAY = "2025-11-03T09:00:00+08:00"
SZ_UNIT = "sz_yongqiao"


def suzhou_ticket(as_user, unit_users, **overrides):
    unit_users("suzhou_ah", SZ_UNIT)
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock(MONDAY)
    ticket = start(operator, city="suzhou_ah", **overrides)
    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": SZ_UNIT})
    as_user(f"{SZ_UNIT}.handler").complete(ticket["id"], "sign", {"decision": "accept"})
    return ticket


def only_case(api, ticket_id, status=None):
    items = api.get(f"/api/v1/tickets/{ticket_id}/cases").get_json()["items"]
    open_items = [c for c in items if status is None or c["status"] == status]
    assert len(open_items) == 1, [(c["process"], c["status"]) for c in items]
    return open_items[0]


def decided(api, ticket_id):
    return [e["data"] for e in events(api, ticket_id, "supervision_decided")]


def feedback_round(as_user, case_id, *, commitment=None):
    data = {"feedback": "已于督办当日组织现场处置，问题已整改到位并回复诉求人。"}
    if commitment:
        data["commitment"] = commitment
    as_user(f"{SZ_UNIT}.handler").complete(case_id, "supervision_feedback", data)
    as_user(f"{SZ_UNIT}.leader").complete(case_id, "approve_supervision_feedback", {"approved": True})


def test_overdue_routine_supervision_then_tier_one_order(as_user, unit_users):
    ticket = suzhou_ticket(as_user, unit_users)
    assert ticket["handle_due_at"] == "2025-11-12T09:00:00+08:00"        # complaint: 7 working days
    supervisor = as_user("supervisor")
    supervisor.set_clock("2025-11-12T09:00:01+08:00")
    assert supervisor.tick() >= 1
    case = only_case(supervisor, ticket["id"])
    assert case["process"] == "supervision" and case["status"] == "routine_supervision"
    assert case["linked_tickets"] == [ticket["id"]] and case["unit"] == SZ_UNIT
    assert case["number"].startswith("SZDB") or "DB" in case["number"]
    opened = events(supervisor, ticket["id"], "supervision_opened")[0]
    assert opened["data"]["trigger"] == "overdue" and opened["data"]["case_id"] == case["id"]
    first = decided(supervisor, ticket["id"])
    assert first[0]["tier"] == 0 and first[0]["rule"]["decision"] == "supervision_policy"

    # 第四条: routine supervision first; still unresolved → tier 1 by the leading-group office (督办单（函）)
    supervisor.set_clock("2025-11-13T09:00:00+08:00")
    case = supervisor.complete(case["id"], "routine_supervision", {"method": "phone", "note": "电话督促承办单位尽快办结",
                                                                    "resolved": False})
    assert case["status"] == "order_registration"
    tier1 = decided(supervisor, ticket["id"])[-1]
    assert tier1["tier"] == 1 and tier1["owner_role"] == "supervisor"
    assert (tier1["trigger"], tier1["first_trigger"], tier1["prior_tier"]) == ("supervision_failed", "overdue", 0)
    case = supervisor.complete(case["id"], "register_order", {"content": "超期未办结，请于限期内办结并反馈"})
    assert case["status"] == "supervision_feedback"
    feedback = as_user(f"{SZ_UNIT}.handler").ready_task(case["id"], "supervision_feedback")
    assert feedback["due_at"] == case["handle_due_at"] and feedback["due_at"] > "2025-11-13T09:00:00+08:00"
    context = {c["name"]: c["value"] for c in
               as_user(f"{SZ_UNIT}.handler").get(f"/api/v1/tasks/{feedback['id']}").get_json()["context"]}
    assert context["content"] == "超期未办结，请于限期内办结并反馈" and context["tier"] == 1
    issued = events(supervisor, ticket["id"], "supervision_order_issued")[0]
    assert issued["data"]["tier"] == 1 and issued["actor"] == "supervisor"
    # the unit's feedback on a supervised item is approved by its principal leader
    as_user(f"{SZ_UNIT}.handler").complete(case["id"], "supervision_feedback",
                                          {"feedback": "已于督办当日组织现场处置，问题已整改到位。"})
    approval = as_user(f"{SZ_UNIT}.handler").ready_task(case["id"], "approve_supervision_feedback")
    assert approval["role"] == "principal"
    as_user(f"{SZ_UNIT}.leader").complete(case["id"], "approve_supervision_feedback", {"approved": True})
    case = supervisor.complete(case["id"], "verify_supervision", {"passed": True})
    assert case["status"] == "closed" and case["outcome"] == "resolved"
    closed = events(supervisor, ticket["id"], "supervision_closed")[-1]
    assert closed["actor"] == "supervisor" and closed["data"]["tier"] == 1
    # the order and the ticket both replay
    auditor = as_user("auditor")
    for ticket_id in (ticket["id"], case["id"]):
        assert auditor.get(f"/api/v1/tickets/{ticket_id}/replay").get_json()["verified"] is True


def test_media_exposure_is_tier_two_and_a_failed_check_escalates_to_referral(as_user, unit_users):
    ticket = suzhou_ticket(as_user, unit_users)
    supervisor, inspector, city_leader = as_user("supervisor"), as_user("inspector"), as_user("city_leader")
    response = supervisor.post(f"/api/v1/tickets/{ticket['id']}/supervisions",
                               json={"trigger": "media_exposure", "reason": "经《直播宿州》曝光后仍未处理"})
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    tier2 = decided(supervisor, ticket["id"])[-1]
    assert (tier2["tier"], tier2["owner_role"], tier2["public_commitment"]) == (2, "inspector", "deputy")
    assert events(supervisor, ticket["id"], "supervision_opened")[0]["actor"] == "supervisor"
    # the order belongs to the party inspection office: the centre's supervisor cannot register it
    task = supervisor.ready_task(case["id"], "register_order")
    assert task["role"] == "inspector"
    assert supervisor.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"content": "x"}}).status_code == 403
    inspector.complete(case["id"], "register_order", {"content": "立项重点督办，分管负责人公开承诺"})
    feedback_round(as_user, case["id"], commitment="分管负责人承诺一周内整改到位")
    case = inspector.complete(case["id"], "verify_supervision", {"passed": False, "comment": "现场复核仍未整改"})
    tier3 = decided(supervisor, ticket["id"])[-1]
    assert (tier3["tier"], tier3["owner_role"], tier3["trigger"], tier3["prior_tier"]) == \
        (3, "city_leader", "supervision_failed", 2)
    assert tier3["public_commitment"] == "principal"
    city_leader.complete(case["id"], "register_order", {"content": "市领导挂牌督办"})
    feedback_round(as_user, case["id"], commitment="主要负责人公开承诺")
    case = city_leader.complete(case["id"], "verify_supervision", {"passed": False, "comment": "仍未整改"})
    assert case["status"] == "closed" and case["outcome"] == "referred"
    referral = events(supervisor, ticket["id"], "discipline_referral")[0]
    assert referral["actor"] == "city_leader" and referral["data"]["tier"] == 3


def test_a_leader_instructed_item_overdue_goes_straight_to_tier_two(as_user, unit_users):
    ticket = suzhou_ticket(as_user, unit_users, channel="leader_assigned",
                           directive_due_at="2025-11-05T17:30:00+08:00")
    supervisor = as_user("supervisor")
    supervisor.set_clock("2025-11-05T17:30:01+08:00")
    supervisor.tick()
    case = only_case(supervisor, ticket["id"])
    tier = decided(supervisor, ticket["id"])[-1]
    assert tier["tier"] == 2 and tier["trigger"] == "overdue" and case["status"] == "order_registration"


def test_a_responsibility_dispute_goes_to_the_city_leaders(as_user, unit_users):
    ticket = suzhou_ticket(as_user, unit_users)
    city_leader = as_user("city_leader")
    response = city_leader.post(f"/api/v1/tickets/{ticket['id']}/supervisions",
                                json={"trigger": "jurisdiction_dispute", "reason": "两县区对管辖边界存在争议"})
    assert response.status_code == 201, response.get_json()
    tier = decided(city_leader, ticket["id"])[-1]
    assert (tier["tier"], tier["owner_role"], tier["public_commitment"]) == (3, "city_leader", "principal")


def test_bad_supervision_requests_are_refused_and_store_nothing(as_user, unit_users):
    ticket = suzhou_ticket(as_user, unit_users)
    supervisor, handler = as_user("supervisor"), as_user(f"{SZ_UNIT}.handler")
    url = f"/api/v1/tickets/{ticket['id']}/supervisions"
    response = supervisor.post(url, json={"trigger": "because", "reason": "没有理由"})
    assert response.status_code == 422 and "trigger" in response.get_json()["error"]["details"]
    assert supervisor.post(url, json={"trigger": "media_exposure"}).status_code == 422
    assert handler.post(url, json={"trigger": "media_exposure", "reason": "自己督办自己"}).status_code == 403
    assert supervisor.post("/api/v1/tickets/999999/supervisions",
                           json={"trigger": "media_exposure", "reason": "不存在"}).status_code == 404
    assert supervisor.get(f"/api/v1/tickets/{ticket['id']}/cases").get_json()["items"] == []
    fresh = start(as_user("operator"), city="suzhou_ah")
    response = supervisor.post(f"/api/v1/tickets/{fresh['id']}/supervisions",
                               json={"trigger": "media_exposure", "reason": "尚未派单"})
    assert response.status_code == 409


def test_nantong_dissatisfied_again_issues_a_supervision_directive(as_user):
    operator, dispatcher, callback = as_user("operator"), as_user("dispatcher"), as_user("callback")
    handler = as_user("nt_chongchuan.handler")
    operator.set_clock(MONDAY)
    ticket = start(operator)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    reply_and_review(as_user, ticket["id"], "nt_chongchuan")
    ticket = callback.complete(ticket["id"], "callback", {"satisfied": False, "unit_at_fault": True, "comment": "未解决"})
    assert ticket["status"] == "handling"                                  # 退回重办
    reply_and_review(as_user, ticket["id"], "nt_chongchuan")
    ticket = callback.complete(ticket["id"], "callback", {"satisfied": False, "unit_at_fault": True,
                                                          "comment": "仍未解决"})
    assert ticket["status"] == "handling"                                  # back to the unit under a 督办指令
    case = only_case(callback, ticket["id"])
    assert case["process"] == "supervision"
    tier = decided(callback, ticket["id"])[-1]
    assert (tier["tier"], tier["trigger"], tier["owner_role"]) == (1, "dissatisfied_again", "supervisor")
    assert events(callback, ticket["id"], "supervision_opened")[0]["actor"] == "callback"
    # a supervised reply needs the principal leader
    handler.complete(ticket["id"], "handle", {"action": "reply", "reply": REPLY})
    assert handler.ready_task(ticket["id"], "approve_reply")["role"] == "principal"


def test_nantong_overdue_then_unresolved_routine_supervision_becomes_a_supervision_directive(as_user):
    operator, dispatcher, supervisor = as_user("operator"), as_user("dispatcher"), as_user("supervisor")
    handler = as_user("nt_chongchuan.handler")
    operator.set_clock(MONDAY)
    ticket = start(operator)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    supervisor.set_clock("2025-11-24T09:00:01+08:00")               # 15 working days passed
    supervisor.tick()
    case = only_case(supervisor, ticket["id"])
    assert decided(supervisor, ticket["id"])[0]["method"].startswith("日常督办")
    case = supervisor.complete(case["id"], "routine_supervision", {"method": "on_site", "note": "现场督促",
                                                                    "resolved": False})
    tier = decided(supervisor, ticket["id"])[-1]
    assert (tier["tier"], tier["owner"]) == (1, "市指挥中心") and "督办指令" in tier["method"]
    supervisor.complete(case["id"], "register_order", {"content": "下发督办指令，限期办结"})
    # the unit hears of the order at once (an urgent escalation message) and gets the feedback task
    inbox = handler.get("/api/v1/messages").get_json()["items"]
    escalations = [m for m in inbox if m["kind"] == "escalation"]
    assert escalations and escalations[0]["urgent"] is True and "一级督办" in escalations[0]["title"]
    assert [t["name"] for t in handler.get("/api/v1/tasks?state=ready").get_json()["items"]
            if t["ticket_id"] == case["id"]] == ["supervision_feedback"]


# 宿州 附件3 第四条, clause by clause: (trigger, tier, owner role, referral to 纪委监委)
SUZHOU_CLAUSES = [
    ("overdue", 0, "supervisor", False),             # 第四条: routine supervision first
    ("repeat_complaint", 0, "supervisor", False),    # 第二条（三）: in scope, routine first
    ("overdue_unhandled", 1, "supervisor", False),   # （一）1
    ("dissatisfied_again", 1, "supervisor", False),  # （一）3
    ("hot_issue", 1, "supervisor", False),           # （一）4
    ("provincial_repeat", 1, "supervisor", False),   # （一）5
    ("media_exposure", 2, "inspector", False),       # （二）2
    ("buck_passing", 2, "inspector", False),         # （二）3
    ("false_handling", 2, "inspector", True),        # （二）4, 失职渎职 → 市纪委监委
    ("leak_retaliation", 2, "inspector", True),      # （二）5
    ("wide_impact", 3, "city_leader", False),        # （三）1
    ("jurisdiction_dispute", 3, "city_leader", False),  # （三）2
    ("inaction_petition", 3, "city_leader", False),  # （三）3
    ("major", 3, "city_leader", False),              # （三）4
]


@pytest.mark.parametrize("trigger, tier, owner_role, refer", SUZHOU_CLAUSES, ids=[c[0] for c in SUZHOU_CLAUSES])
def test_each_suzhou_trigger_through_the_api(as_user, unit_users, trigger, tier, owner_role, refer):
    ticket = suzhou_ticket(as_user, unit_users)
    supervisor = as_user("supervisor")
    response = supervisor.post(f"/api/v1/tickets/{ticket['id']}/supervisions",
                               json={"trigger": trigger, "reason": f"测试情形 {trigger}"})
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    decision = decided(supervisor, ticket["id"])[-1]
    assert (decision["tier"], decision["owner_role"], decision["refer_discipline"]) == (tier, owner_role, refer)
    assert decision["rule"]["decision"] == "supervision_policy" and len(decision["rule"]["matched_rules"]) == 1
    expected_task = "routine_supervision" if tier == 0 else "register_order"
    task = supervisor.ready_task(case["id"], expected_task)
    assert task["role"] == ("supervisor" if tier == 0 else owner_role)


def test_a_repeat_complaint_puts_a_closed_matter_under_supervision(as_user):
    operator, dispatcher, callback = as_user("operator"), as_user("dispatcher"), as_user("callback")
    operator.set_clock(MONDAY)
    ticket = start(operator)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    as_user("nt_chongchuan.handler").complete(ticket["id"], "sign", {"decision": "accept"})
    reply_and_review(as_user, ticket["id"], "nt_chongchuan")
    closed = callback.complete(ticket["id"], "callback", {"satisfied": True})
    assert closed["status"] == "closed"
    response = as_user("supervisor").post(f"/api/v1/tickets/{ticket['id']}/supervisions",
                                          json={"trigger": "repeat_complaint", "reason": "办结后同一诉求人再次投诉"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["unit"] == "nt_chongchuan"
    assert decided(callback, ticket["id"])[-1]["trigger"] == "repeat_complaint"
