"""The whole flow in real Chromium, one user after another, with a screenshot of every page
(test-artifacts/e2e-*.png):

operator intake → dispatcher dispatches → handler signs and replies → leader approves → the centre reviews
and calls back → an analyst changes a time-limit row in dmn-js and deploys it → an administrator activates
it (a new ticket gets the new limit) → an auditor steps through the first ticket.
"""
from __future__ import annotations

import os

import pytest

from tests.browser.test_diagram_in_browser import ARTIFACTS
from tests.browser.test_handler_in_browser import CHROMIUM, LAUNCH_ARGS, live_server  # noqa: F401
from tests.conftest import ApiClient, complaint

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (apt-get install chromium)")]
REPLY = "经办人李明于11月3日电话联系诉求人，现场核查后已更换路灯，诉求人表示满意。"


class Session:
    def __init__(self, browser, base):
        self.browser, self.base, self.page, self.shots, self.errors = browser, base, None, 0, []

    def as_user(self, username):
        if self.page is not None:
            self.page.context.close()
        self.page = self.browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.goto(f"{self.base}/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", "demo")
        self.page.click("button[type=submit]")
        self.page.wait_for_url("**/inbox")
        return self.page

    def shot(self, name):
        self.shots += 1
        self.page.screenshot(path=str(ARTIFACTS / f"e2e-{self.shots:02d}-{name}.png"), full_page=True)

    def open_task(self, number, name):
        self.page.goto(f"{self.base}/inbox")
        self.page.locator("tr.task-row", has_text=number).filter(has_text=name).locator("a").first.click()
        self.page.wait_for_selector("#task-form")

    def submit(self):
        self.page.click("#task-form button[type=submit]")
        self.page.wait_for_url("**/inbox")


def test_the_whole_flow_in_the_browser(app, live_server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ApiClient(app.test_client(), "operator").set_clock("2025-11-03T09:00:00+08:00")
    with sync_playwright() as p:
        s = Session(p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS), live_server)

        page = s.as_user("operator")
        page.click("text=工单受理")
        page.select_option("select[name=channel]", "phone_12345")
        page.select_option("select[name=request_type]", "complaint")
        page.fill("input[name=citizen_name]", "王先生")
        page.fill("input[name=citizen_phone]", "13700003333")
        page.fill("input[name=title]", "路灯损坏夜间出行不便")
        page.fill("textarea[name=content]", "某路段有三盏路灯不亮已一周。")
        s.shot("intake")
        page.click("#intake-form button[type=submit]")
        page.wait_for_url("**/tickets/*")
        number = page.locator("dl.summary dd").first.inner_text().strip()
        ticket_url = page.url
        s.shot("ticket-created")

        page = s.as_user("dispatcher")
        s.open_task(number, "派单")
        page.select_option("select[name=unit]", "nt_chongchuan")
        s.shot("dispatch")
        s.submit()

        page = s.as_user("nt_chongchuan.handler")
        s.shot("handler-inbox")
        s.open_task(number, "签收")
        page.select_option("select[name=decision]", "accept")
        s.submit()
        s.open_task(number, "办理")
        page.select_option("select[name=action]", "reply")
        page.fill("textarea[name=reply]", REPLY)
        s.shot("handle")
        s.submit()

        page = s.as_user("nt_chongchuan.leader")
        s.open_task(number, "答复审核")
        page.check("input[name=approved][value=true]")
        s.shot("approve-reply")
        s.submit()

        page = s.as_user("dispatcher")
        s.open_task(number, "答复认定")
        page.check("input[name=approved][value=true]")
        s.submit()
        page = s.as_user("callback")
        s.open_task(number, "回访")
        page.check("input[name=satisfied][value=true]")
        s.shot("callback")
        s.submit()
        page.goto(ticket_url)
        assert "已办结" in page.content()
        s.shot("ticket-closed")

        page = s.as_user("analyst")
        page.click("text=流程与规则编辑")
        page.click("text=sign_limit.dmn")
        page.wait_for_selector("#studio-canvas[data-ready=true]")
        cell = page.locator('td.output-cell[data-row-id="sign_limit_rule_2"][data-col-id="sign_limit_output_1"]')
        cell.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("3")
        page.click("#studio-validate")
        page.wait_for_selector("body[data-validated=valid]")
        page.click("#studio-save")
        page.wait_for_selector("body[data-saved]")
        s.shot("studio-dmn")
        page.click("text=全部文件")
        s.shot("studio-files")
        page.click("#deploy-drafts")
        page.wait_for_url("**/rules/**")
        assert "已部署为 v2" in page.content()

        page = s.as_user("admin")
        page.goto(f"{live_server}/rules/?city=nantong")
        page.locator('tr[data-version="2"] button[type=submit]').click()
        page.wait_for_url("**/rules/**")
        assert page.locator('tr[data-version="2"] .lamp.green').count() == 1
        s.shot("rules-activated")
        page.goto(f"{live_server}/admin/?city=nantong")
        s.shot("admin-console")

        page = s.as_user("auditor")
        page.goto(ticket_url)
        page.click("text=逐步审计")
        page.wait_for_selector("[data-diagram][data-rendered=true]")
        for _ in range(5):
            page.click("#audit-next")
        assert page.get_attribute("body", "data-audit-step") == "6"      # after the centre's review
        assert page.locator('.djs-element.active[data-element-id="callback"]').count() == 1
        s.shot("audit")
        page.click("#audit-next")                                         # the callback closed it: no token left
        assert page.get_attribute("body", "data-audit-step") == "7"
        assert page.locator(".djs-element.active").count() == 0
        assert page.locator('.djs-element.done[data-element-id="end_archived"]').count() == 1
        page.goto(f"{live_server}/dashboard?city=nantong")
        page.wait_for_selector("[data-chart='status'][data-rendered=true]")
        s.shot("dashboard")
        s.browser.close()
    assert s.errors == []

    # the activated row holds for new tickets: 3 working hours to sign
    api = ApiClient(app.test_client(), "operator")
    ticket = api.post("/api/v1/tickets", json=complaint()).get_json()
    ticket = ApiClient(app.test_client(), "dispatcher").complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    assert ticket["sign_due_at"] == "2025-11-03T12:00:00+08:00" and ticket["deployment_version"] == 2
