"""A citizen on a phone (Chromium at 390 px): submits a request with a photo on the portal and keeps the
number and query code; the centre takes the ticket to its callback through the API; the citizen tracks it
in a new browser session with the code and rates the reply satisfied, and the ticket closes. Screenshots
go to test-artifacts/portal-*.png."""
from __future__ import annotations

import os

import pytest

from tests.api.portal_support import PNG, to_callback
from tests.browser.test_accessibility import LOW_CONTRAST, UNLABELLED
from tests.browser.test_diagram_in_browser import ARTIFACTS
from tests.browser.test_handler_in_browser import CHROMIUM, LAUNCH_ARGS, live_server  # noqa: F401
from tests.conftest import ApiClient

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (apt-get install chromium)")]
PHONE = {"width": 390, "height": 844}
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def test_a_citizen_submits_tracks_and_rates_on_a_phone(app, live_server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    clients = {}

    def as_user(username):
        if username not in clients:
            clients[username] = ApiClient(app.test_client(), username)
        return clients[username]

    as_user("operator").set_clock("2025-11-03T09:00:00+08:00")
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        page = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live_server}/portal/")
        page.click("text=我要反映")
        page.select_option("select[name=request_type]", "complaint")
        page.fill("input[name=title]", "小区门口路灯不亮")
        page.fill("textarea[name=content]", "某小区南门三盏路灯已坏一周，夜间出行不便。")
        page.fill("input[name=address]", "崇川区某路1号")
        page.fill("input[name=name]", "王女士")
        page.fill("input[name=phone]", "13700003333")
        page.set_input_files("input[name=photos]", files=[{"name": "路灯.png", "mimeType": "image/png", "buffer": PNG}])
        assert page.evaluate(OVERFLOW) <= 0 and page.evaluate(UNLABELLED) == [] and page.evaluate(LOW_CONTRAST) == []
        page.screenshot(path=str(ARTIFACTS / "portal-1-submit.png"), full_page=True)
        page.click("#portal-submit button[type=submit]")
        page.wait_for_url("**/portal/receipt")
        number = page.inner_text("#receipt-number").strip()
        code = page.inner_text("#receipt-code").strip()
        assert number.startswith("NT20251103") and len(code) == 9
        page.screenshot(path=str(ARTIFACTS / "portal-2-receipt.png"), full_page=True)

        ticket = as_user("operator").get(f"/api/v1/tickets?q={number}").get_json()["items"][0]
        assert ticket["channel"] == "web"
        photos = as_user("operator").get(f"/api/v1/tickets/{ticket['id']}/attachments").get_json()["items"]
        assert [a["filename"] for a in photos] == ["路灯.png"]
        to_callback(as_user, ticket["id"], "已安排维修人员更换三盏路灯，现已恢复照明。")

        page = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()   # later, anew
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live_server}/portal/track")
        page.fill("input[name=number]", number)
        page.fill("input[name=code]", code.lower())
        page.click("#portal-track button[type=submit]")
        page.wait_for_url(f"**/portal/track/{number}")
        assert "已答复，待回访" in page.inner_text("#portal-phase")
        assert "已恢复照明" in page.inner_text("#portal-reply")
        assert "崇川区人民政府" in page.inner_text("#portal-stages")
        assert page.evaluate(OVERFLOW) <= 0 and page.evaluate(UNLABELLED) == [] and page.evaluate(LOW_CONTRAST) == []
        page.screenshot(path=str(ARTIFACTS / "portal-3-progress.png"), full_page=True)
        page.check("input[name=rating][value=satisfied]")
        page.fill("textarea[name=comment]", "修得很快，谢谢")
        page.click("#portal-rating button[type=submit]")
        page.wait_for_selector(".portal-flash")
        assert "已办结" in page.inner_text(".portal-flash")
        assert page.inner_text("#portal-phase").startswith("已办结")
        page.screenshot(path=str(ARTIFACTS / "portal-4-rated.png"), full_page=True)
        browser.close()
    closed = as_user("operator").get(f"/api/v1/tickets/{ticket['id']}").get_json()
    assert closed["status"] == "closed" and closed["outcome"] == "archived"
    assert errors == []
