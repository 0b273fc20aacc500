"""The intake form's "用此条目答复" in real Chromium under the Content-Security-Policy: htmx swaps the
suggestions in, and our static script (no inline handler) fills the answer and the chosen entry."""
from __future__ import annotations

import os

import pytest

from tests.api.test_knowledge import FUND
from tests.browser.test_diagram_in_browser import sign_in
from tests.browser.test_handler_in_browser import CHROMIUM, LAUNCH_ARGS, live_server  # noqa: F401
from tests.conftest import ApiClient

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (apt-get install chromium)")]


def test_using_a_knowledge_entry_fills_the_answer(app, live_server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    ApiClient(app.test_client(), "operator").set_clock("2025-11-03T09:00:00+08:00")
    created = ApiClient(app.test_client(), "nt_housing.handler").post("/api/v1/knowledge", json=FUND)
    assert created.status_code == 201, created.get_json()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, live_server, "operator")
        page.goto(f"{live_server}/intake")
        page.select_option("select[name=request_type]", "consult")
        page.fill("input[name=title]", "租房提取公积金")
        page.fill("textarea[name=content]", "需要带哪些材料？")
        page.click("button.knowledge-use")
        assert page.input_value("[name=knowledge_entry_id]") == str(created.get_json()["id"])
        assert page.input_value("[name=direct_answer]") == FUND["body"]
        assert "租房提取" in page.inner_text("#knowledge-chosen")
        browser.close()
    assert errors == []
