"""The monthly report and the cockpit in real Chromium: ECharts draws every section's chart from the
embedded figures, with no script error, and the cockpit's unit links lead to the unit's KPIs."""
from __future__ import annotations

import os

import pytest

from tests.browser.test_diagram_in_browser import ARTIFACTS, sign_in
from tests.browser.test_handler_in_browser import CHROMIUM, LAUNCH_ARGS, live_server  # noqa: F401
from tests.conftest import ApiClient, complaint

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (apt-get install chromium)")]


def test_report_and_cockpit_charts_render(app, live_server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    api = ApiClient(app.test_client(), "operator")
    api.set_clock("2025-11-03T09:00:00+08:00")
    dispatcher = ApiClient(app.test_client(), "dispatcher")
    for title in ("夜间施工噪音扰民", "小区电梯故障", "道路井盖缺失"):
        ticket = api.post("/api/v1/tickets", json=complaint(title=title)).get_json()
        dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan", "category": "urban_construction"})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, live_server, "supervisor")
        page.goto(f"{live_server}/reports/monthly?city=nantong&period=2025-11")
        page.wait_for_selector("[data-report-chart='chart-by_category'][data-rendered=true] svg")
        drawn = page.locator("[data-report-chart][data-rendered=true]").count()
        assert drawn == page.locator("[data-report-chart]").count() >= 3
        page.screenshot(path=str(ARTIFACTS / "monthly-report.png"), full_page=True)
        page.goto(f"{live_server}/cockpit?city=nantong&month=2025-11")
        page.wait_for_selector("[data-report-chart='chart-trend'][data-rendered=true] svg")
        assert page.locator("[data-metric=received] dd").inner_text() == "3"
        page.screenshot(path=str(ARTIFACTS / "cockpit.png"), full_page=True)
        page.click("[data-section=units] a:text('崇川区人民政府')")
        page.wait_for_selector("table.kpis tr[data-unit=nt_chongchuan]")
        assert "unit=nt_chongchuan" in page.url
        browser.close()
    assert errors == []
