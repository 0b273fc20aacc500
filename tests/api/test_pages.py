"""The browser pages: sign-in, inbox with lights, task form (CSRF-protected), ticket page."""
from __future__ import annotations

import re

from tests.conftest import complaint

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    def __init__(self, client):
        self.client = client

    def csrf(self, url):
        page = self.client.get(url)
        return CSRF.search(page.get_data(as_text=True)).group(1)

    def login(self, username, password="demo"):
        token = self.csrf("/login")
        return self.client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def dispatched(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = operator.post("/api/v1/tickets", json=complaint(title="路灯损坏夜间出行不便")).get_json()
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    return ticket


def test_pages_require_sign_in(client):
    response = client.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_password_shows_an_error(client):
    response = Browser(client).login("nt_chongchuan.handler", "nope")
    assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)


def test_handler_signs_a_ticket_in_the_browser(as_user, app):
    ticket = dispatched(as_user)
    browser = Browser(app.test_client())
    assert browser.login("nt_chongchuan.handler").status_code == 302
    inbox = browser.client.get("/inbox").get_data(as_text=True)
    assert "签收" in inbox and ticket["number"] in inbox and 'class="lamp green"' in inbox
    assert 'data-count="to_sign">1<' in inbox
    task_id = re.search(r'href="/tasks/([0-9a-f-]{36})"', inbox).group(1)

    page = browser.client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "签收或退单" in page and "路灯损坏夜间出行不便" in page and "办理过程" in page
    token = CSRF.search(page).group(1)

    # Without the CSRF token nothing happens.
    assert browser.client.post(f"/tasks/{task_id}", data={"decision": "accept"}).status_code == 400
    # A return without its reason comes back with the error and the typed values kept.
    response = browser.client.post(f"/tasks/{task_id}", data={"csrf_token": token, "decision": "return",
                                                               "suggested_unit": "nt_ecology"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "请填写“退单理由及依据”" in body
    assert '<option value="nt_ecology" selected' in body
    response = browser.client.post(f"/tasks/{task_id}", data={"csrf_token": token, "decision": "accept"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    assert as_user("operator").get(f"/api/v1/tickets/{ticket['id']}").get_json()["status"] == "handling"
    inbox = browser.client.get("/inbox").get_data(as_text=True)
    assert "办理" in inbox and 'data-count="to_handle">1<' in inbox


def test_other_units_handler_cannot_open_the_task_page(as_user, app):
    ticket = dispatched(as_user)
    task = as_user("nt_chongchuan.handler").ready_task(ticket["id"], "sign")
    browser = Browser(app.test_client())
    browser.login("nt_housing.handler")
    assert browser.client.get(f"/tasks/{task['id']}").status_code == 404
    assert browser.client.get(f"/tickets/{ticket['id']}").status_code == 404


def test_ticket_page_shows_deadlines_and_history(as_user, app):
    ticket = dispatched(as_user)
    browser = Browser(app.test_client())
    browser.login("dispatcher")
    page = browser.client.get(f"/tickets/{ticket['id']}").get_data(as_text=True)
    assert "2025-11-03 11:00" in page and "2025-11-24 09:00" in page
    assert "decision_evaluated" in page and "handle_limit" in page


def test_operator_intake_form_creates_a_ticket(app, city):
    browser = Browser(app.test_client())
    browser.login("operator")
    token = browser.csrf("/intake")
    response = browser.client.post("/intake", data={
        "csrf_token": token, "city": "nantong", "channel": "phone_12345", "request_type": "help",
        "title": "楼道灯不亮", "content": "楼道灯坏了一个月", "citizen_name": "李四", "citizen_phone": "13900002222"})
    assert response.status_code == 302 and "/tickets/" in response.headers["Location"]
    page = browser.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "楼道灯不亮" in page and "待派单" in page


def test_english_is_the_second_language(as_user, app):
    dispatched(as_user)
    browser = Browser(app.test_client())
    browser.login("nt_chongchuan.handler")
    browser.client.get("/lang/en")
    inbox = browser.client.get("/inbox").get_data(as_text=True)
    assert "Inbox" in inbox and "To sign" in inbox


def test_dispatcher_inbox_counts_returned_tickets(as_user, app):
    ticket = dispatched(as_user)
    handler, leader = as_user("nt_chongchuan.handler"), as_user("nt_chongchuan.leader")
    handler.complete(ticket["id"], "sign", {"decision": "return", "reason": "属生态环境部门职责",
                                            "suggested_unit": "nt_ecology"})
    leader.complete(ticket["id"], "approve_return", {"approved": True})
    browser = Browser(app.test_client())
    browser.login("dispatcher")
    inbox = browser.client.get("/inbox").get_data(as_text=True)
    assert 'data-count="returned">1<' in inbox


def test_inbox_filters_by_task_light_search_and_claim(client, as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    first = operator.post("/api/v1/tickets", json=complaint(title="路灯损坏")).get_json()
    second = operator.post("/api/v1/tickets", json=complaint(title="噪音扰民")).get_json()
    for ticket in (first, second):
        dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    handler = as_user("nt_chongchuan.handler")
    handler.complete(first["id"], "sign", {"decision": "accept"})
    task = handler.ready_task(first["id"], "handle")
    handler.post(f"/api/v1/tasks/{task['id']}/claim")
    Browser(client).login("nt_chongchuan.handler")

    def numbers(query):
        page = client.get(f"/inbox?{query}").get_data(as_text=True)
        return sorted(n for n in (first["number"], second["number"]) if n in page.split("<table", 1)[-1])
    assert numbers("") == sorted([first["number"], second["number"]])
    assert numbers("task=sign") == [second["number"]] and numbers("task=handle") == [first["number"]]
    assert numbers("q=路灯") == [first["number"]] and numbers("mine=1") == [first["number"]]
    assert numbers("light=red") == []
    operator.set_clock("2025-11-03T11:30:00+08:00")             # the sign-off of the second is overdue
    assert numbers("light=red") == [second["number"]]


NAV = {  # role -> the menus it sees (besides inbox, messages, tickets and API docs, which everyone has)
    "operator": {"工单受理", "知识库"},
    "dispatcher": {"工单受理", "知识库", "指挥中心看板", "热点诉求", "单位考核指标", "单位考核得分", "分析报告", "领导驾驶舱"},
    "nt_chongchuan.handler": {"知识库"},
    "nt_chongchuan.leader": {"知识库", "单位考核指标", "分析报告"},
    "supervisor": {"指挥中心看板", "热点诉求", "单位考核指标", "单位考核得分", "分析报告", "领导驾驶舱"},
    "analyst": {"指挥中心看板", "热点诉求", "单位考核指标", "单位考核得分", "分析报告", "领导驾驶舱", "规则集版本", "流程与规则编辑"},
    "admin": {"工单受理", "知识库", "指挥中心看板", "热点诉求", "单位考核指标", "单位考核得分", "分析报告", "领导驾驶舱", "规则集版本",
              "流程与规则编辑", "系统管理"},
    "auditor": {"指挥中心看板", "热点诉求", "单位考核指标", "单位考核得分", "分析报告", "领导驾驶舱", "规则集版本"},
}
OPTIONAL_MENUS = {"工单受理", "知识库", "指挥中心看板", "热点诉求", "单位考核指标", "单位考核得分", "分析报告", "领导驾驶舱", "规则集版本",
                  "流程与规则编辑", "系统管理"}


def test_each_role_sees_only_its_menus(client, city):
    for username, expected in NAV.items():
        client.get("/")          # a fresh page per user
        Browser(client).login(username)
        nav = client.get("/inbox").get_data(as_text=True).split("<nav>", 1)[1].split("</nav>", 1)[0]
        shown = {menu for menu in OPTIONAL_MENUS if f">{menu}<" in nav}
        assert shown == expected, username
        assert all(f">{m}<" in nav for m in ("待办任务", "工单查询", "接口文档")), username


def test_the_inbox_filters_answer_htmx_with_the_table_only(client, as_user):
    operator = as_user("operator")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    operator.post("/api/v1/tickets", json=complaint(title="路灯损坏"))
    Browser(client).login("dispatcher")
    page = client.get("/inbox").get_data(as_text=True)
    assert 'hx-get="/inbox"' in page and "vendor/htmx.org/htmx.min.js" in page
    fragment = client.get("/inbox?task=dispatch", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "task-row" in fragment and "路灯损坏" in fragment
    assert "task-row" not in client.get("/inbox?task=sign", headers={"HX-Request": "true"}).get_data(as_text=True)
