"""Accessibility basics and tablet use in real Chromium: on every main page each form control has a
label, the page has a language and a heading, and at tablet width (768 px) nothing scrolls sideways.
Screenshots at tablet width go to test-artifacts/tablet-*.png."""
from __future__ import annotations

import os
import re

import pytest

from tests.browser.test_diagram_in_browser import ARTIFACTS
from tests.browser.test_handler_in_browser import CHROMIUM, LAUNCH_ARGS, live_server  # noqa: F401
from tests.conftest import ApiClient, complaint

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (apt-get install chromium)")]

UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"
# WCAG contrast of text on the elements that paint their own background (buttons, lights, badges, header).
LOW_CONTRAST = """() => {
  const rgb = s => (s.match(/[0-9.]+/g) || []).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
                                    .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
  return Array.from(document.querySelectorAll('button, .lamp, .badge, .top a, .flash, [aria-current]'))
    .filter(el => el.offsetParent !== null && el.textContent.trim())
    .map(el => { const cs = getComputedStyle(el); const bg = rgb(cs.backgroundColor); let node = el;
                 while (bg.length === 4 && bg[3] === 0 && node.parentElement) { node = node.parentElement;
                   const b = rgb(getComputedStyle(node).backgroundColor); if (b.length < 4 || b[3] > 0) { bg.splice(0, 4, ...b); } }
                 const [a, b] = [lum(rgb(cs.color)), lum(bg)].sort((x, y) => y - x);
                 return [el.outerHTML.slice(0, 80), Math.round(((a + 0.05) / (b + 0.05)) * 10) / 10]; })
    .filter(([, ratio]) => ratio < 4.5);
}"""


def pages_for(base, ticket_id, task_id, dispatch_task_id):
    return {
        "operator": [f"{base}/inbox", f"{base}/intake", f"{base}/tickets", f"{base}/knowledge/"],
        # the dispatch task loads the smart-dispatch and duplicate panel (htmx) before it is checked
        "dispatcher": [f"{base}/tasks/{dispatch_task_id}", f"{base}/hot-issues"],
        "nt_chongchuan.handler": [f"{base}/inbox", f"{base}/tasks/{task_id}", f"{base}/tickets/{ticket_id}", f"{base}/messages"],
        "supervisor": [f"{base}/dashboard", f"{base}/tickets/{ticket_id}", f"{base}/hot-issues",
                       f"{base}/kpis?from=2025-11-01&to=2025-11-30", f"{base}/scores?city=suzhou_ah&period=2025-11",
                       f"{base}/reports", f"{base}/reports/monthly?city=nantong&period=2025-11",
                       f"{base}/cockpit?city=nantong&month=2025-11"],
        "analyst": [f"{base}/studio/", f"{base}/rules/", f"{base}/rules/console"],
        "admin": [f"{base}/admin/"],
        "auditor": [f"{base}/audit/tickets/{ticket_id}"],
    }


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_labels_language_and_tablet_width(app, live_server, lang):  # noqa: F811
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    api = ApiClient(app.test_client(), "operator")
    api.set_clock("2025-11-03T09:00:00+08:00")
    ticket = api.post("/api/v1/tickets", json=complaint()).get_json()
    ApiClient(app.test_client(), "dispatcher").complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    task = ApiClient(app.test_client(), "nt_chongchuan.handler").ready_task(ticket["id"], "sign")
    second = api.post("/api/v1/tickets", json=complaint(title="工地夜间施工噪音扰民")).get_json()
    dispatch = ApiClient(app.test_client(), "dispatcher").ready_task(second["id"], "dispatch")
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        for username, urls in pages_for(live_server, ticket["id"], task["id"], dispatch["id"]).items():
            context = browser.new_context(viewport={"width": 768, "height": 1024})
            page = context.new_page()
            page.goto(f"{live_server}/login?lang={lang}")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", "demo")
            page.click("button[type=submit]")
            page.wait_for_url("**/inbox**")
            for url in urls:
                page.goto(url + ("&" if "?" in url else "?") + f"lang={lang}")
                page.wait_for_load_state("networkidle")
                where = f"{username} {url}"
                if page.evaluate("() => document.documentElement.lang") != ("en" if lang == "en" else "zh-CN"):
                    problems.append(f"{where}: wrong lang attribute")
                if page.locator("h1").count() != 1:
                    problems.append(f"{where}: needs exactly one h1")
                unlabelled = page.evaluate(UNLABELLED)
                if unlabelled:
                    problems.append(f"{where}: unlabelled controls {unlabelled}")
                low = page.evaluate(LOW_CONTRAST)
                if low:
                    problems.append(f"{where}: contrast below 4.5:1 {low}")
                overflow = page.evaluate(OVERFLOW)
                if overflow > 1:
                    problems.append(f"{where}: {overflow}px wider than a 768px tablet")
                if lang == "zh":
                    name = re.sub(r"[0-9a-f-]{36}", "task", url.split("/", 3)[-1].strip("/")).replace("/", "-")
                    page.screenshot(path=str(ARTIFACTS / f"tablet-{username}-{name}.png"), full_page=True)
            context.close()
        browser.close()
    assert problems == [], "\n".join(problems)
