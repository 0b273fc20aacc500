"""htmx in real Chromium: changing an inbox filter swaps the task table in place (no page load)."""
from __future__ import annotations

import os

import pytest

from tests.browser.test_diagram_in_browser import sign_in
from tests.browser.test_handler_in_browser import CHROMIUM, LAUNCH_ARGS, live_server  # noqa: F401
from tests.conftest import ApiClient, complaint

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (apt-get install chromium)")]


def test_filtering_the_inbox_swaps_the_table(app, live_server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    api = ApiClient(app.test_client(), "operator")
    api.set_clock("2025-11-03T09:00:00+08:00")
    first = api.post("/api/v1/tickets", json=complaint(title="路灯损坏")).get_json()
    api.post("/api/v1/tickets", json=complaint(title="噪音扰民"))
    ApiClient(app.test_client(), "dispatcher").complete(first["id"], "dispatch", {"unit": "nt_chongchuan"})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        page = browser.new_page()
        sign_in(page, live_server, "admin")
        assert page.locator("tr.task-row").count() == 2          # admin sees dispatch of the second and sign of the first
        page.evaluate("window.notReloaded = true")
        page.select_option("select[name=task]", "sign")
        page.wait_for_function("document.querySelectorAll('tr.task-row').length === 1")
        assert page.evaluate("window.notReloaded") is True and "task=sign" in page.url
        assert "路灯损坏" in page.locator("tr.task-row").inner_text()
        browser.close()


def test_the_reply_check_shows_problems_before_submitting(app, live_server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    api = ApiClient(app.test_client(), "operator")
    api.set_clock("2025-11-03T09:00:00+08:00")
    ticket = api.post("/api/v1/tickets", json=complaint(title="路灯损坏", content="三盏路灯不亮已一周。")).get_json()
    ApiClient(app.test_client(), "dispatcher").complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    handler = ApiClient(app.test_client(), "nt_chongchuan.handler")
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    task = handler.ready_task(ticket["id"], "handle")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        page = browser.new_page()
        sign_in(page, live_server, "nt_chongchuan.handler")
        page.goto(f"{live_server}/tasks/{task['id']}")
        page.select_option("select[name=action]", "reply")
        page.fill("textarea[name=reply]", "今天天气很好，大家心情愉快。")
        page.click("#reply-check-button")
        page.wait_for_selector("#reply-check [data-code=low_relevance]")
        page.fill("textarea[name=reply]", "已安排维修人员更换三盏不亮的路灯，路灯已恢复照明。")
        page.click("#reply-check-button")
        page.wait_for_selector("#reply-check [data-problems='0']")
        assert "/tasks/" in page.url                             # still on the form: nothing was submitted
        browser.close()
    assert handler.ready_task(ticket["id"], "handle")["id"] == task["id"]
