"""The rule-set page (versions, activation, diff) and the decision console page."""
from __future__ import annotations

from tests.api.test_pages import CSRF, Browser
from tests.api.test_rulesets_api import deploy_candidate


def test_admin_activates_a_version_on_the_page_and_sees_the_diff(as_user, app):
    candidate = deploy_candidate(as_user)
    browser = Browser(app.test_client())
    browser.login("admin")
    page = browser.client.get("/rules/?city=nantong").get_data(as_text=True)
    assert f'data-version="{candidate}"' in page and "启用" in page
    token = CSRF.search(page).group(1)
    response = browser.client.post(f"/rules/nantong/{candidate}/activate", data={"csrf_token": token})
    assert response.status_code == 302
    versions = as_user("analyst").get("/api/v1/rules/nantong/versions").get_json()["items"]
    assert versions[0]["version"] == candidate and versions[0]["active"] is True
    diff = browser.client.get(f"/rules/?city=nantong&from={candidate - 1}&to={candidate}").get_data(as_text=True)
    assert "sign_limit" in diff and "diff-changed" in diff
    assert "ruleset_activated" in diff


def test_analyst_uses_the_console_but_cannot_activate(as_user, app):
    candidate = deploy_candidate(as_user)
    browser = Browser(app.test_client())
    browser.login("analyst")
    token = browser.csrf("/rules/console")
    page = browser.client.post("/rules/console", data={
        "csrf_token": token, "city": "nantong", "decision": "sign_limit", "inputs": '{"kind": "directive"}'})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and '"sign_limit_hours": 1' in body
    bad = browser.client.post("/rules/console", data={"csrf_token": token, "city": "nantong",
                                                      "decision": "sign_limit", "inputs": "not json"})
    assert bad.status_code == 422
    refused = browser.client.post(f"/rules/nantong/{candidate}/activate", data={"csrf_token": token})
    assert refused.status_code == 403


def test_handlers_do_not_see_rule_pages(as_user, app):
    browser = Browser(app.test_client())
    browser.login("nt_chongchuan.handler")
    assert browser.client.get("/rules/").status_code == 403
