"""bpmn-js in real Chromium: the ticket page draws the diagram with the token on the current step, and
the auditor steps through the history with the token moving. Screenshots go to test-artifacts/."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.test_handler_in_browser import CHROMIUM, LAUNCH_ARGS, live_server  # noqa: F401
from tests.conftest import ApiClient, complaint

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (apt-get install chromium)")]
ARTIFACTS = Path(os.environ.get("HOTLINE_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


def sign_in(page, base, username):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox")


def test_the_diagram_and_the_audit_step_through(app, live_server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    api = ApiClient(app.test_client(), "operator")
    api.set_clock("2025-11-03T09:00:00+08:00")
    ticket = api.post("/api/v1/tickets", json=complaint(title="路灯损坏夜间出行不便")).get_json()
    ApiClient(app.test_client(), "dispatcher").complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    ApiClient(app.test_client(), "nt_chongchuan.handler").complete(ticket["id"], "sign", {"decision": "accept"})

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, live_server, "auditor")
        page.goto(f"{live_server}/tickets/{ticket['id']}")
        page.wait_for_selector("[data-diagram][data-rendered=true]")
        assert page.locator('.djs-element.active[data-element-id="handle"]').count() == 1
        assert page.locator('.djs-element.done[data-element-id="sign"]').count() == 1
        page.screenshot(path=str(ARTIFACTS / "ticket-diagram.png"), full_page=True)

        page.click("text=逐步审计")
        page.wait_for_selector("[data-diagram][data-rendered=true]")
        page.wait_for_selector("body[data-audit-step='1']")
        assert page.locator('.djs-element.active[data-element-id="dispatch"]').count() == 1
        page.click("#audit-next")
        assert page.get_attribute("body", "data-audit-step") == "2"
        assert page.locator('.djs-element.active[data-element-id="sign"]').count() == 1
        assert page.locator('#audit-detail tr[data-variable="unit"]').count() == 1
        page.keyboard.press("ArrowDown")
        assert page.locator('.djs-element.active[data-element-id="handle"]').count() == 1
        page.screenshot(path=str(ARTIFACTS / "audit-step-3.png"), full_page=True)
        browser.close()
    assert errors == []
