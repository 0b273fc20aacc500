"""A handler signs in, sees the inbox with lights, opens a task and completes it in real Chromium.

Chromium comes from Debian's package (/usr/bin/chromium), driven by Playwright; no browser is
downloaded. The app is served on a free localhost port by a background thread.
"""
from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import ApiClient, complaint

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (apt-get install chromium)")]
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]


@pytest.fixture
def live_server(app, city, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the browser test runs once, against the embedded database")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_handler_signs_and_replies_in_chromium(app, live_server, tmp_path):
    from playwright.sync_api import sync_playwright

    api = ApiClient(app.test_client(), "operator")
    api.set_clock("2025-11-03T09:00:00+08:00")
    ticket = api.post("/api/v1/tickets", json=complaint(title="路灯损坏夜间出行不便")).get_json()
    ApiClient(app.test_client(), "dispatcher").complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{live_server}/inbox")
        page.fill("input[name=username]", "nt_chongchuan.handler")
        page.fill("input[name=password]", "demo")
        page.click("button[type=submit]")
        page.wait_for_url("**/inbox")
        row = page.locator("tr.task-row", has_text=ticket["number"])
        assert row.locator(".lamp.green").count() == 1
        row.locator("a").click()
        page.wait_for_selector("#task-form")
        page.select_option("select[name=decision]", "accept")
        page.click("#task-form button[type=submit]")
        page.wait_for_url("**/inbox")
        assert "任务已提交" in page.content()
        page.locator("tr.task-row", has_text=ticket["number"]).locator("a").click()
        page.select_option("select[name=action]", "reply")
        page.fill("textarea[name=reply]", "已安排维修人员更换路灯，并电话告知诉求人，诉求人表示满意。")
        page.click("#task-form button[type=submit]")
        page.wait_for_url("**/inbox")
        page.screenshot(path=str(tmp_path / "inbox.png"))
        browser.close()
    status = api.get(f"/api/v1/tickets/{ticket['id']}").get_json()["status"]
    assert status == "reply_approval"
