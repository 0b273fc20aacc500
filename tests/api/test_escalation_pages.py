"""Escalation from the ticket page (browser forms): linked cases, upgrade, supervision, consultation;
refused requests show the message and keep what was typed; the task forms of the new steps render."""
from __future__ import annotations

from tests.api.test_pages import CSRF, Browser
from tests.conftest import complaint
import pytest

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified

MONDAY = "2025-11-03T09:00:00+08:00"


def handled_ticket(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock(MONDAY)
    ticket = operator.post("/api/v1/tickets", json=complaint()).get_json()
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    as_user("nt_chongchuan.handler").complete(ticket["id"], "sign", {"decision": "accept"})
    return ticket


def post(browser, page_url, action_url, data):
    token = CSRF.search(browser.client.get(page_url).get_data(as_text=True)).group(1)
    return browser.client.post(action_url, data={**data, "csrf_token": token})


def test_a_dispatcher_upgrades_and_supervises_from_the_ticket_page(client, as_user):
    ticket = handled_ticket(as_user)
    browser = Browser(client)
    browser.login("dispatcher")
    url = f"/tickets/{ticket['id']}"
    page = client.get(url).get_data(as_text=True)
    assert "升级为指令" in page and "启动督办" in page and "提请会商" in page and "暂无督办或会商" in page
    # a missing reason is refused with the message, on the same page
    refused = post(browser, url, f"/tickets/{ticket['id']}/upgrade", {"reason": ""})
    assert refused.status_code == 422 and "请填写升级理由" in refused.get_data(as_text=True)
    done = post(browser, url, f"/tickets/{ticket['id']}/upgrade", {"reason": "媒体关注，社会影响较大"})
    assert done.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "事件升级为指令" in page and "centre_decision" in page and "依据《事件升级指令》" in page
    opened = post(browser, url, f"/tickets/{ticket['id']}/supervise", {"trigger": "media_exposure",
                                                                      "reason": "经媒体曝光仍未处理"})
    assert opened.status_code == 302
    case_page = client.get(opened.headers["Location"]).get_data(as_text=True)
    assert "督办单" in case_page and "督办立项" in case_page
    page = client.get(url).get_data(as_text=True)
    assert "启动督办" in page and "督办定级" in page and "媒体曝光" in page


def test_pages_in_english_and_a_unit_handler_sees_no_centre_actions(client, as_user):
    ticket = handled_ticket(as_user)
    browser = Browser(client)
    browser.login("nt_chongchuan.handler")
    page = client.get(f"/tickets/{ticket['id']}?lang=en").get_data(as_text=True)
    assert "Supervision and consultation" in page and "Propose a consultation" in page
    assert "Upgrade to a directive" not in page and "Open a supervision order" not in page


def test_the_minutes_form_renders_rows_and_takes_a_browser_post(client, as_user):
    ticket = handled_ticket(as_user)
    lead = as_user("nt_chongchuan.handler")
    case = lead.post("/api/v1/consultations", json={"ticket_ids": [ticket["id"]], "topic": "夜间施工反复投诉",
                                                   "description": "涉及多部门"}).get_json()
    as_user("supervisor").complete(case["id"], "confirm_topic", {"approved": True, "lead_unit": "nt_chongchuan",
                                                                  "assisting_units": ["nt_housing"], "mode": "1+X"})
    task = lead.ready_task(case["id"], "convene")
    browser = Browser(client)
    browser.login("nt_chongchuan.handler")
    url = f"/tasks/{task['id']}"
    page = client.get(url).get_data(as_text=True)
    assert 'name="agreed_items-0-item"' in page and 'aria-label="议定事项 第1行"' in page
    token = CSRF.search(page).group(1)
    response = client.post(url, data={"csrf_token": token, "attendees": "崇川区、住建局", "proceedings": "现场会商",
                                      "agreed_items-0-item": "约谈施工单位", "agreed_items-0-unit": "nt_housing",
                                      "agreed_items-0-due_days": "3", "agreed_items-0-ticket_id": str(ticket["id"]),
                                      "division": "住建局约谈", "no_solution_plan": ""})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    actions = [t for t in as_user("nt_housing.handler").get("/api/v1/tasks?state=ready").get_json()["items"]
               if t["name"] == "carry_out_action"]
    assert len(actions) == 1 and actions[0]["subject_ticket_id"] == ticket["id"]


def test_the_operator_marks_a_sensitive_call_at_intake(client, as_user):
    as_user("operator").set_clock(MONDAY)
    browser = Browser(client)
    browser.login("operator")
    token = CSRF.search(client.get("/intake").get_data(as_text=True)).group(1)
    assert "敏感程度" in client.get("/intake").get_data(as_text=True)
    response = client.post("/intake", data={"csrf_token": token, "city": "nantong", "channel": "phone_12345",
                                            "request_type": "complaint", "title": "化工厂异味", "content": "周边居民反映强烈",
                                            "sensitivity": "high", "scope": "normal"})
    assert response.status_code == 302
    ticket_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    ticket = as_user("dispatcher").complete(ticket_id, "dispatch", {"unit": "nt_chongchuan"})
    assert ticket["kind"] == "directive"
