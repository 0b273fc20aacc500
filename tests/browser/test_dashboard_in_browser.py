"""ECharts in real Chromium: the dashboard draws its four charts from the embedded figures."""
from __future__ import annotations

import os

import pytest

from tests.browser.test_diagram_in_browser import ARTIFACTS, sign_in
from tests.browser.test_handler_in_browser import CHROMIUM, LAUNCH_ARGS, live_server  # noqa: F401
from tests.conftest import ApiClient, complaint

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (apt-get install chromium)")]


def test_the_dashboard_charts_render(app, live_server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    api = ApiClient(app.test_client(), "operator")
    api.set_clock("2025-11-03T09:00:00+08:00")
    for _ in range(3):
        ticket = api.post("/api/v1/tickets", json=complaint()).get_json()
        ApiClient(app.test_client(), "dispatcher").complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, live_server, "supervisor")
        page.click("text=指挥中心看板")
        page.wait_for_selector("[data-chart='trend'][data-rendered=true] svg")
        assert page.locator("[data-chart][data-rendered=true]").count() == 4
        assert page.locator("[data-figure=intake_today]").inner_text() == "3"
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        browser.close()
    assert errors == []
